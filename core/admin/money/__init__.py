"""Money in the admin (SPEC.md R8, R9, §4), one module per screen:

- ``receipts``: the receipts list and detail, print (A5 / 80 mm), void and refund;
- ``cashier``: find a student, take a payment, grant a discount;
- ``drawer``: the cashier's drawer close and the list of closes;
- ``reports``: defaulters and collections (their queries are in ``core/selectors/money_reports.py``);
- ``ledger``: the ledger, read only;
- ``settlements``: teachers' statements, the month's run, approval, payout and the report;
- ``common`` and ``forms``: the page and form-page helpers, the buttons' permission hooks, the forms.

Nothing here edits money: every button calls a service (core/services/payments.py,
drawer_close.py, settlements.py), which checks the permission again on the server. Importing
this package registers the admins. The names below stay importable from ``core.admin.money``
for the modules that used them before the split (treasury, tests).
"""

from core.admin.money.common import MoneyPermissionsMixin, admin_page, form_errors, form_page, ltr
from core.admin.money.drawer import CashCloseAdmin
from core.admin.money.forms import (
    CashCloseForm,
    DiscountForm,
    MoneyField,
    MonthForm,
    PaymentForm,
    PayoutForm,
    ReasonForm,
    RefundForm,
    SettlementItemForm,
)
from core.admin.money.ledger import LedgerEntryAdmin
from core.admin.money.receipts import ReceiptAdmin, receipt_lines
from core.admin.money.reports import DEFAULTERS_EXPORT_LIMIT, DEFAULTERS_PER_PAGE
from core.admin.money.settlements import SettlementAdmin, settlements_visible

__all__ = [
    "DEFAULTERS_EXPORT_LIMIT",
    "DEFAULTERS_PER_PAGE",
    "CashCloseAdmin",
    "CashCloseForm",
    "DiscountForm",
    "LedgerEntryAdmin",
    "MoneyField",
    "MoneyPermissionsMixin",
    "MonthForm",
    "PaymentForm",
    "PayoutForm",
    "ReasonForm",
    "ReceiptAdmin",
    "RefundForm",
    "SettlementAdmin",
    "SettlementItemForm",
    "admin_page",
    "form_errors",
    "form_page",
    "ltr",
    "receipt_lines",
    "settlements_visible",
]
