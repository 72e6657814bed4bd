"""Students, guardians and teachers in the admin: lists, search, forms that call services."""

import datetime

from django.contrib import admin, messages
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import AutocompleteSelectFilter, ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.decorators import action, display

from core.access.scoping import branch_ids_visible, scope_by_branch
from core.admin.base import (
    AuditedModelAdmin,
    CenterModelAdmin,
    ReadOnlyTabInline,
    ServiceErrorsMixin,
    UploadErrorsMixin,
)
from core.admin.exports import CenterExportMixin
from core.admin.forms import StudentAddForm, StudentChangeForm, groups_for_user
from core.admin.perf import related_count
from core.imports.resources import StudentResource
from core.models import Branch, Enrollment, FeePlan, Group, Guardian, Student, StudentGuardian, Teacher
from core.models.attendance import Attendance
from core.normalize import digits_ascii, search_key
from core.selectors.money import balance_words, enrollments_with_balance
from core.services.enrollments import enrollment_create
from core.services.students import GuardianInput, guardian_link, guardian_unlink, student_register, student_update


def ltr(value) -> str:
    """Codes and phones keep their left-to-right order inside Arabic text."""
    return format_html('<bdi dir="ltr">{}</bdi>', value) if value else "—"


class FoldedNameSearchMixin:
    """Search names by their folded key (أحمد = احمد, فاطمة = فاطمه), codes and phones."""

    name_search_field = "search_key"
    code_search_fields: tuple[str, ...] = ()
    phone_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if self.name_search_field == "search_key":
            condition = Q(search_key__contains=search_key(term))
        else:
            condition = Q(**{f"{self.name_search_field}__icontains": term})
        ascii_term = digits_ascii(term).replace(" ", "")
        for field in self.code_search_fields:
            condition |= Q(**{f"{field}__iexact": ascii_term})
        digits = "".join(ch for ch in ascii_term if ch.isdigit())
        if len(digits) >= 6:
            tail = digits[-9:]  # the national part, whatever prefix was typed
            for field in self.phone_search_fields:
                match = Q(**{f"{field}__endswith": tail})
                if "__" in field:
                    # Through a relation as a subquery: a join would repeat a student with two
                    # matching guardians and need DISTINCT, which also makes the page count
                    # compute every listed column for every match.
                    match = Q(pk__in=queryset.model._default_manager.filter(match).values("pk"))
                condition |= match
        return queryset.filter(condition), False


class GuardianLinkInline(TabularInline):
    model = StudentGuardian
    extra = 0
    tab = True
    verbose_name_plural = _("Guardians")
    fields = ["guardian_name", "guardian_phone", "guardian_relation", "is_primary"]
    readonly_fields = ["guardian_name", "guardian_phone", "guardian_relation", "is_primary"]
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False  # guardians are added with the "add a guardian" fields (guardian_link)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("guardian")

    @display(description=_("name"))
    def guardian_name(self, link):
        return link.guardian.full_name or "—"

    @display(description=_("phone"))
    def guardian_phone(self, link):
        return ltr(link.guardian.phone)

    @display(description=_("relation"))
    def guardian_relation(self, link):
        return link.guardian.get_relation_display()


class EnrollmentInline(ReadOnlyTabInline):
    model = Enrollment
    verbose_name_plural = _("Groups")
    fields = ["group", "fee_plan", "custom_fee", "start_date", "end_date", "is_active"]

    @staticmethod
    def _sees_money(user) -> bool:
        # The door and the teachers see no student's money (SPEC.md §1): the office does.
        return any(user.has_perm(f"core.{name}") for name in ("record_payment", "grant_discount", "view_money_reports"))

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("group", "student")  # the row label names both
        return enrollments_with_balance(queryset) if self._sees_money(request.user) else queryset

    def get_fields(self, request, obj=None):
        return [*self.fields, "balance_in_words"] if self._sees_money(request.user) else self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @display(description=_("balance"))
    def balance_in_words(self, enrollment):
        return balance_words(enrollment.balance)


