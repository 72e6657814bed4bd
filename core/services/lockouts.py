"""Login lockouts (django-axes): who may unlock whom, and the audit row of each unlock.

Only owners manage users (SPEC.md §1: a manager "must not manage users"), so only an owner may
unlock an account, any account, another owner's included. A center with a single owner who is
locked out waits for the lock to expire or runs ``python manage.py axes_reset_username USERNAME``.
"""

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from core.access.roles import Role, is_owner, user_roles
from core.models import AuditLog
from core.services.audit import audit_record


def lockout_may_unlock(actor) -> bool:
    return is_owner(actor)


def locked_user_role(username: str) -> str:
    """What the lockout page says to this username: ``owner`` (another owner, or the command)
    or ``staff`` (ask the owner). Unknown usernames read as staff."""
    user = get_user_model().objects.filter(username=username).first()
    if user is not None and (user.is_superuser or Role.OWNER in user_roles(user)):
        return "owner"
    return "staff"


def lockout_release(*, actor, username: str) -> int:
    """Unlock ``username`` now (its failed attempts are forgotten), audited under ``actor``.

    Returns how many lock records were removed (0 when the username was not locked)."""
    if not lockout_may_unlock(actor):
        raise PermissionDenied(_("Only an owner can unlock accounts."))
    with transaction.atomic():
        attempts = list(AccessAttempt.objects.select_for_update().filter(username=username))
        failures = sum(attempt.failures_since_start for attempt in attempts)
        removed = axes_reset(username=username)
        user = get_user_model().objects.filter(username=username).first()
        if user is not None:
            audit_record(
                actor=actor,
                action=AuditLog.Action.UNLOCK,
                instance=user,
                changes={"failed_logins": [failures, 0]},
            )
    return removed
