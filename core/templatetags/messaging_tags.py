"""``{% student_messages student %}``: the WhatsApp history of a student's guardians, for the
student page (include ``admin/messaging/student_messages.html`` where ``original`` is the student)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.models import Student, StudentGuardian
from core.models.messaging import STATUS_LABELS, template_title
from core.selectors.channels import message_delivery
from core.selectors.click_to_chat import ChatTexts, wa_me_link
from core.selectors.messaging import messages_for_student
from core.selectors.money import students_with_balance

DELIVERY_LABELS = {"delivered": _("Delivered"), "read": _("Read")}

register = template.Library()


@register.inclusion_tag("admin/messaging/student_messages_list.html", takes_context=True)
def student_messages(context, student) -> dict:
    request = context.get("request")
    can_view = bool(student and request and request.user.has_perm("core.view_message"))
    if not can_view:
        return {"can_view": False}
    rows = []
    for message in messages_for_student(student):
        delivery, delivery_at = message_delivery(message)
        rows.append(
            {
                "message": message,
                "template": template_title(message.template_key),
                "variant": STATUS_LABELS[message.status],
                # What the provider's receipts said (delivered, read), beside the outbox status.
                "delivery": DELIVERY_LABELS.get(delivery, ""),
                "delivery_at": delivery_at if delivery in DELIVERY_LABELS else None,
            }
        )
    links = list(StudentGuardian.objects.filter(student=student).select_related("guardian"))
    outbox_url = ""
    if links:
        outbox_url = (
            reverse("admin:core_message_changelist")
            + "?guardian__id__in="
            + ",".join(str(link.guardian_id) for link in links)
        )
    return {"can_view": True, "rows": rows, "outbox_url": outbox_url, "chats": _chat_links(student, links)}


def _chat_links(student, links) -> list[dict]:
    """Click-to-chat per guardian: the payment reminder written out when the student owes."""
    owed = students_with_balance(Student.objects.filter(pk=student.pk)).values_list("owed", flat=True).first()
    chat = ChatTexts()
    chats = []
    for link in links:
        guardian = link.guardian
        if owed:
            url = chat.reminder_link(
                phone=guardian.phone,
                student_name=student.full_name,
                owed=owed,
                language=guardian.language or "ar",
                guardian_name=guardian.full_name,
                gender=student.gender,
            )
        else:
            url = wa_me_link(guardian.phone)
        chats.append({"guardian": guardian, "url": url, "prefilled": bool(owed)})
    return chats
