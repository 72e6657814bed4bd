"""Prove (or mend) that every enrollment's kept balance equals its ledger's sum."""

from django.core.management.base import BaseCommand

from core.services.ledger_balance import (
    ledger_balance_triggers_install,
    ledger_balances_check,
    ledger_balances_recompute,
)


class Command(BaseCommand):
    help = "Check every enrollment's kept balance against its ledger (--check), or rewrite it from the ledger (--fix)."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--check", action="store_true", help="Exit 1 when any balance differs (the default).")
        action.add_argument(
            "--fix", action="store_true", help="Rewrite the balances from the ledger and reinstall the triggers."
        )

    def handle(self, *args, fix=False, **options):
        if fix:
            ledger_balance_triggers_install()
            changed = ledger_balances_recompute()
            self.stdout.write(f"{changed} balance(s) rewritten from the ledger; triggers installed.")
            return
        mismatches = ledger_balances_check()
        if not mismatches:
            self.stdout.write("Every enrollment's balance is equal to its ledger.")
            return
        for mismatch in mismatches:
            self.stderr.write(f"enrollment {mismatch.enrollment_id}: kept {mismatch.kept}, ledger {mismatch.ledger}")
        raise SystemExit(1)