class RecentAttendanceInline(ReadOnlyTabInline):
    """The last 60 days at the door, newest first (read-only: attendance changes are audited elsewhere)."""

    model = Attendance
    verbose_name_plural = _("Recent attendance")
    fields = ["session", "status", "local_time", "minutes_late", "source"]

    def get_queryset(self, request):
        since = timezone.now() - datetime.timedelta(days=60)
        # The student too: each row's label names him (one query per row otherwise).
        return (
            super()
            .get_queryset(request)
            .filter(at__gte=since)
            .select_related("student", "session__group")
            .order_by("-at")
        )

    @display(description=_("time"))
    def local_time(self, attendance):
        return timezone.localtime(attendance.at).strftime("%Y-%m-%d %H:%M")


@admin.register(Student)
class StudentAdmin(CenterExportMixin, ServiceErrorsMixin, UploadErrorsMixin, FoldedNameSearchMixin, CenterModelAdmin):
    export_resource_class = StudentResource
    import_kind = "students"
    form = StudentChangeForm
    add_form = StudentAddForm
    list_display = ["code_display", "full_name", "guardian_phone", "grade", "branch", "groups_count", "is_active"]
    list_display_links = ["code_display", "full_name"]
    list_filter = [
        ("branch", RelatedDropdownFilter),
        ("grade", ChoicesDropdownFilter),
        ("enrollments__group", AutocompleteSelectFilter),
        ("enrollments__group__teacher", AutocompleteSelectFilter),
        ("enrollments__fee_plan", ChoicesDropdownFilter),
        "is_active",
    ]
    search_fields = ["full_name"]  # shows the search box; matching is get_search_results
    search_help_text = _("Name (any spelling of hamza or taa marbuta), code, or guardian phone.")
    code_search_fields = ("code",)
    phone_search_fields = ("guardians__phone", "phone")
    inlines = [GuardianLinkInline, EnrollmentInline, RecentAttendanceInline]
    # The guardians' WhatsApp history under the form (only for staff who may view messages).
    change_form_after_template = "admin/messaging/student_messages.html"
    # The desk's home: balance and the everyday buttons above the form (student_desk_context).
    change_form_outer_before_template = "admin/core/student_desk.html"
    actions = ["print_cards"]
    # Record payment: unfold's button at the top of the page, beside the desk bar (student_desk.html).
    actions_detail = ["record_payment"]
    readonly_fields = ["created_at"]

    fieldsets = [
        (
            _("Student"),
            {
                "classes": ["tab"],
                "fields": [
                    "code",
                    "full_name",
                    "gender",
                    "phone",
                    "branch",
                    "grade",
                    "school",
                    "photo",
                    "notes",
                    "is_active",
                    "created_at",
                ],
            },
        ),
        (
            _("Add a guardian"),
            {
                "classes": ["tab"],
                "fields": ["add_guardian_phone", "add_guardian_name", "add_guardian_relation", "add_guardian_primary"],
            },
        ),
    ]
    add_fieldsets = [
        (None, {"fields": ["code", "full_name", "gender", "phone", "branch", "grade", "school", "photo", "notes"]}),
        (
            _("Guardians"),
            {
                "fields": [
                    "guardian_name",
                    "guardian_phone",
                    "guardian_relation",
                    "second_guardian_name",
                    "second_guardian_phone",
                ]
            },
        ),
        (_("Enrollment"), {"fields": ["enroll_group", "fee_plan", "custom_fee", "fee_reason"]}),
    ]

    def get_queryset(self, request):
        primary_phone = StudentGuardian.objects.filter(student=OuterRef("pk"), is_primary=True).values(
            "guardian__phone"
        )[:1]
        return (
            super()
            .get_queryset(request)
            .select_related("branch")
            .annotate(
                primary_guardian_phone=Subquery(primary_phone),
                active_groups=related_count(Enrollment, "student", is_active=True),
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        if "enroll_group" in form.base_fields:
            # A fresh field per request: base_fields of the factory's class, not the shared one.
            field = form.base_fields["enroll_group"]
            form.base_fields["enroll_group"] = type(field)(
                label=field.label, queryset=groups_for_user(request.user), required=False
            )
        return form

    def get_changeform_initial_data(self, request):
        """The branch the desk works in: its only one, or the one it chose last time."""
        initial = super().get_changeform_initial_data(request)
        if "branch" not in initial:
            branch = self.branch_for_new_student(request)
            if branch is not None:
                initial["branch"] = branch.pk
        return initial

    LAST_BRANCH_KEY = "student_last_branch"

    def branch_for_new_student(self, request) -> Branch | None:
        branches = scope_by_branch(Branch.objects.filter(is_active=True), request.user, "id").order_by("id")
        ids = list(branches.values_list("id", flat=True)[:50])
        if len(ids) == 1:
            return branches.first()
        remembered = request.session.get(self.LAST_BRANCH_KEY)
        if remembered in ids:
            return branches.get(pk=remembered)
        return None

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # R12: the "register anyway" box appears only once the add form found the same child.
        adminform = context.get("adminform")
        if add and adminform is not None and getattr(adminform.form, "twin", None) is not None:
            adminform.fieldsets = [(_("Possible duplicate"), {"fields": ["register_anyway"]}), *adminform.fieldsets]
        if obj is not None and obj.pk:
            context["student_desk"] = self.student_desk_context(request, obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def student_desk_context(self, request, student) -> dict:
        """What the top of the student page shows: the balance in words (for the office only) and
        the desk's buttons, each only for staff who may use it."""
        from core.admin.cards import student_cards_url
        from core.models import Receipt
        from core.services.payments import student_balance

        user = request.user
        desk = {"balance": None, "card_url": None, "receipt_url": None}
        if EnrollmentInline._sees_money(user):
            desk["balance"] = balance_words(student_balance(student))
        if user.has_perm("core.print_cards"):
            desk["card_url"] = student_cards_url(ids=[student.pk])
        if user.has_perm("core.view_receipt"):
            receipts = scope_by_branch(Receipt.objects.filter(student=student), user)
            last = receipts.order_by("-pk").values_list("pk", flat=True).first()
            if last is not None:
                desk["receipt_url"] = reverse("admin:core_receipt_print", args=[last])
        return desk

    @display(description=_("code"), ordering="code")
    def code_display(self, student):
        return ltr(student.code)

    @display(description=_("guardian phone"))
    def guardian_phone(self, student):
        return ltr(student.primary_guardian_phone)

    @display(description=_("groups"), ordering="active_groups")
    def groups_count(self, student):
        return student.active_groups

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            guardians = [
                GuardianInput(data["guardian_phone"], data.get("guardian_name", ""), data["guardian_relation"], True)
            ]
            if data.get("second_guardian_phone"):
                guardians.append(GuardianInput(data["second_guardian_phone"], data.get("second_guardian_name", "")))
            student = student_register(
                actor=request.user,
                full_name=data["full_name"],
                branch=data["branch"],
                guardians=guardians,
                code=data.get("code", ""),
                phone=data.get("phone", ""),
                gender=data.get("gender", ""),
                grade=data.get("grade", ""),
                school=data.get("school", ""),
                notes=data.get("notes", ""),
                photo=data.get("photo"),
                allow_duplicate=data.get("register_anyway", False),
            )
            if data.get("enroll_group"):
                enrollment_create(
                    actor=request.user,
                    student=student,
                    group=data["enroll_group"],
                    fee_plan=data.get("fee_plan") or FeePlan.NORMAL,
                    custom_fee=data.get("custom_fee"),
                    fee_reason=data.get("fee_reason", ""),
                )
            # The admin's success message and "recent actions" name obj: make it the saved student.
            obj.pk, obj.code, obj.full_name, obj.branch = student.pk, student.code, student.full_name, student.branch
            obj._state.adding = False
            request.session[self.LAST_BRANCH_KEY] = student.branch_id
            return
        changes = {field: data[field] for field in form.changed_data if field in StudentChangeForm.Meta.fields}
        if changes:
            student_update(actor=request.user, student=obj, **changes)
        if data.get("add_guardian_phone"):
            guardian_link(
                actor=request.user,
                student=obj,
                phone=data["add_guardian_phone"],
                full_name=data.get("add_guardian_name", ""),
                relation=data.get("add_guardian_relation") or Guardian.Relation.FATHER,
                is_primary=data.get("add_guardian_primary", False),
            )

    def save_related(self, request, form, formsets, change):
        if not change:
            return
        for formset in formsets:
            formset.save(commit=False)  # read-only inlines: nothing to write, only removals below
            if formset.model is StudentGuardian:
                for link in formset.deleted_objects:
                    guardian_unlink(actor=request.user, student=form.instance, guardian=link.guardian)

    @action(description=_("Print QR cards"), permissions=["print_cards"])
    def print_cards(self, request, queryset):
        from core.admin.cards import student_cards_url

        ids = list(queryset.values_list("pk", flat=True)[:500])
        return HttpResponseRedirect(student_cards_url(ids=ids))

    def has_print_cards_permission(self, request):
        return request.user.has_perm("core.print_cards")

    def has_record_payment_permission(self, request, object_id=None):
        return request.user.has_perm("core.record_payment")

    @action(description=_("Record payment"), icon="point_of_sale", permissions=["record_payment"])
    def record_payment(self, request, object_id):
        """The cashier page for this student (core/admin/money/cashier.py): owed per group, take money, print."""
        return HttpResponseRedirect(reverse("admin:core_receipt_record", args=[object_id]))

    def has_delete_permission(self, request, obj=None):
        # Students carry money and attendance history: they are deactivated, not deleted.
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(Guardian)
class GuardianAdmin(CenterExportMixin, FoldedNameSearchMixin, AuditedModelAdmin):
    branch_path = "students__branch"
    list_display = ["full_name", "phone_display", "relation", "language", "children"]
    list_filter = ["relation", "language"]
    search_fields = ["full_name", "phone"]
    name_search_field = "full_name"
    phone_search_fields = ("phone",)
    fields = ["full_name", "relation", "phone", "language", "message_channel", "message_opt_outs"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(children_count=related_count(StudentGuardian, "guardian"))

    @display(description=_("phone"), ordering="phone")
    def phone_display(self, guardian):
        return ltr(guardian.phone)

    @display(description=_("children"), ordering="children_count")
    def children(self, guardian):
        return guardian.children_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        from core.admin.forms import PhoneField

        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["phone"] = PhoneField(label=_("Phone"))
        return form


@admin.register(Teacher)
class TeacherAdmin(CenterExportMixin, FoldedNameSearchMixin, AuditedModelAdmin):
    import_kind = "teachers"
    branch_path = None
    pay_term_fields = ("default_pay_scheme", "default_pay_rate")
    list_display = ["full_name", "phone_display", "subject", "default_pay_scheme", "groups_count", "user", "is_active"]
    list_filter = ["is_active", "default_pay_scheme", "subject"]
    search_fields = ["full_name"]
    phone_search_fields = ("phone",)
    autocomplete_fields = ["user"]
    fields = ["full_name", "phone", "subject", "user", "default_pay_scheme", "default_pay_rate", "is_active"]
    actions = ["print_cards", "revoke_cards"]

    def get_queryset(self, request):
        # Teachers belong to the center, not a branch: branch staff see the teachers of their
        # branches' groups (and new teachers without a group), in the list, pickers and filters.
        from core.admin.filters import teachers_of_branches_q

        queryset = super().get_queryset(request)
        limit = teachers_of_branches_q(branch_ids_visible(request.user))
        if limit is not None:
            queryset = queryset.filter(limit)
        return queryset.select_related("user").annotate(groups_total=related_count(Group, "teacher", is_active=True))

    def get_form(self, request, obj=None, change=False, **kwargs):
        from core.admin.forms import PhoneField

        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["phone"] = PhoneField(label=_("Phone"), required=False)
        return form

    @display(description=_("phone"))
    def phone_display(self, teacher):
        return ltr(teacher.phone)

    @display(description=_("groups"), ordering="groups_total")
    def groups_count(self, teacher):
        return teacher.groups_total

    @action(description=_("Print teacher cards"), permissions=["print_teacher_cards"])
    def print_cards(self, request, queryset):
        from core.admin.cards import teacher_cards_url

        return HttpResponseRedirect(teacher_cards_url(ids=list(queryset.values_list("pk", flat=True))))

    def has_print_teacher_cards_permission(self, request):
        return request.user.has_perm("core.print_teacher_cards")

    @action(description=_("Revoke printed teacher cards"), permissions=["print_teacher_cards"])
    def revoke_cards(self, request, queryset):
        from core.services.teachers import teacher_card_revoke

        for teacher in queryset:
            teacher_card_revoke(actor=request.user, teacher=teacher)
        count = queryset.count()
        messages.success(
            request,
            ngettext(
                "The cards of %(count)d teacher were revoked.", "The cards of %(count)d teachers were revoked.", count
            )
            % {"count": count},
        )
