"""``{% student_messages student %}``: the WhatsApp history of a student's guardians, for the
student page (include ``admin/messaging/student_messages.html`` where ``original`` is the student)."""

from django import template
from django.urls import reverse

from core.models import StudentGuardian
from core.models.messaging import STATUS_LABELS, template_title
from core.selectors.messaging import messages_for_student

register = template.Library()


@register.inclusion_tag("admin/messaging/student_messages_list.html", takes_context=True)
def student_messages(context, student) -> dict:
    request = context.get("request")
    can_view = bool(student and request and request.user.has_perm("core.view_message"))
    if not can_view:
        return {"can_view": False}
    rows = [
        {"message": message, "template": template_title(message.template_key), "variant": STATUS_LABELS[message.status]}
        for message in messages_for_student(student)
    ]
    guardian_ids = list(StudentGuardian.objects.filter(student=student).values_list("guardian_id", flat=True))
    outbox_url = ""
    if guardian_ids:
        outbox_url = reverse("admin:core_message_changelist") + "?guardian__id__in=" + ",".join(map(str, guardian_ids))
    return {"can_view": True, "rows": rows, "outbox_url": outbox_url}
