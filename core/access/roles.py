"""Roles (SPEC.md §1) as Django groups, and the permissions each one holds.

The groups come from a data migration; their permissions are synchronised after every
``migrate`` from ROLE_PERMISSIONS, so a new model's permissions reach the roles with its
migration. Enforcement is always on the server (admin querysets, actions, views).
"""

from django.contrib.auth.models import Group, Permission
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "Owner", _("Owner")
    MANAGER = "Manager", _("Manager")
    RECEPTIONIST = "Receptionist", _("Receptionist")
    ACCOUNTANT = "Accountant", _("Accountant")
    SUPERVISOR = "Door supervisor", _("Door supervisor")
    TEACHER = "Teacher", _("Teacher")


ALL = "__all__"
VIEW = ("view",)
EDIT = ("view", "add", "change")
FULL = ("view", "add", "change", "delete")

# model label -> actions, per role. The owner holds every permission of the project.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]] | str] = {
    Role.OWNER: ALL,
    Role.MANAGER: {
        "core.kiosk": EDIT,
        "core.doorfollowup": ("view", "change"),
        "core.attendance": EDIT,
        "core.scanevent": VIEW,
        "core.branch": VIEW,
        "core.room": FULL,
        "core.teacher": EDIT,
        "core.group": EDIT,
        "core.scheduleslot": FULL,
        "core.session": EDIT,
        "core.student": EDIT,
        "core.guardian": EDIT,
        "core.studentguardian": FULL,
        "core.enrollment": EDIT,
        "core.importjob": ("view", "add"),
        "core.auditlog": VIEW,
        "core.message": VIEW,
        "core.messagetemplate": EDIT,
        "core.broadcast": VIEW,
        "core.inboundmessage": VIEW,  # parents' replies (issue 19)
        "core.cloudtemplate": EDIT,
        "core.channelbreaker": VIEW,
        "django_q.schedule": VIEW,
        "django_q.failure": VIEW,
        # Money: everything of the front desk and the accountant but approving settlements.
        "core.receipt": VIEW,
        "core.ledgerentry": VIEW,
        "core.cashclose": ("view", "add"),
        "core.settlement": EDIT,
        "core.settlementline": VIEW,
        "core.settlementitem": FULL,
        # The treasury: expenses (no limit), the bank, the cash book (issue 18).
        "core.expense": ("view", "add"),
        "core.expensecategory": EDIT,
        "core.banktransfer": ("view", "add"),
        "core.cashbookday": VIEW,
        # Notes and books (issue 18): the catalogue, stock, sales and voids; discount rules read.
        "core.item": EDIT,
        "core.itemstock": VIEW,
        "core.stockmovement": VIEW,
        "core.itemsale": VIEW,
        "core.itemsaleline": VIEW,
        "core.discountrule": VIEW,
        "core.discountapplication": VIEW,
    },
    Role.RECEPTIONIST: {
        "core.importjob": ("view", "add"),
        "core.doorfollowup": ("view", "change"),  # the office collects what the door could not
        "core.branch": VIEW,
        "core.room": VIEW,
        "core.teacher": VIEW,
        "core.group": VIEW,
        "core.scheduleslot": VIEW,
        "core.session": VIEW,
        "core.student": EDIT,
        "core.guardian": EDIT,
        "core.studentguardian": FULL,
        "core.enrollment": EDIT,
        "core.message": VIEW,
        "core.inboundmessage": VIEW,  # the office answers parents' replies
        "core.receipt": VIEW,
        "core.cashclose": ("view", "add"),  # his own drawer (scoped in the admin)
        "core.expense": ("view", "add"),  # up to the owner's limit (checked in the service)
        "core.expensecategory": VIEW,
        # He sells notes and books (sell_items) and sees the stock; he voids nothing.
        "core.item": VIEW,
        "core.itemstock": VIEW,
        "core.stockmovement": VIEW,
        "core.itemsale": VIEW,
        "core.itemsaleline": VIEW,
    },
    Role.ACCOUNTANT: {
        "core.branch": VIEW,
        "core.teacher": VIEW,
        "core.group": VIEW,
        "core.session": VIEW,
        "core.student": VIEW,
        "core.guardian": VIEW,
        "core.enrollment": VIEW,
        "core.auditlog": VIEW,
        "core.message": VIEW,  # the monthly messages cost report
        "core.receipt": VIEW,
        "core.ledgerentry": VIEW,
        "core.cashclose": VIEW,
        "core.settlement": EDIT,
        "core.settlementline": VIEW,
        "core.settlementitem": FULL,
        "core.expense": ("view", "add"),
        "core.expensecategory": EDIT,
        "core.banktransfer": ("view", "add"),
        "core.cashbookday": VIEW,
        "core.importjob": ("view", "add"),  # expenses from a sheet (other kinds need their own permissions)
        "core.item": VIEW,
        "core.itemstock": VIEW,
        "core.stockmovement": VIEW,
        "core.itemsale": VIEW,
        "core.itemsaleline": VIEW,
        "core.discountrule": VIEW,
        "core.discountapplication": VIEW,
    },
    Role.SUPERVISOR: {
        # The door: manual attendance with a reason, the scan log, the kiosks of his branch.
        "core.attendance": EDIT,
        "core.scanevent": VIEW,
        "core.kiosk": VIEW,
        "core.doorfollowup": VIEW,
        "core.branch": VIEW,
        "core.room": VIEW,
        "core.teacher": VIEW,
        "core.group": VIEW,
        "core.session": VIEW,
        "core.student": VIEW,
    },
    # Teachers read only their own groups and sessions (scoped in the admin querysets).
    Role.TEACHER: {
        "core.group": VIEW,
        "core.scheduleslot": VIEW,
        "core.session": VIEW,
        "core.settlement": VIEW,  # his own statements (scoped in the admin)
        "core.settlementline": VIEW,
        # His own notes: their sales and stock only (scoped in the admin to item__teacher__user).
        "core.item": VIEW,
        "core.itemstock": VIEW,
        "core.itemsale": VIEW,
    },
}

