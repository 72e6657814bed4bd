"""The sidebar, grouped by concern. Each link shows only to users holding its permission."""

from collections.abc import Callable
from urllib.parse import urlparse

from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _

from core.access.roles import is_owner


def can(permission: str) -> Callable:
    return lambda request: request.user.has_perm(permission)


def link(title, icon: str, url_name: str, permission: str) -> dict:
    return {"title": title, "icon": icon, "link": reverse_lazy(url_name), "permission": can(permission)}


def mark_active(request, groups: list[dict]) -> list[dict]:
    """Highlight the one link that best matches the page: the longest link path the page's path
    starts with, among the links the user may see (unfold's own test is "the link is part of the
    path", which lights /admin/door/ on every door page and Receipts on the cashier)."""
    index = reverse("admin:index")
    path = request.path
    best, best_length = None, -1
    for group in groups:
        for item in group["items"]:
            for link_path in [urlparse(str(item["link"])).path, *item.get("also_under", ())]:
                matches = path == link_path if link_path == index else path.startswith(link_path)
                if matches and len(link_path) > best_length and _may_see(request, item):
                    best, best_length = item, len(link_path)
    for group in groups:
        for item in group["items"]:
            item["active"] = item is best
    return groups


def _pages_under(url_name: str) -> str:
    """The path prefix of a page that takes an id (``/admin/door/session/``)."""
    return reverse(url_name, args=[0]).removesuffix("0/")


def _may_see(request, item: dict) -> bool:
    permission = item.get("permission")
    return permission is None or bool(permission(request))


def sidebar(request) -> list[dict]:
    return mark_active(request, _groups())


