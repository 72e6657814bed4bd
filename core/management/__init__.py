"""manage.py commands: demo data, imports, backups and restores, the task worker, schedules, the
owner account and the ledger balance check."""
