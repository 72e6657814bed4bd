"""Staff click-to-chat (issue 19): ``wa.me`` links with the message already written from a
template, for centers that send by hand from their own phone (the defaulters report, the student
page). Nothing is queued or recorded: staff press send in WhatsApp themselves."""

import re
from decimal import Decimal
from urllib.parse import quote

from core.models import CenterSettings, Gender, MessageTemplate, TemplateKey
from core.models.messaging import placeholders_used, template_text_render


def wa_me_link(phone: str, text: str = "") -> str:
    """``https://wa.me/201001234567?text=…`` (digits only; the text URL-encoded, UTF-8)."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    return f"https://wa.me/{digits}" + (f"?text={quote(text, safe='')}" if text else "")


class ChatTexts:
    """One template rendered for many rows: the template and the center are read once (two
    queries for a whole report page). An inactive or missing template gives empty texts."""

    def __init__(self, key: str = TemplateKey.PAYMENT_REMINDER):
        self.template = MessageTemplate.objects.filter(key=key, is_active=True).first()
        self.center = CenterSettings.load()

    def text(self, *, student_name: str, guardian_name: str = "", language: str = "ar", gender: str = "", **context):
        if self.template is None:
            return ""
        from core.services.messaging import gender_words

        text = self.template.text_for(language)
        values = {
            "center_name": self.center.center_name_en
            if language == "en" and self.center.center_name_en
            else self.center.center_name_ar,
            "guardian_name": guardian_name,
            "student_name": student_name,
            **gender_words(gender or Gender.MALE, language),
            **context,
        }
        # A placeholder this page has no value for reads as nothing rather than failing.
        values.update({name: "" for name in placeholders_used(text) if name not in values})
        return template_text_render(text, values)

    def reminder_link(self, *, phone: str, student_name: str, owed: Decimal, language: str = "ar", **extra) -> str:
        """The payment reminder, pre-filled with what the student owes."""
        from core.selectors.money import balance_words

        details = balance_words(-owed, language, currency=True) if owed else ""
        text = self.text(student_name=student_name, language=language, amount=owed, details=details, **extra)
        return wa_me_link(phone, text)
