"""The one way the door tells a student's guardians something (arrived, late, refused, absent)."""

from collections.abc import Iterable

from core.models import CenterSettings, Guardian, Student, StudentGuardian
from core.services.messaging import message_sources, messages_queue_to_guardians


def notify_guardians(
    *,
    student: Student,
    event: str,
    template: str,
    context: dict,
    center: CenterSettings | None = None,
    guardians: Iterable[Guardian] | None = None,
    template_stamp: tuple | None = None,
) -> int:
    """Queue one template to each of the student's guardians in one INSERT (idempotent per event);
    how many messages were queued.

    The door passes what its one read holds (``guardians``, ``center`` and the templates'
    ``template_stamp``) and this costs only the INSERT; other callers leave them out and they
    are read here."""
    if guardians is None:
        guardians = [
            link.guardian for link in StudentGuardian.objects.filter(student=student).select_related("guardian")
        ]
    guardians = list(guardians)
    if not guardians:
        return 0
    return messages_queue_to_guardians(
        event=event,
        guardians=guardians,
        source=message_sources([template], stamp=template_stamp).get(template),
        context={"student_name": student.full_name, **context},
        center=center or CenterSettings.load(),
        student=student,
    )
