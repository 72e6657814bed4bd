"""The outbox's forms: a broadcast to chosen guardians and the owner's test send."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.widgets import (
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from core.access.scoping import branch_ids_visible, scope_by_branch
from core.models import Group, MessageTemplate, Teacher
from core.models.messaging import (
    SYSTEM_KEYS,
)
from core.normalize import phone_e164
from core.services import messaging as messaging_service


class BroadcastTextForm(forms.Form):
    """What a broadcast says: a saved template or a text written here, exactly one of them."""

    template = forms.ModelChoiceField(
        label=gettext_lazy("template"),
        queryset=MessageTemplate.objects.none(),
        required=False,
        widget=UnfoldAdminSelectWidget,
        help_text=gettext_lazy("A saved broadcast template, or leave empty and write the text below."),
    )
    text = forms.CharField(
        label=gettext_lazy("text"),
        required=False,
        max_length=2000,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 5, "dir": "auto"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MessageTemplate.objects.filter(is_active=True).exclude(key__in=SYSTEM_KEYS)

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("template")) == bool((cleaned.get("text") or "").strip()):
            self.add_error("text", _("Choose a template or write the text, not both."))
        return cleaned


def broadcast_queued_text(broadcast) -> str:
    return ngettext(
        "Broadcast queued for %(count)d guardian.",
        "Broadcast queued for %(count)d guardians.",
        broadcast.recipients,
    ) % {"count": broadcast.recipients}


class BroadcastForm(BroadcastTextForm):
    AUDIENCES = [
        ("group", gettext_lazy("A group")),
        ("teacher", gettext_lazy("All groups of a teacher")),
        ("debtors", gettext_lazy("Students who owe")),
    ]

    audience_kind = forms.ChoiceField(
        label=gettext_lazy("Send to the guardians of"),
        choices=AUDIENCES,
        initial="group",
        widget=UnfoldAdminRadioSelectWidget,
    )
    group = forms.ModelChoiceField(
        label=gettext_lazy("group"), queryset=Group.objects.none(), required=False, widget=UnfoldAdminSelectWidget
    )
    teacher = forms.ModelChoiceField(
        label=gettext_lazy("teacher"), queryset=Teacher.objects.none(), required=False, widget=UnfoldAdminSelectWidget
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["group"].queryset = scope_by_branch(Group.objects.filter(is_active=True), user, "branch")
        teachers = Teacher.objects.filter(is_active=True)
        branch_ids = branch_ids_visible(user)
        if branch_ids is not None:
            teachers = teachers.filter(groups__branch__in=branch_ids, groups__is_active=True).distinct()
        self.fields["teacher"].queryset = teachers

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("audience_kind")
        if kind == "group" and not cleaned.get("group"):
            self.add_error("group", _("Choose a group."))
        if kind == "teacher" and not cleaned.get("teacher"):
            self.add_error("teacher", _("Choose a teacher."))
        return cleaned

    def audience(self) -> messaging_service.Audience:
        if self.cleaned_data["audience_kind"] == "debtors":
            return messaging_service.Audience.debtors(branch_ids=branch_ids_visible(self.user))
        if self.cleaned_data["audience_kind"] == "group":
            return messaging_service.Audience.of(group=self.cleaned_data["group"])
        return messaging_service.Audience.of(teacher=self.cleaned_data["teacher"])


class TestSendForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("phone"),
        max_length=32,
        widget=UnfoldAdminTextInputWidget(attrs={"dir": "ltr", "inputmode": "tel"}),
    )
    text = forms.CharField(
        label=gettext_lazy("text"),
        max_length=1000,
        initial=gettext_lazy("A test message from the center's system."),
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 3, "dir": "auto"}),
    )

    def clean_phone(self):
        return phone_e164(self.cleaned_data["phone"])


# --- Templates -------------------------------------------------------------------------------