def _groups() -> list[dict]:
    return [
        {
            "items": [
                {"title": _("Dashboard"), "icon": "dashboard", "link": reverse_lazy("admin:index")},
            ],
        },
        {
            "title": _("Center"),
            "collapsible": True,
            "items": [
                link(_("Timetable"), "calendar_month", "timetable", "core.view_scheduleslot"),
                link(_("Sessions"), "event", "admin:core_session_changelist", "core.view_session"),
                link(_("Groups"), "groups", "admin:core_group_changelist", "core.view_group"),
                link(_("Teachers"), "person_book", "admin:core_teacher_changelist", "core.view_teacher"),
                link(_("Rooms"), "meeting_room", "admin:core_room_changelist", "core.view_room"),
                link(_("Branches"), "apartment", "admin:core_branch_changelist", "core.view_branch"),
            ],
        },
        {
            "title": _("Door"),
            "collapsible": True,
            "items": [
                link(_("Scan at the door"), "qr_code_scanner", "door", "core.add_attendance"),
                {
                    **link(_("Today's sessions"), "today", "door-today", "core.view_attendance"),
                    # a session's attendance is opened from the board
                    "also_under": [_pages_under("door-session-attendance")],
                },
                link(_("Attendance sheet"), "table_view", "door-sheet", "core.view_attendance"),
                link(_("Attendance"), "fact_check", "admin:core_attendance_changelist", "core.view_attendance"),
                link(_("Scan log"), "list_alt", "admin:core_scanevent_changelist", "core.view_scanevent"),
                link(
                    _("Door follow-ups"),
                    "assignment_late",
                    "admin:core_doorfollowup_changelist",
                    "core.view_doorfollowup",
                ),
                link(_("Kiosks"), "tablet", "admin:core_kiosk_changelist", "core.view_kiosk"),
            ],
        },
        {
            "title": _("Students"),
            "collapsible": True,
            "items": [
                link(_("Students"), "school", "admin:core_student_changelist", "core.view_student"),
                link(_("Enrollments"), "how_to_reg", "admin:core_enrollment_changelist", "core.view_enrollment"),
                link(_("Guardians"), "family_restroom", "admin:core_guardian_changelist", "core.view_guardian"),
                {
                    "title": _("Import students"),
                    "icon": "upload_file",
                    "link": reverse_lazy("admin:core_importjob_upload", args=["students"]),
                    "permission": lambda request: request.user.has_perms(["core.add_importjob", "core.add_student"]),
                },
                link(_("Import history"), "history_edu", "admin:core_importjob_changelist", "core.view_importjob"),
            ],
        },
        {
            "title": _("Money"),
            "collapsible": True,
            "items": [
                link(_("Cashier"), "point_of_sale", "admin:core_receipt_cashier", "core.record_payment"),
                link(_("Receipts"), "receipt", "admin:core_receipt_changelist", "core.view_receipt"),
                link(_("Drawer closes"), "savings", "admin:core_cashclose_changelist", "core.view_cashclose"),
                link(_("Defaulters"), "money_off", "admin:core_receipt_defaulters", "core.view_money_reports"),
                link(_("Collections"), "bar_chart", "admin:core_receipt_collections", "core.view_money_reports"),
                link(_("Ledger"), "account_balance", "admin:core_ledgerentry_changelist", "core.view_ledgerentry"),
                link(_("Settlements"), "request_quote", "admin:core_settlement_changelist", "core.view_settlement"),
                link(_("Settlements report"), "analytics", "admin:core_settlement_report", "core.view_money_reports"),
            ],
        },
        {
            "title": _("Treasury"),
            "collapsible": True,
            "items": [
                link(_("Expenses"), "payments", "admin:core_expense_changelist", "core.view_expense"),
                link(_("Cash book"), "account_balance_wallet", "admin:core_cashbookday_book", "core.view_treasury"),
                link(_("Closed days"), "event_available", "admin:core_cashbookday_changelist", "core.view_cashbookday"),
                link(
                    _("Bank deposits"),
                    "account_balance",
                    "admin:core_banktransfer_changelist",
                    "core.view_banktransfer",
                ),
                link(_("Profit and loss"), "monitoring", "admin:core_cashbookday_profit", "core.view_treasury"),
                link(
                    _("Expense categories"),
                    "category",
                    "admin:core_expensecategory_changelist",
                    "core.change_expensecategory",
                ),
            ],
        },
        {
            "title": _("Notes and books"),
            "collapsible": True,
            "items": [
                link(_("Items for sale"), "menu_book", "admin:core_item_changelist", "core.view_item"),
                link(_("Sell on credit"), "shopping_cart", "admin:core_itemsale_add", "core.sell_items"),
                link(_("Item sales"), "sell", "admin:core_itemsale_changelist", "core.view_itemsale"),
                link(_("Stock"), "inventory_2", "admin:core_itemstock_changelist", "core.view_itemstock"),
                link(
                    _("Stock movements"), "swap_vert", "admin:core_stockmovement_changelist", "core.view_stockmovement"
                ),
                link(_("Discount rules"), "percent", "admin:core_discountrule_changelist", "core.view_discountrule"),
                link(_("Discounts per month"), "loyalty", "admin:core_discountrule_report", "core.view_discountrule"),
            ],
        },
        {
            "title": _("Messages"),
            "collapsible": True,
            "items": [
                link(_("Outbox"), "chat", "admin:core_message_changelist", "core.view_message"),
                link(
                    _("Replies from parents"),
                    "mark_chat_unread",
                    "admin:core_inboundmessage_changelist",
                    "core.view_inboundmessage",
                ),
                link(_("Templates"), "edit_note", "admin:core_messagetemplate_changelist", "core.view_messagetemplate"),
                link(_("Send a broadcast"), "campaign", "admin:core_message_broadcast", "core.broadcast_message"),
                link(_("Broadcasts"), "forum", "admin:core_broadcast_changelist", "core.view_broadcast"),
                link(_("Messages cost per month"), "receipt_long", "admin:core_message_report", "core.view_message"),
                link(_("Test send"), "send", "admin:core_message_test_send", "core.send_test_message"),
                link(
                    _("Approved WhatsApp templates"),
                    "verified",
                    "admin:core_cloudtemplate_changelist",
                    "core.view_cloudtemplate",
                ),
                link(
                    _("Channel states"), "sensors", "admin:core_channelbreaker_changelist", "core.view_channelbreaker"
                ),
            ],
        },
        {
            "title": _("Staff and access"),
            "collapsible": True,
            "items": [
                link(_("Staff"), "badge", "admin:core_user_changelist", "core.view_user"),
                link(_("Roles"), "group", "admin:auth_group_changelist", "auth.view_group"),
                link(_("Login lockouts"), "lock", "admin:axes_accessattempt_changelist", "axes.view_accessattempt"),
                link(_("Audit log"), "history", "admin:core_auditlog_changelist", "core.view_auditlog"),
                {
                    "title": _("Center settings"),
                    "icon": "settings",
                    "link": reverse_lazy("admin:core_centersettings_changelist"),
                    "permission": lambda request: is_owner(request.user),
                },
            ],
        },
        {
            "title": _("System"),
            "collapsible": True,
            "items": [
                link(_("Scheduled jobs"), "schedule", "admin:django_q_schedule_changelist", "django_q.view_schedule"),
                link(_("Failed jobs"), "error", "admin:django_q_failure_changelist", "django_q.view_failure"),
                {
                    "title": _("Backups"),
                    "icon": "backup",
                    "link": reverse_lazy("admin:core_backup_changelist"),
                    "permission": lambda request: is_owner(request.user),
                },
            ],
        },
    ]
