"""A message's text: templates (cached per process for the door), placeholders, the guardian's
language and the student's gender, and the idempotency key that makes an event one message.

``_message_build`` renders one unsaved message (None when the guardian opted out of an optional
kind or the stored text is broken); ``_message_create`` inserts it so a repeat of the event finds
the first row.
"""

import dataclasses
import hashlib
import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import pgettext

from core.models import Broadcast, CenterSettings, Gender, Guardian, Message, MessageTemplate, Student
from core.models.messaging import placeholder_value, placeholders_allowed, template_text_render
from core.services.channels import message_channel
from core.services.messaging.rules import _initial_state

logger = logging.getLogger(__name__)


class MessageContextError(ValueError):
    """A caller left out a placeholder its template kind declares: a bug in the caller."""


@dataclasses.dataclass(frozen=True)
class _Source:
    """What a message is rendered from: a stored template or a broadcast's free text."""

    key: str
    text_ar: str
    text_en: str
    is_mandatory: bool
    opt_out_kind: str

    @classmethod
    def of(cls, template: MessageTemplate) -> "_Source":
        return cls(template.key, template.text_ar, template.text_en, template.is_mandatory, template.opt_out_kind)

    def text_for(self, language: str) -> str:
        return self.text_en if language == "en" and self.text_en.strip() else self.text_ar


def idempotency_key(event: str, guardian_id: int | None) -> str:
    return hashlib.sha256(f"{event}\x00{guardian_id}".encode()).hexdigest()


def _center_name(center: CenterSettings, language: str) -> str:
    if language == "en" and center.center_name_en:
        return center.center_name_en
    return center.center_name_ar


def gender_words(gender: str, language: str) -> dict[str, str]:
    """The words of a message that agree with the student's gender, in the guardian's language."""
    with translation.override(language):
        if gender == Gender.FEMALE:
            return {"child": pgettext("message", "your daughter"), "attended": pgettext("message, she", "attended")}
        return {"child": pgettext("message", "your son"), "attended": pgettext("message, he", "attended")}


def _message_build(
    *,
    event: str,
    guardian: Guardian,
    source: _Source,
    context: dict,
    center: CenterSettings,
    student: Student | None = None,
    broadcast: Broadcast | None = None,
) -> Message | None:
    """Render one message, unsaved; None when the guardian opted out or the stored text is broken."""
    if not source.is_mandatory and source.opt_out_kind in (guardian.message_opt_outs or []):
        return None
    language = guardian.language or "ar"
    values = {"center_name": _center_name(center, language), "guardian_name": guardian.full_name or ""}
    if student is not None:
        values["student_name"] = student.full_name
    values.update(gender_words(getattr(student, "gender", Gender.MALE), language))
    values.update(context)
    missing = sorted(set(placeholders_allowed(source.key)) - values.keys())
    if missing:
        raise MessageContextError(f"message {source.key!r} needs context {missing}")
    try:
        body = template_text_render(source.text_for(language), values)
    except ValidationError:
        # Saved texts are checked; this only happens when a text was changed behind the admin.
        logger.error("message template %s has a broken text; nothing queued for %s", source.key, event)
        return None
    return Message(
        guardian=guardian,
        student=student,
        broadcast=broadcast,
        phone=guardian.phone,
        template_key=source.key,
        language=language,
        body=body,
        is_mandatory=source.is_mandatory,
        event=event[:200],
        idempotency_key=idempotency_key(event, guardian.pk),
        channel=message_channel(guardian),
        # As they read in the text: an approved Cloud API template gets these as its parameters.
        params={name: placeholder_value(values[name]) for name in placeholders_allowed(source.key) if name in values},
        **_initial_state(mandatory=source.is_mandatory, center=center, now=timezone.now()),
    )


def _message_create(**build) -> tuple[Message | None, bool]:
    """Render (``_message_build``'s arguments) and insert one message: (message, created).
    (None, False) when the guardian opted out or the stored text is broken. A repeat of the event
    finds the first row through the unique key (no read before the insert: one INSERT)."""
    message = _message_build(**build)
    if message is None:
        return None, False
    try:
        # A savepoint, so a repeat (or two processes queueing one event at once) leaves the
        # caller's transaction usable.
        with transaction.atomic():
            message.save(force_insert=True)
            return message, True
    except IntegrityError:
        return Message.objects.get(idempotency_key=message.idempotency_key), False


@dataclasses.dataclass(frozen=True)
class _SourceCache:
    stamp: tuple | None = None
    sources: dict[str, "_Source"] = dataclasses.field(default_factory=dict)
    known: frozenset[str] = frozenset()


class _Templates:
    # This process's copy of the templates, for the door (see message_sources); replaced whole,
    # so a thread of the same worker never sees one stamp with another's texts.
    cached = _SourceCache()


def message_sources(keys: Iterable[str], *, stamp: tuple | None = None) -> dict[str, _Source]:
    """The active templates among ``keys`` (for ``messages_queue_to_guardians``).

    ``stamp`` is the templates' (latest ``updated_at``, count) that the caller read in its own
    query (the door's read does): while it is unchanged the templates come from this process's
    memory, with no query; any edit or deletion in the admin changes it. Without a stamp: one query.
    """
    keys = set(keys)
    cached = _Templates.cached
    if stamp is not None and stamp == cached.stamp:
        sources, known = cached.sources, cached.known
    else:
        templates = MessageTemplate.objects.all() if stamp is not None else MessageTemplate.objects.filter(key__in=keys)
        templates = list(templates)
        sources = {template.key: _Source.of(template) for template in templates if template.is_active}
        known = frozenset(template.key for template in templates)
        if stamp is not None:
            _Templates.cached = _SourceCache(stamp=stamp, sources=sources, known=known)
    for key in sorted(keys - known):
        logger.error("message template %s does not exist; nothing is queued with it", key)
    return {key: sources[key] for key in keys if key in sources}
