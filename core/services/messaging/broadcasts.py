"""Broadcasts: one message per guardian of an audience (a group, a teacher's groups, or the
guardians of students who owe), siblings sharing one message.
"""

import dataclasses
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.models import (
    AuditLog,
    Broadcast,
    CenterSettings,
    Enrollment,
    Guardian,
    MessageTemplate,
    Student,
    StudentGuardian,
    TemplateKey,
)
from core.models.messaging import placeholders_allowed, template_text_check, template_text_render
from core.services.audit import audit_record
from core.services.messaging.queueing import _send_soon
from core.services.messaging.rendering import _center_name, _message_create, _Source


@dataclasses.dataclass(frozen=True)
class Audience:
    """Who a broadcast reaches: the guardians of the students of these active enrollments.

    The money issue adds debtors by building an Audience from the enrollments that owe.
    """

    label: str
    enrollments: QuerySet

    @classmethod
    def of(cls, *, group=None, teacher=None) -> "Audience":
        enrollments = Enrollment.objects.filter(is_active=True, student__is_active=True, group__is_active=True)
        if group is not None:
            return cls(label=_("Group %(group)s") % {"group": group}, enrollments=enrollments.filter(group=group))
        if teacher is not None:
            return cls(
                label=_("Groups of %(teacher)s") % {"teacher": teacher},
                enrollments=enrollments.filter(group__teacher=teacher),
            )
        raise ValidationError(_("Choose a group or a teacher."))

    @classmethod
    def debtors(cls, *, branch_ids: list[int] | None = None) -> "Audience":
        """Students who owe on an active enrollment (R10 "debtors"), in these branches (None: all)."""
        from core.selectors.money import enrollments_with_balance

        active = Enrollment.objects.filter(is_active=True, student__is_active=True, group__is_active=True)
        if branch_ids is not None:
            active = active.filter(group__branch__in=branch_ids)
        owing = enrollments_with_balance(active).filter(owed__gt=0).values("pk")
        return cls(label=_("Guardians of students who owe"), enrollments=Enrollment.objects.filter(pk__in=owing))


@dataclasses.dataclass
class Recipient:
    guardian: Guardian
    students: list[Student]
    group_names: list[str]

    def context(self) -> dict:
        separator = ", " if self.guardian.language == "en" else "، "
        return {
            "student_name": separator.join(student.full_name for student in self.students),
            "group_name": separator.join(self.group_names),
        }


def broadcast_recipients(audience: Audience) -> list[Recipient]:
    """One entry per guardian (siblings share one message), in a stable order."""
    rows = audience.enrollments.order_by("student_id", "group__name").values_list("student_id", "group__name")
    groups_of: dict[int, list[str]] = defaultdict(list)
    for student_id, group_name in rows:
        if group_name not in groups_of[student_id]:
            groups_of[student_id].append(group_name)
    links = (
        StudentGuardian.objects.filter(student_id__in=list(groups_of))
        .select_related("guardian", "student")
        .order_by("guardian_id", "student_id")
    )
    recipients: dict[int, Recipient] = {}
    for link in links:
        recipient = recipients.setdefault(link.guardian_id, Recipient(link.guardian, [], []))
        recipient.students.append(link.student)
        for name in groups_of[link.student_id]:
            if name not in recipient.group_names:
                recipient.group_names.append(name)
    return list(recipients.values())


def _broadcast_source(template: MessageTemplate | None, text: str) -> _Source:
    if template is not None:
        if not template.is_active:
            raise ValidationError(_("This template is not active."))
        if set(placeholders_allowed(template.key)) - set(placeholders_allowed(TemplateKey.BROADCAST)):
            raise ValidationError(_("This template needs details a broadcast does not have; choose another."))
        return _Source.of(template)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Choose a template or write the text.")})
    try:
        template_text_check(text, TemplateKey.BROADCAST)
    except ValidationError as exc:
        raise ValidationError({"text": exc.messages}) from exc
    return _Source(TemplateKey.BROADCAST, text, text, False, TemplateKey.BROADCAST)


@dataclasses.dataclass(frozen=True)
class BroadcastPreview:
    recipients: int
    first_phone: str
    first_body: str


def broadcast_preview(
    *, audience: Audience, template: MessageTemplate | None = None, text: str = ""
) -> BroadcastPreview:
    """How many guardians a broadcast reaches and the first message exactly as it will read."""
    source = _broadcast_source(template, text)
    recipients = broadcast_recipients(audience)
    if not recipients:
        return BroadcastPreview(0, "", "")
    first = recipients[0]
    language = first.guardian.language or "ar"
    center = CenterSettings.load()
    values = {
        "center_name": _center_name(center, language),
        "guardian_name": first.guardian.full_name or "",
        **first.context(),
    }
    return BroadcastPreview(
        len(recipients), first.guardian.phone, template_text_render(source.text_for(language), values)
    )


def broadcast_send(*, actor, audience: Audience, template: MessageTemplate | None = None, text: str = "") -> Broadcast:
    """Queue one message per guardian of the audience (event ``broadcast:<id>``), in one transaction."""
    if actor is not None and not actor.has_perm("core.broadcast_message"):
        raise PermissionDenied(_("You may not send broadcasts."))
    source = _broadcast_source(template, text)
    recipients = broadcast_recipients(audience)
    if not recipients:
        raise ValidationError(_("Nobody to send to: the chosen students have no guardians."))
    with transaction.atomic():
        center = CenterSettings.load()
        broadcast = Broadcast.objects.create(
            created_by=actor if getattr(actor, "pk", None) else None,
            audience=str(audience.label)[:200],
            template=template,
            text=source.text_ar,
        )
        queued = 0
        for recipient in recipients:
            _message, created = _message_create(
                event=f"broadcast:{broadcast.pk}",
                guardian=recipient.guardian,
                source=source,
                context=recipient.context(),
                center=center,
                student=recipient.students[0] if len(recipient.students) == 1 else None,
                broadcast=broadcast,
            )
            queued += created
        broadcast.recipients = queued
        broadcast.save(update_fields=["recipients"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=broadcast,
            changes={"recipients": [None, queued], "audience": [None, broadcast.audience]},
        )
        transaction.on_commit(_send_soon, robust=True)
    return broadcast
