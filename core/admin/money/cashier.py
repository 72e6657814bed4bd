"""The cashier screen (SPEC.md R8): find a student, see what he owes per group and what the door
will ask at his next class, take a payment (printed at once), and grant a discount."""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access.scoping import scope_by_branch
from core.admin.money.common import admin_page, form_errors, form_page
from core.admin.money.forms import DiscountForm, PaymentForm
from core.models import CenterSettings, Enrollment, Receipt, Student
from core.normalize import digits_ascii, search_key
from core.selectors.catalog import student_open_sales
from core.selectors.money import enrollments_payable, money_round, students_with_balance
from core.services import payments
from core.services.door import money_verdict


def _repeated_receipt(error: ValidationError, student) -> Receipt | None:
    """The earlier receipt a refused payment may repeat (code possible_duplicate), to show the cashier."""
    for item in getattr(error, "error_list", []):
        if item.code == "possible_duplicate":
            return (
                Receipt.objects.select_related("cashier").filter(pk=item.params["receipt_id"], student=student).first()
            )
    return None


class CashierPagesMixin:
    """The cashier's pages of ReceiptAdmin (URLs in ``ReceiptAdmin.get_urls``)."""

    def _students(self, request):
        return scope_by_branch(Student.objects.filter(is_active=True), request.user)

    def cashier_view(self, request):
        if not request.user.has_perm("core.record_payment"):
            raise PermissionDenied
        term = request.GET.get("q", "").strip()
        found = []
        if term:
            ascii_term = digits_ascii(term).replace(" ", "")
            students = self._students(request)
            exact = students.filter(code__iexact=ascii_term).first()
            if exact is not None:
                return HttpResponseRedirect(reverse("admin:core_receipt_record", args=[exact.pk]))
            found = list(
                students_with_balance(students.filter(search_key__contains=search_key(term))).order_by("full_name")[:30]
            )
            for row in found:
                row.owed = money_round(row.owed)
        return admin_page(self, request, "admin/money/cashier.html", _("Cashier"), term=term, found=found)

    def record_view(self, request, student_id):
        """The student's money: owed per group; the cashier takes a payment here, the accountant
        (no cashier rights) sees the same page read-only with the discount links."""
        can_take = request.user.has_perm("core.record_payment")
        if not (can_take or request.user.has_perm("core.grant_discount")):
            raise PermissionDenied
        if request.method == "POST" and not can_take:
            raise PermissionDenied
        student = get_object_or_404(self._students(request), pk=student_id)
        # Every active enrollment and every ended one that still owes (R8), with the door's figures.
        enrollments = enrollments_payable(student)
        center, today = CenterSettings.load(), timezone.localdate()
        for row in enrollments:
            row.balance, row.owed = money_round(row.balance), money_round(row.owed)
            row.with_next_class, row.to_pay = None, row.owed
            if row.is_active:
                # What the door will ask at his next class (R4 + R5): the office sees the same number,
                # and takes it where the door would refuse him without it.
                verdict = money_verdict(row, today=today, center=center)
                row.with_next_class = verdict.owed
                if not verdict.admitted:
                    row.to_pay = max(row.owed, verdict.owed)
        to_pay = sum((row.to_pay for row in enrollments), money_round(0))
        initial = {"idempotency_key": uuid.uuid4().hex, "amount": to_pay if to_pay > 0 else None}
        open_sales = list(student_open_sales(student))
        form = PaymentForm(request.POST or None, enrollments=enrollments, open_sales=open_sales, initial=initial)
        repeat_receipt = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                receipt = payments.payment_record(
                    student=student,
                    cashier=request.user,
                    amount=None if data["lines"] else data["amount"],
                    lines=data["lines"] or None,
                    method=data["method"],
                    reference=data["reference"],
                    note=data["note"],
                    idempotency_key=data["idempotency_key"],
                    confirm_repeat=data["confirm_repeat"],
                    items=data["items"] or None,
                    sales=data["sales"] or None,
                )
            except ValidationError as error:
                repeat_receipt = _repeated_receipt(error, student)
                form_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Payment of %(amount)s recorded: receipt %(number)s.")
                    % {"amount": receipt.total, "number": receipt.number},
                )
                url = reverse("admin:core_receipt_print", args=[receipt.pk])
                return HttpResponseRedirect(f"{url}?layout={data['layout']}")
        owed_total = sum((row.owed for row in enrollments), money_round(0))
        recent = Receipt.objects.filter(student=student).select_related("cashier")[:5]
        return admin_page(
            self,
            request,
            "admin/money/record.html",
            _("Record a payment: %(student)s") % {"student": student},
            student=student,
            form=form,
            enrollments=enrollments,
            owed_total=owed_total,
            to_pay=to_pay,
            balance=payments.student_balance(student),
            recent=recent,
            rows=[(row, form[f"line_{row.pk}"]) for row in enrollments],
            can_discount=request.user.has_perm("core.grant_discount"),
            can_take=can_take,
            repeat_receipt=repeat_receipt,
            open_sales=[(sale, form[f"sale_{sale.pk}"]) for sale in open_sales],
        )

    def discount_view(self, request, enrollment_id):
        if not request.user.has_perm("core.grant_discount"):
            raise PermissionDenied
        enrollment = get_object_or_404(
            scope_by_branch(Enrollment.objects.select_related("student", "group"), request.user, "student__branch"),
            pk=enrollment_id,
        )
        return form_page(
            self,
            request,
            form=DiscountForm(request.POST or None),
            title=_("Discount"),
            apply=lambda data: payments.discount_grant(
                enrollment=enrollment, actor=request.user, amount=data["amount"], reason=data["reason"]
            ),
            done_url=reverse("admin:core_receipt_record", args=[enrollment.student_id]),
            subject=enrollment,
        )
