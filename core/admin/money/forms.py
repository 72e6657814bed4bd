"""The forms of the money screens. Amounts go through ``MoneyField``, which uses the services'
one parser (``services/amounts.money_parse``), so the desk and the services agree on what an
amount is."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from core.models import Item, PaymentMethod, SettlementItem
from core.normalize import digits_ascii
from core.services.amounts import money_parse
from core.services.settlements import month_first


class MoneyField(forms.CharField):
    """An amount typed at the desk: checked by the one parser (exact, two places, > 0)."""

    def __init__(self, *args, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", UnfoldAdminTextInputWidget)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "dir": "ltr", "autocomplete": "off"})

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        return money_parse(digits_ascii(value), allow_zero=self.allow_zero)


class PaymentForm(forms.Form):
    amount = MoneyField(
        label=gettext_lazy("Amount (EGP)"),
        required=False,
        help_text=gettext_lazy(
            "Filled in with what lets him in at the door: all he owes, ended enrollments included, "
            "plus his next class wherever the door would refuse him without it. Paid to the oldest "
            "debt first. Or fill in the amount per group below."
        ),
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.CASH,
        widget=UnfoldAdminSelectWidget,
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        required=False,
        max_length=80,
        help_text=gettext_lazy("Wallet or InstaPay transaction number."),
        widget=UnfoldAdminTextInputWidget(attrs={"dir": "ltr"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )
    layout = forms.ChoiceField(
        label=gettext_lazy("Print on"),
        choices=[("thermal", gettext_lazy("80 mm receipt printer")), ("a5", gettext_lazy("A5 paper"))],
        initial="thermal",
        widget=UnfoldAdminSelectWidget,
    )
    # Notes and books on the same receipt (issue 18): one title a time, and the sales he took on credit.
    item = forms.ModelChoiceField(
        label=gettext_lazy("Notes or book"),
        queryset=Item.objects.none(),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    item_quantity = forms.CharField(
        label=gettext_lazy("Copies"),
        required=False,
        max_length=6,
        widget=UnfoldAdminTextInputWidget(attrs={"inputmode": "numeric", "dir": "ltr", "autocomplete": "off"}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Shown only once the service found the same amount paid for him minutes ago (possible_duplicate).
    confirm_repeat = forms.BooleanField(label=gettext_lazy("Yes, record a second payment"), required=False)

    def __init__(self, *args, enrollments=(), open_sales=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = Item.objects.filter(is_active=True).order_by("title")
        self.open_sales = list(open_sales)
        for sale in self.open_sales:
            self.fields[f"sale_{sale.pk}"] = forms.BooleanField(required=False, label=str(sale.total))
        self.enrollment_rows = list(enrollments)
        for enrollment in self.enrollment_rows:
            label = f"{enrollment.group.code} · {enrollment.group.name}"
            if not enrollment.is_active:
                label = _("%(group)s (ended)") % {"group": label}
            self.fields[f"line_{enrollment.pk}"] = MoneyField(label=label, required=False)

    def clean(self):
        cleaned = super().clean()
        lines = [
            (enrollment, cleaned.get(f"line_{enrollment.pk}"))
            for enrollment in self.enrollment_rows
            if cleaned.get(f"line_{enrollment.pk}")
        ]
        item = cleaned.get("item")
        # Typed at the desk, Arabic-Indic digits too; sales.py refuses what is not a whole number.
        copies = digits_ascii(cleaned.get("item_quantity") or "").strip() or "1"
        cleaned["items"] = [(item, copies)] if item else []
        cleaned["sales"] = [sale for sale in self.open_sales if cleaned.get(f"sale_{sale.pk}")]
        if (
            not lines
            and not cleaned.get("amount")
            and not cleaned["items"]
            and not cleaned["sales"]
            and not self.errors
        ):
            raise ValidationError(_("Enter the amount."))
        cleaned["lines"] = lines
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=255, widget=UnfoldAdminTextareaWidget(attrs={"rows": 2})
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("A reason is required."))
        return reason


class RefundForm(ReasonForm):
    amount = MoneyField(label=gettext_lazy("Amount to give back (EGP)"))
    field_order = ["amount", "reason"]


class DiscountForm(ReasonForm):
    amount = MoneyField(label=gettext_lazy("Discount (EGP)"))
    field_order = ["amount", "reason"]


class CashCloseForm(forms.Form):
    counted = MoneyField(label=gettext_lazy("Counted cash (EGP)"), allow_zero=True)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )


class MonthForm(forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Month"),
        max_length=7,
        widget=UnfoldAdminTextInputWidget(attrs={"type": "month", "dir": "ltr"}),
        help_text=gettext_lazy("YYYY-MM"),
    )

    def clean_month(self):
        return month_first(digits_ascii(self.cleaned_data["month"]))


class SettlementItemForm(ReasonForm):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=SettlementItem.Kind.choices, widget=UnfoldAdminSelectWidget
    )
    amount = MoneyField(label=gettext_lazy("Amount (EGP)"))
    field_order = ["kind", "amount", "reason"]


class PayoutForm(forms.Form):
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"),
        widget=UnfoldAdminTextInputWidget(attrs={"type": "date", "dir": "ltr"}),
        initial=timezone.localdate,
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"), choices=PaymentMethod.choices, widget=UnfoldAdminSelectWidget
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"), required=False, max_length=80, widget=UnfoldAdminTextInputWidget
    )
