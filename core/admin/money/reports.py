"""The money reports on the receipts' screen (SPEC.md §4): defaulters (paged, exportable) and
collections per day. The queries are in ``core/selectors/money_reports.py``; here the rows are
scoped to the user, paged and shown."""

import datetime

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access.scoping import scope_by_branch
from core.admin.exports import export_response
from core.admin.money.common import admin_page
from core.admin.pickers import GroupPicker
from core.models import Group
from core.selectors.click_to_chat import ChatTexts
from core.selectors.money_reports import collections_by_day, defaulters_rows

DEFAULTERS_PER_PAGE = 100
DEFAULTERS_EXPORT_LIMIT = 20_000  # an export holds every defaulter up to the size an import takes


def _defaulters_export(rows, file_format: str):
    return export_response(
        headers=[
            _("code"),
            _("student"),
            _("branch"),
            _("owed"),
            _("unpaid sessions"),
            _("guardian phone"),
            _("WhatsApp"),
        ],
        rows=(
            [
                student.code,
                student.full_name,
                str(student.branch),
                student.owed,
                student.unpaid_sessions,
                student.guardian_phone or "",
                student.whatsapp_url,
            ]
            for student in rows
        ),
        title=_("Defaulters"),
        file_stem="defaulters",
        file_format=file_format,
    )


class MoneyReportsMixin:
    """The report pages of ReceiptAdmin (URLs in ``ReceiptAdmin.get_urls``)."""

    def defaulters_view(self, request):
        """Students who owe, most first: owed, unpaid sessions, guardian phone (WhatsApp link)."""
        if not request.user.has_perm("core.view_money_reports"):
            raise PermissionDenied
        picker = GroupPicker(
            request.GET,
            groups=scope_by_branch(Group.objects.filter(is_active=True), request.user),
            element_id="money-group",
        )
        group = picker.chosen.pk if picker.chosen else None
        group_id = str(group or "")
        export = request.GET.get("export", "")
        if export in {"xlsx", "csv"}:  # every defaulter, not one page (SPEC §4: reports export too)
            rows, _more = defaulters_rows(self._students(request), group_id=group, limit=DEFAULTERS_EXPORT_LIMIT)
            page = None
        else:
            # No total count: a page and whether there is a next one.
            raw_page = request.GET.get("page", "1")
            number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10_000 else 1
            rows, more = defaulters_rows(
                self._students(request),
                group_id=group,
                offset=(number - 1) * DEFAULTERS_PER_PAGE,
                limit=DEFAULTERS_PER_PAGE,
            )
            page = {
                "number": number,
                "previous": number - 1 if number > 1 else None,
                "next": number + 1 if more else None,
            }
        # Click-to-chat: the payment reminder already written, for centers that send by hand.
        chat = ChatTexts()
        for student in rows:
            student.whatsapp_url = chat.reminder_link(
                phone=student.guardian_phone or "",
                student_name=student.full_name,
                owed=student.owed,
                gender=student.gender,
            )
        if page is None:
            return _defaulters_export(rows, export)
        return admin_page(
            self,
            request,
            "admin/money/defaulters.html",
            _("Defaulters"),
            page=page,
            rows=rows,
            picker=picker,
            group_id=group_id,
        )

    def collections_view(self, request):
        """Collections per day by method and cashier (voided receipts excluded, refunds shown)."""
        if not request.user.has_perm("core.view_money_reports"):
            raise PermissionDenied
        today = timezone.localdate()
        try:
            start = datetime.date.fromisoformat(request.GET.get("from", "")) if request.GET.get("from") else None
            end = datetime.date.fromisoformat(request.GET.get("to", "")) if request.GET.get("to") else None
        except ValueError:
            start = end = None
        start = start or today.replace(day=1)
        end = end or today
        report = collections_by_day(self.get_queryset(request), start=start, end=end)
        return admin_page(
            self,
            request,
            "admin/money/collections.html",
            _("Collections"),
            rows=report.rows,
            start=start,
            end=end,
            by_method=report.by_method,
            total=report.total,
            refunds=report.refunds,
            net=report.net,
        )
