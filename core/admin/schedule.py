"""Rooms, groups with their timetable, enrollments and sessions in the admin."""

import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTimeWidget

from core.access.scoping import scope_by_branch
from core.admin.actions import action_with_form
from core.admin.base import AuditedModelAdmin, CenterModelAdmin, ReadOnlyTabInline, ServiceErrorsMixin
from core.admin.exports import CenterExportMixin
from core.admin.forms import EndEnrollmentForm, EnrollmentAddForm, EnrollmentChangeForm, ReasonForm, TransferForm
from core.admin.people import FoldedNameSearchMixin, ltr
from core.admin.perf import related_count
from core.models import Attendance, Enrollment, Group, Room, ScheduleSlot, Session
from core.services.enrollments import enrollment_change_plan, enrollment_create, enrollment_end, enrollment_transfer
from core.services.schedule import slot_conflicts, slot_save
from core.services.sessions import session_add_extra, session_cancel


@admin.register(Room)
class RoomAdmin(CenterExportMixin, AuditedModelAdmin):
    list_display = ["name", "branch", "capacity", "is_active"]
    list_filter = [("branch", RelatedDropdownFilter), "is_active"]
    search_fields = ["name"]
    fields = ["branch", "name", "capacity", "is_active"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("branch")


class SlotInlineFormSet(forms.BaseInlineFormSet):
    """Checks each slot with the same conflict rules slot_save applies, errors on the row."""

    def clean(self):
        super().clean()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not form.has_changed():
                continue
            if not all(data.get(name) is not None for name in ("weekday", "start_time", "duration_minutes", "room")):
                continue
            if not data.get("is_active", True):
                continue
            problems = slot_conflicts(
                group=self.instance,
                weekday=data["weekday"],
                start_time=data["start_time"],
                duration_minutes=data["duration_minutes"],
                room=data["room"],
                exclude_pk=form.instance.pk,
            )
            if problems and not data.get("override_reason"):
                form.add_error("start_time", problems)
            elif problems and not self.request_user.has_perm("core.override_conflict"):
                form.add_error("override_reason", _("Only the owner can override a timetable conflict."))


class ScheduleSlotInline(TabularInline):
    model = ScheduleSlot
    formset = SlotInlineFormSet
    extra = 0
    tab = True
    verbose_name_plural = _("Weekly timetable")
    fields = ["weekday", "start_time", "duration_minutes", "room", "is_active", "override_reason"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.request_user = request.user
        return formset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "room":
            rooms = field.queryset.filter(is_active=True).select_related("branch")
            field.queryset = scope_by_branch(rooms, request.user, "branch")
        return field

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("room")


class GroupEnrollmentInline(ReadOnlyTabInline):
    model = Enrollment
    verbose_name_plural = _("Enrolled students")
    fields = ["student", "fee_plan", "custom_fee", "start_date"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_active=True).select_related("student")


class UpcomingSessionInline(ReadOnlyTabInline):
    model = Session
    verbose_name_plural = _("Upcoming sessions")
    fields = ["date", "local_start", "room", "status", "cancel_reason"]

    def get_queryset(self, request):
        now = timezone.now()
        # The generated horizon (two weeks) plus a little: inline formsets cannot be sliced.
        return (
            super()
            .get_queryset(request)
            .filter(ends_at__gte=now, starts_at__lte=now + datetime.timedelta(days=15))
            .select_related("room")
            .order_by("starts_at")
        )

    @display(description=_("starts"))
    def local_start(self, session):
        return timezone.localtime(session.starts_at).strftime("%H:%M")


@admin.register(Group)
class GroupAdmin(CenterExportMixin, ServiceErrorsMixin, AuditedModelAdmin):
    import_kind = "groups"
    teacher_group_path = ""
    pay_term_fields = ("pay_scheme", "pay_rate")
    list_display = ["code_display", "name", "teacher", "branch", "fee", "fee_period", "enrolled", "is_active"]
    list_display_links = ["code_display", "name"]
    list_filter = [
        ("branch", RelatedDropdownFilter),
        ("teacher", AutocompleteSelectFilter),
        ("grade", ChoicesDropdownFilter),
        ("fee_period", ChoicesDropdownFilter),
        "is_active",
    ]
    search_fields = ["code", "name", "teacher__full_name", "subject"]
    autocomplete_fields = ["teacher", "default_room", "branch"]
    inlines = [ScheduleSlotInline, GroupEnrollmentInline, UpcomingSessionInline]
    fieldsets = [
        (
            _("Group"),
            {
                "classes": ["tab"],
                "fields": [
                    "code",
                    "name",
                    "teacher",
                    "subject",
                    "grade",
                    "branch",
                    "default_room",
                    "capacity",
                    "is_active",
                ],
            },
        ),
        (
            _("Fees and teacher pay"),
            {"classes": ["tab"], "fields": ["fee", "fee_period", "sessions_per_month", "pay_scheme", "pay_rate"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("teacher", "branch")
            .annotate(enrolled_count=related_count(Enrollment, "group", is_active=True))
        )

    @display(description=_("code"), ordering="code")
    def code_display(self, group):
        return ltr(group.code)

    @display(description=_("enrolled"), ordering="enrolled_count")
    def enrolled(self, group):
        return f"{group.enrolled_count} / {group.capacity}"

    def save_formset(self, request, form, formset, change):
        if formset.model is not ScheduleSlot:
            return super().save_formset(request, form, formset, change)
        # slot_save writes each slot (and its audit row); the admin's own history stays empty.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for slot_form in formset.forms:
            data = getattr(slot_form, "cleaned_data", None)
            if not data or not slot_form.has_changed() or data.get("DELETE"):
                continue
            slot_save(
                actor=request.user,
                group=form.instance,
                weekday=data["weekday"],
                start_time=data["start_time"],
                duration_minutes=data["duration_minutes"],
                room=data["room"],
                slot=slot_form.instance if slot_form.instance.pk else None,
                is_active=data.get("is_active", True),
                override_reason=data.get("override_reason", ""),
            )
        for slot_form in formset.deleted_forms:
            if slot_form.instance.pk:
                # A removed slot is deactivated: its past sessions keep pointing at it.
                slot = slot_form.instance
                slot_save(
                    actor=request.user,
                    group=form.instance,
                    weekday=slot.weekday,
                    start_time=slot.start_time,
                    duration_minutes=slot.duration_minutes,
                    room=slot.room,
                    slot=slot,
                    is_active=False,
                )


@admin.register(ScheduleSlot)
class ScheduleSlotAdmin(CenterModelAdmin):
    branch_path = "group__branch"
    teacher_group_path = "group"
    list_display = ["group", "weekday", "start_time", "duration_minutes", "room", "is_active"]
    list_filter = [
        "weekday",
        ("group__branch", RelatedDropdownFilter),
        ("group__teacher", AutocompleteSelectFilter),
        "is_active",
    ]
    search_fields = ["group__code", "group__name"]
    ordering = ["weekday", "start_time"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group", "room")

    def has_add_permission(self, request):
        return False  # slots are edited on their group's page, where conflicts are checked

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(CenterExportMixin, ServiceErrorsMixin, FoldedNameSearchMixin, CenterModelAdmin):
    branch_path = "group__branch"
    teacher_group_path = "group"
    add_form = EnrollmentAddForm
    form = EnrollmentChangeForm
    list_display = ["student", "group", "fee_plan", "custom_fee", "start_date", "end_date", "is_active"]
    list_filter = [
        ("group__branch", RelatedDropdownFilter),
        ("group", AutocompleteSelectFilter),
        ("group__teacher", AutocompleteSelectFilter),
        ("fee_plan", ChoicesDropdownFilter),
        "is_active",
    ]
    search_fields = ["student__full_name"]
    name_search_field = "student__search_key"
    code_search_fields = ("student__code", "group__code")
    autocomplete_fields = ["student", "group"]
    actions = ["end_enrollments", "transfer_enrollments"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "group", "transferred_from__group")

    def get_search_results(self, request, queryset, search_term):
        from core.normalize import search_key

        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(
            Q(student__search_key__contains=search_key(term))
            | Q(student__code__iexact=term)
            | Q(group__code__iexact=term)
        ), False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return EnrollmentAddForm.Meta.fields
        return [
            "student_display",
            "group_display",
            "fee_plan",
            "custom_fee",
            "fee_reason",
            "start_date",
            "end_date",
            "is_active",
            "carried_display",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["student_display", "group_display", "start_date", "end_date", "is_active", "carried_display"]

    @display(description=_("carried month"))
    def carried_display(self, enrollment):
        return enrollment.carry_note or "—"

    @display(description=_("student"))
    def student_display(self, enrollment):
        return str(enrollment.student)

    @display(description=_("group"))
    def group_display(self, enrollment):
        return str(enrollment.group)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = enrollment_create(
                actor=request.user,
                student=data["student"],
                group=data["group"],
                fee_plan=data["fee_plan"],
                custom_fee=data.get("custom_fee"),
                fee_reason=data.get("fee_reason", ""),
                start_date=data.get("start_date"),
            )
            obj.pk = created.pk
            obj._state.adding = False
            return
        if form.changed_data:
            enrollment_change_plan(
                actor=request.user,
                enrollment=obj,
                fee_plan=data["fee_plan"],
                custom_fee=data.get("custom_fee"),
                fee_reason=data.get("fee_reason", ""),
            )

    def has_delete_permission(self, request, obj=None):
        return False  # enrollments end; they are never deleted

    def action_done_message(self, count):
        return _("%(count)s enrollment(s) updated.") % {"count": count}

    @action(description=_("End the selected enrollments"), permissions=["change"])
    def end_enrollments(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset.filter(is_active=True),
            form_class=EndEnrollmentForm,
            title=_("End enrollments"),
            apply=lambda enrollment, data: enrollment_end(
                actor=request.user, enrollment=enrollment, on_date=data.get("end_date"), reason=data.get("reason", "")
            ),
        )

    @action(description=_("Transfer to another group"), permissions=["change"])
    def transfer_enrollments(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset.filter(is_active=True),
            form_class=TransferForm.for_user(request.user),
            title=_("Transfer to another group"),
            apply=lambda enrollment, data: enrollment_transfer(
                actor=request.user,
                enrollment=enrollment,
                to_group=data["to_group"],
                on_date=data.get("on_date"),
                reason=data.get("reason", ""),
            ),
        )


class ExtraSessionForm(forms.ModelForm):
    """Adds a one-off extra or make-up session through ``session_add_extra``.

    The service is the validation: it checks the room's bookings under a row lock, so it runs in
    ``_post_clean`` (inside the admin's transaction) and its refusals land on the form's fields.
    ``actor`` is set by SessionAdmin.get_form.
    """

    actor = None
    start_time = forms.TimeField(label=capfirst(_("start time")), widget=UnfoldAdminTimeWidget())
    duration_minutes = forms.IntegerField(
        label=capfirst(_("duration (minutes)")),
        min_value=1,
        max_value=720,
        initial=120,
        widget=UnfoldAdminIntegerFieldWidget(),
    )

    class Meta:
        model = Session
        fields = ["group", "date", "room"]

    def _post_clean(self):
        if self.errors:
            return
        data = self.cleaned_data
        try:
            with transaction.atomic():
                self.instance = session_add_extra(
                    actor=self.actor,
                    group=data["group"],
                    date=data["date"],
                    start_time=data["start_time"],
                    duration_minutes=data["duration_minutes"],
                    room=data.get("room"),
                )
        except ValidationError as error:
            self._update_errors(error)


class CancelSessionsForm(ReasonForm):
    """The cancel page's wording: "Cancel" would read as "cancel the classes" there."""

    summary = ""
    submit_label = _("Cancel the sessions")
    back_label = _("Back")


@admin.register(Session)
class SessionAdmin(CenterExportMixin, ServiceErrorsMixin, CenterModelAdmin):
    branch_path = "group__branch"
    teacher_group_path = "group"
    add_form = ExtraSessionForm
    list_display = [
        "date",
        "local_start",
        "local_end",
        "group",
        "teacher_name",
        "room",
        "status_badge",
        "teacher_in",
        "is_extra",
    ]
    list_filter = [
        ("date", RangeDateFilter),
        ("status", ChoicesDropdownFilter),
        ("group__branch", RelatedDropdownFilter),
        ("group__teacher", AutocompleteSelectFilter),
        ("group", AutocompleteSelectFilter),
        "is_extra",
    ]
    search_fields = ["group__code", "group__name"]
    # No date drill-down (distinct years/months of every session): the range filter stays.
    ordering = ["-starts_at"]
    actions = ["cancel_sessions"]
    readonly_fields = [
        "group",
        "date",
        "starts_at",
        "ends_at",
        "room",
        "status",
        "cancel_reason",
        "is_extra",
        "teacher_checked_in_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group__teacher", "room")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type("ExtraSessionForm", (self.add_form,), {"actor": request.user})
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["group", "date", "start_time", "duration_minutes", "room"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # sessions are cancelled with a reason, never deleted

    def save_model(self, request, obj, form, change):
        pass  # ExtraSessionForm saved it through session_add_extra while validating

    def save_related(self, request, form, formsets, change):
        pass  # no inlines or many-to-many fields on the add form

    @display(description=_("starts"), ordering="starts_at")
    def local_start(self, session):
        return timezone.localtime(session.starts_at).strftime("%H:%M")

    @display(description=_("ends"))
    def local_end(self, session):
        return timezone.localtime(session.ends_at).strftime("%H:%M")

    @display(description=_("teacher"))
    def teacher_name(self, session):
        return session.group.teacher.full_name

    @display(description=_("teacher in"), boolean=True)
    def teacher_in(self, session):
        return session.teacher_checked_in_at is not None

    @display(
        description=_("status"),
        ordering="status",
        label={Session.Status.SCHEDULED: "info", Session.Status.HELD: "success", Session.Status.CANCELLED: "danger"},
    )
    def status_badge(self, session):
        return session.status, session.get_status_display()

    def action_done_message(self, count):
        return _("%(count)s session(s) cancelled.") % {"count": count}

    @action(description=_("Cancel the selected sessions"), permissions=["cancel_session"])
    def cancel_sessions(self, request, queryset):
        scheduled = queryset.filter(status=Session.Status.SCHEDULED)
        admitted = Attendance.objects.filter(
            session__in=scheduled, status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE]
        ).count()
        summary = ngettext(
            "%(count)s session will be cancelled.",
            "%(count)s sessions will be cancelled.",
            len(scheduled),
        ) % {"count": len(scheduled)}
        if admitted:
            summary += " " + ngettext(
                "The charge of the %(admitted)s student already admitted will be reversed.",
                "The charges of the %(admitted)s students already admitted will be reversed.",
                admitted,
            ) % {"admitted": admitted}
        summary += " " + gettext("The guardians of every enrolled student will be told the class is cancelled.")
        form_class = type("CancelSessionsForm", (CancelSessionsForm,), {"summary": summary})
        return action_with_form(
            self,
            request,
            scheduled,
            form_class=form_class,
            title=_("Cancel sessions"),
            apply=lambda session, data: session_cancel(actor=request.user, session=session, reason=data["reason"]),
        )

    def has_cancel_session_permission(self, request):
        return request.user.has_perm("core.cancel_session")
