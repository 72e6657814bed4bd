"""Every write of the product: plain functions, one transaction, a lock where totals change, an
audit row, side effects after commit. One module (or package) per concern: ``door/`` (the door's
rules and writes), ``messaging/`` (the outbox), ``payments``, ``settlements``, ``expenses``,
``cashbook``, ``sales``, ``stock``, ``channels``, ``backups`` … CONTRIBUTING.md maps each rule of
the SPEC to its module."""
