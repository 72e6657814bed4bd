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


# The background jobs of core/ops/task_schedules.py by their stored name, as staff read them.
JOB_TITLES = {
    "tasks heartbeat": _("Worker heartbeat"),
    "refresh watched dashboards": _("Refresh the dashboards being watched"),
    "generate sessions": _("Generate the coming sessions"),
    "send due messages": _("Send due WhatsApp messages"),
    "clean up old messages": _("Clean up old messages"),
    "delete old import uploads": _("Delete old import uploads"),
    "auto-cancel sessions without a teacher": _("Auto-cancel classes without a teacher"),
    "mark absences of ended sessions": _("Mark absences of ended classes"),
    "daily backup": _("Daily backup"),
    "payment reminders": _("Payment reminders"),
}


@admin.register(Schedule)
class ScheduleAdmin(q_admin.ScheduleAdmin, ModelAdmin):
    # The job's title in the user's language instead of its stored name and Python function.
    list_display = ("job", "schedule_type", "repeats", "next_run", "get_last_run", "get_success")
    list_display_links = ("job",)

    @admin.display(description=_("Job"), ordering="name")
    def job(self, schedule: Schedule) -> str:
        return JOB_TITLES.get(schedule.name, schedule.name)


@admin.register(Success)
class SuccessAdmin(q_admin.TaskAdmin, ModelAdmin):
    pass


@admin.register(Failure)
class FailureAdmin(q_admin.FailAdmin, ModelAdmin):
    pass


@admin.register(OrmQ)
class QueueAdmin(q_admin.QueueAdmin, ModelAdmin):
    pass
