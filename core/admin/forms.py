"""Admin forms that validate with the same functions the services use."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminSingleDateWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanWidget,
)

from core.access.scoping import scope_by_branch
from core.models import FeePlan, Group, Guardian, Student
from core.normalize import phone_e164
from core.services.enrollments import fee_plan_clean
from core.services.students import student_code_clean, student_twin_find


class PhoneField(forms.CharField):
    """A phone typed in any common form, cleaned to E.164 (shown left to right)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("widget", UnfoldAdminTextInputWidget(attrs={"dir": "ltr", "inputmode": "tel"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return phone_e164(value) if value else ""


class GroupChoiceField(forms.ModelChoiceField):
    """A group picker that names each group's branch ("M3A · Maths 3 — Nasr City"): two branches
    may run groups with look-alike names, and the desk must see which one it enrolls into."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", UnfoldAdminSelectWidget())
        super().__init__(**kwargs)

    def label_from_instance(self, group):
        return f"{group} — {group.branch}"


def groups_for_user(user):
    """The active groups of the branches this user works in, with their branch for the label."""
    groups = Group.objects.filter(is_active=True).select_related("branch").order_by("branch_id", "code")
    return scope_by_branch(groups, user, "branch")


class FeePlanFormMixin:
    """Checks fee_plan / custom_fee / fee_reason together, errors on the right field."""

    def clean_fee_plan_fields(self, cleaned):
        try:
            fee_plan_clean(
                cleaned.get("fee_plan") or FeePlan.NORMAL, cleaned.get("custom_fee"), cleaned.get("fee_reason", "")
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field, messages)


class StudentAddForm(FeePlanFormMixin, forms.ModelForm):
    guardian_name = forms.CharField(
        label=_("Guardian name"), max_length=150, required=False, widget=UnfoldAdminTextInputWidget()
    )
    guardian_phone = PhoneField(label=_("Guardian phone"))
    guardian_relation = forms.ChoiceField(
        label=_("Relation"), choices=Guardian.Relation.choices, initial=Guardian.Relation.FATHER
    )
    second_guardian_name = forms.CharField(
        label=_("Second guardian name"), max_length=150, required=False, widget=UnfoldAdminTextInputWidget()
    )
    second_guardian_phone = PhoneField(label=_("Second guardian phone"), required=False)
    # StudentAdmin.get_form narrows the choices to the user's branches.
    enroll_group = GroupChoiceField(label=_("Enroll in group"), queryset=Group.objects.none(), required=False)
    fee_plan = forms.ChoiceField(label=_("Fee plan"), choices=FeePlan.choices, initial=FeePlan.NORMAL, required=False)
    custom_fee = forms.DecimalField(
        label=_("Custom fee (EGP)"), max_digits=12, decimal_places=2, required=False, min_value=0
    )
    fee_reason = forms.CharField(
        label=_("Fee plan reason"), max_length=255, required=False, widget=UnfoldAdminTextInputWidget()
    )
    phone = PhoneField(label=_("Student phone"), required=False)
    # Shown (by StudentAdmin) only once the form found a student with this name and guardian phone.
    register_anyway = forms.BooleanField(
        label=_("This is a different child with the same name; register anyway"),
        required=False,
        widget=UnfoldBooleanWidget(),
    )

    class Meta:
        model = Student
        fields = ["code", "full_name", "phone", "gender", "branch", "grade", "school", "notes", "photo"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        self.fields["code"].help_text = _("Leave empty to take the next free code.")
        self.fields["gender"].required = False  # empty: male, the model's default
        self.fields["code"].widget.attrs["dir"] = "ltr"
        for name in ("fee_plan", "guardian_relation"):
            self.fields[name].widget = UnfoldAdminSelectWidget(choices=self.fields[name].choices)
        self.fields["custom_fee"].widget = UnfoldAdminDecimalFieldWidget()

    def clean_code(self):
        code = self.cleaned_data.get("code", "")
        if not code:
            return ""
        code = student_code_clean(code)
        if Student.objects.filter(code=code).exists():
            raise ValidationError(_("The code %(code)s is already used by another student.") % {"code": code})
        return code

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("enroll_group"):
            self.clean_fee_plan_fields(cleaned)
        self.clean_twin(cleaned)
        return cleaned

    def clean_twin(self, cleaned):
        """R12: the same folded name and a guardian phone of an existing student: show him and ask."""
        self.twin = None
        if not cleaned.get("full_name") or not cleaned.get("guardian_phone"):
            return
        self.twin = student_twin_find(
            full_name=cleaned["full_name"],
            guardian_phones=[cleaned["guardian_phone"], cleaned.get("second_guardian_phone", "")],
        )
        if self.twin is not None and not cleaned.get("register_anyway"):
            message = format_html(
                _(
                    "This child may already be registered: {link} has the same name and guardian phone. "
                    "Open his page instead, or tick “{confirm}” and save again."
                ),
                link=format_html(
                    '<a href="{}" class="underline font-semibold">{} (<bdi dir="ltr">{}</bdi>)</a>',
                    reverse("admin:core_student_change", args=[self.twin.pk]),
                    self.twin.full_name,
                    self.twin.code,
                ),
                confirm=self.fields["register_anyway"].label,
            )
            self.add_error(None, ValidationError(message, code="duplicate"))

    def _post_clean(self):
        # The service builds and validates the student (search key, code); skip the model pass.
        pass


class StudentChangeForm(forms.ModelForm):
    phone = PhoneField(label=_("Student phone"), required=False)
    add_guardian_phone = PhoneField(label=_("Add a guardian: phone"), required=False)
    add_guardian_name = forms.CharField(
        label=_("Add a guardian: name"), max_length=150, required=False, widget=UnfoldAdminTextInputWidget()
    )
    add_guardian_relation = forms.ChoiceField(label=_("Relation"), choices=Guardian.Relation.choices, required=False)
    add_guardian_primary = forms.BooleanField(label=_("Make primary"), required=False, widget=UnfoldBooleanWidget())

    class Meta:
        model = Student
        fields = ["code", "full_name", "phone", "gender", "branch", "grade", "school", "notes", "photo", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A view-only user gets the form without editable fields.
        if "code" in self.fields:
            self.fields["code"].widget.attrs["dir"] = "ltr"
        if "gender" in self.fields:
            self.fields["gender"].required = False  # a form without it keeps the student's gender
        if "add_guardian_relation" in self.fields:
            self.fields["add_guardian_relation"].widget = UnfoldAdminSelectWidget(choices=Guardian.Relation.choices)

    def clean_gender(self):
        return self.cleaned_data.get("gender") or self.instance.gender

    def clean_code(self):
        code = student_code_clean(self.cleaned_data["code"])
        if Student.objects.filter(code=code).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("The code %(code)s is already used by another student.") % {"code": code})
        return code


class EnrollmentAddForm(FeePlanFormMixin, forms.ModelForm):
    class Meta:
        from core.models import Enrollment

        model = Enrollment
        fields = ["student", "group", "fee_plan", "custom_fee", "fee_reason", "start_date"]

    def clean(self):
        cleaned = super().clean()
        self.clean_fee_plan_fields(cleaned)
        student, group = cleaned.get("student"), cleaned.get("group")
        if student and group and group.enrollments.filter(student=student, is_active=True).exists():
            self.add_error(
                "group",
                _("%(student)s is already enrolled in %(group)s.")
                % {"student": student.full_name, "group": group.code},
            )
        elif group and group.enrollments.filter(is_active=True).count() >= group.capacity:
            self.add_error(
                "group",
                _("The group %(group)s is full (%(capacity)s students).")
                % {"group": group.code, "capacity": group.capacity},
            )
        return cleaned

    def _post_clean(self):
        pass  # enrollment_create validates and saves


class EnrollmentChangeForm(FeePlanFormMixin, forms.ModelForm):
    class Meta:
        from core.models import Enrollment

        model = Enrollment
        fields = ["fee_plan", "custom_fee", "fee_reason"]

    def clean(self):
        cleaned = super().clean()
        self.clean_fee_plan_fields(cleaned)
        return cleaned

    def _post_clean(self):
        pass  # enrollment_change_plan validates and saves


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, widget=UnfoldAdminTextInputWidget())


class EndEnrollmentForm(forms.Form):
    end_date = forms.DateField(
        label=_("End date"), required=False, help_text=_("Empty: today."), widget=UnfoldAdminSingleDateWidget()
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False, widget=UnfoldAdminTextInputWidget())


class TransferForm(forms.Form):
    to_group = GroupChoiceField(label=_("To group"), queryset=Group.objects.none())
    on_date = forms.DateField(
        label=_("Transfer date"), required=False, help_text=_("Empty: today."), widget=UnfoldAdminSingleDateWidget()
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False, widget=UnfoldAdminTextInputWidget())

    @classmethod
    def for_user(cls, user) -> type["TransferForm"]:
        """The form offering only the groups of the user's branches."""
        queryset = groups_for_user(user)

        class ScopedTransferForm(cls):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.fields["to_group"].queryset = queryset

        return ScopedTransferForm
