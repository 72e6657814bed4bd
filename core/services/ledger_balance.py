"""Each enrollment's balance kept beside the ledger (SPEC.md §2 Ledger; issue 13).

Screens and reports need "owes X" for thousands of enrollments at once; summing a year of ledger
entries on every read does not scale. So ``Enrollment.ledger_balance`` holds credits − debits of
its entries, and the database keeps it: a trigger on the ledger table adds each new entry's
signed amount to its enrollment in the same statement, whatever wrote the entry (a service, the
door's hand-built INSERT, a bulk insert, a shell). The ledger is append-only; the triggers also
follow an UPDATE of an entry's amount, type or enrollment and a DELETE, so even a repair by hand
keeps the two equal. Marking an entry reversed (``reversed_at``) changes no amount and fires nothing.

``ledger_balances_check`` proves the column equals the ledger's sum (``manage.py
ledger_balances --check``); ``ledger_balances_recompute`` rewrites it from the ledger.
"""

import dataclasses
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from core.models import Enrollment, LedgerEntry
from core.models.money import CREDIT_TYPES, DEBIT_TYPES

TRIGGER = "core_ledger_balance_keep"


def _names(connection) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "ledger": quote(LedgerEntry._meta.db_table),
        "enrollment": quote(Enrollment._meta.db_table),
        "balance": quote(Enrollment._meta.get_field("ledger_balance").column),
        "credits": ", ".join(f"'{value}'" for value in sorted(CREDIT_TYPES)),
        "debits": ", ".join(f"'{value}'" for value in sorted(DEBIT_TYPES)),
    }


def _signed(row: str, names: dict[str, str]) -> str:
    """An entry's effect on its balance, as SQL over the trigger's OLD or NEW row."""
    return (
        f"(CASE WHEN {row}.entry_type IN ({names['credits']}) THEN {row}.amount"
        f" WHEN {row}.entry_type IN ({names['debits']}) THEN -{row}.amount ELSE 0 END)"
    )


def _balance_updates(names: dict[str, str]) -> tuple[str, str]:
    """The trigger bodies' two statements: add the NEW entry, take the OLD one away."""
    table, balance = names["enrollment"], names["balance"]
    add = f"UPDATE {table} SET {balance} = {balance} + {_signed('NEW', names)} WHERE id = NEW.enrollment_id;"
    take = f"UPDATE {table} SET {balance} = {balance} - {_signed('OLD', names)} WHERE id = OLD.enrollment_id;"
    return add, take


def _postgresql_statements(names: dict[str, str]) -> list[str]:
    add, take = _balance_updates(names)
    return [
        f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN {take} END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN {add} END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON {names['ledger']}",
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF amount, entry_type, enrollment_id"
        f" ON {names['ledger']} FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()",
    ]


def _sqlite_statements(names: dict[str, str]) -> list[str]:
    add, take = _balance_updates(names)
    ledger = names["ledger"]
    return [
        *(f"DROP TRIGGER IF EXISTS {TRIGGER}_{event}" for event in ("insert", "delete", "update")),
        f"CREATE TRIGGER {TRIGGER}_insert AFTER INSERT ON {ledger} FOR EACH ROW BEGIN {add} END",
        f"CREATE TRIGGER {TRIGGER}_delete AFTER DELETE ON {ledger} FOR EACH ROW BEGIN {take} END",
        f"CREATE TRIGGER {TRIGGER}_update AFTER UPDATE OF amount, entry_type, enrollment_id ON {ledger}"
        f" FOR EACH ROW BEGIN {take} {add} END",
    ]


def ledger_balance_triggers_install(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create (or replace) the triggers; safe to run again (migrations, a restored backup)."""
    connection = connections[using]
    names = _names(connection)
    if connection.vendor == "postgresql":
        statements = _postgresql_statements(names)
    elif connection.vendor == "sqlite":
        statements = _sqlite_statements(names)
    else:
        raise NotImplementedError(f"no ledger balance triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def ledger_balance_triggers_remove(using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    names = _names(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {names['ledger']}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
        else:
            for event in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}_{event}")


def _sums_sql(names: dict[str, str]) -> str:
    return (
        f"SELECT COALESCE(SUM(CASE WHEN l.entry_type IN ({names['credits']}) THEN l.amount"
        f" WHEN l.entry_type IN ({names['debits']}) THEN -l.amount ELSE 0 END), 0)"
        f" FROM {names['ledger']} l WHERE l.enrollment_id = {names['enrollment']}.id"
    )


def ledger_balances_recompute(using: str = DEFAULT_DB_ALIAS) -> int:
    """Rewrite every enrollment's balance from its ledger (one statement); returns rows changed."""
    connection = connections[using]
    names = _names(connection)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {names['enrollment']} SET {names['balance']} = ({_sums_sql(names)})"
            f" WHERE ROUND({names['balance']} - ({_sums_sql(names)}), 2) <> 0"
        )
        return cursor.rowcount


@dataclasses.dataclass(frozen=True)
class BalanceMismatch:
    enrollment_id: int
    kept: Decimal
    ledger: Decimal


def ledger_balances_check(using: str = DEFAULT_DB_ALIAS, limit: int = 100) -> list[BalanceMismatch]:
    """Enrollments whose kept balance differs from their ledger's sum (none, when all is well)."""
    connection = connections[using]
    names = _names(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, {names['balance']}, ({_sums_sql(names)}) FROM {names['enrollment']}"
            f" WHERE ROUND({names['balance']} - ({_sums_sql(names)}), 2) <> 0 ORDER BY id LIMIT %s",
            [limit],
        )
        rows = cursor.fetchall()
    cent = Decimal("0.01")
    return [
        BalanceMismatch(pk, Decimal(str(kept)).quantize(cent), Decimal(str(ledger)).quantize(cent))
        for pk, kept, ledger in rows
    ]