# Custom permissions that are not model actions: "app_label.codename" per role.
ROLE_EXTRA_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.MANAGER: (
        "core.cancel_session",
        "core.print_cards",
        "core.print_teacher_cards",
        "core.retry_message",
        "core.broadcast_message",
        "core.handle_inboundmessage",
        "core.record_payment",
        "core.void_receipt",
        "core.grant_discount",
        "core.view_money_reports",
        "core.view_all_cash_closes",
        "core.run_settlement",
        "core.void_expense",
        "core.record_any_expense",
        "core.view_treasury",
        "core.close_cash_book_day",
        "core.sell_items",
        "core.void_item_sale",
        "core.adjust_stock",
    ),
    Role.RECEPTIONIST: ("core.print_cards", "core.record_payment", "core.sell_items", "core.handle_inboundmessage"),
    Role.ACCOUNTANT: (
        "core.void_receipt",
        "core.grant_discount",
        "core.view_money_reports",
        "core.view_all_cash_closes",
        "core.run_settlement",
        "core.void_expense",
        "core.record_any_expense",
        "core.view_treasury",
        "core.close_cash_book_day",
        "core.void_item_sale",
    ),
}


def permissions_for(role: str) -> models.QuerySet:
    spec = ROLE_PERMISSIONS[role]
    if spec == ALL:
        return Permission.objects.all()
    wanted = models.Q(pk__in=[])
    for label, actions in spec.items():
        app_label, model_name = label.split(".")
        wanted |= models.Q(
            content_type__app_label=app_label,
            content_type__model=model_name,
            codename__in=[f"{action}_{model_name}" for action in actions],
        )
    for perm in ROLE_EXTRA_PERMISSIONS.get(role, ()):
        app_label, codename = perm.split(".")
        wanted |= models.Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def roles_sync() -> None:
    """Create the role groups if missing and set their permissions exactly."""
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set(permissions_for(role))


def sync_after_migrate(sender, using="default", **kwargs) -> None:
    roles_sync()


def user_roles(user) -> set[str]:
    """Role names of a user, cached on the instance for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def is_owner(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or Role.OWNER in user_roles(user)


def may_see_pay_terms(user) -> bool:
    """Teachers' pay schemes and rates are settlement terms (SPEC.md §1): the owner, the accountant
    and the manager (who does everything of the accountant) see them; the desk and the door do not."""
    return is_owner(user) or user.has_perm("core.run_settlement")
