"""Re-register the admins of auth, axes and django-q2 with unfold's look and behaviour."""

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success
from unfold.admin import ModelAdmin
from unfold.decorators import action

from core.admin.org import role_label
from core.services.lockouts import lockout_may_unlock, lockout_release

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, ModelAdmin):
    list_display = ["role"]

    @admin.display(description=_("Role"), ordering="name")
    def role(self, group: Group) -> str:
        return role_label(group.name)


for model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin, ModelAdmin):
    """Locked logins. Only owners manage users (SPEC.md §1), so only owners see and unlock them,
    any account, another owner's included; every unlock is audited (core.services.lockouts)."""

    actions = ["unlock"]

    @action(description=_("Unlock the selected accounts"), permissions=["unlock"])
    def unlock(self, request, queryset):
        usernames = sorted(set(queryset.values_list("username", flat=True)))
        for username in usernames:
            lockout_release(actor=request.user, username=username)
        self.message_user(
            request,
            ngettext(
                "%(count)d account unlocked: %(names)s.", "%(count)d accounts unlocked: %(names)s.", len(usernames)
            )
            % {"count": len(usernames), "names": ", ".join(usernames)},
            messages.SUCCESS,
        )

    def has_unlock_permission(self, request):
        return lockout_may_unlock(request.user)


@admin.register(AccessLog)
class AccessLogAdmin(axes_admin.AccessLogAdmin, ModelAdmin):
    pass


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(axes_admin.AccessFailureLogAdmin, ModelAdmin):
    pass


for model in (Schedule, Success, Failure, OrmQ):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(Schedule)
class ScheduleAdmin(q_admin.ScheduleAdmin, ModelAdmin):
    pass


@admin.register(Success)
class SuccessAdmin(q_admin.TaskAdmin, ModelAdmin):
    pass


@admin.register(Failure)
class FailureAdmin(q_admin.FailAdmin, ModelAdmin):
    pass


@admin.register(OrmQ)
class QueueAdmin(q_admin.QueueAdmin, ModelAdmin):
    pass
