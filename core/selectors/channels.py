"""Read queries about the sending channels: their circuit breakers (for the dashboard card and
/health/) and a message's delivery as the parent sees it."""

import dataclasses
import datetime

from django.utils import timezone

from core.models import Channel, ChannelBreaker, Message
from core.providers.sms import sms_configured


@dataclasses.dataclass(frozen=True)
class ChannelState:
    channel: str
    label: str
    state: str  # closed, open or half_open
    state_label: str
    failures: int
    paused_since: datetime.datetime | None
    retry_at: datetime.datetime | None
    last_error: str
    configured: bool

    @property
    def working(self) -> bool:
        return self.state == ChannelBreaker.State.CLOSED


def channel_states() -> list[ChannelState]:
    """Every channel with its breaker (a channel with no row yet works), in one query."""
    rows = {row.channel: row for row in ChannelBreaker.objects.all()}
    states = []
    for channel in Channel:
        row = rows.get(channel.value)
        state = str(row.state if row else ChannelBreaker.State.CLOSED.value)
        states.append(
            ChannelState(
                channel=channel.value,
                label=str(channel.label),
                state=state,
                state_label=str(ChannelBreaker.State(state).label),
                failures=row.failures if row else 0,
                paused_since=row.opened_at if row and state != ChannelBreaker.State.CLOSED else None,
                retry_at=row.retry_at if row and state != ChannelBreaker.State.CLOSED else None,
                last_error=row.last_error if row else "",
                configured=True if channel == Channel.WHATSAPP else sms_configured(),
            )
        )
    return states


# What a message's receipts say, most advanced first.
def message_delivery(message: Message) -> tuple[str, datetime.datetime | None]:
    """(sent / delivered / read / failed / the outbox status, when) for the outbox and student page."""
    if message.read_at:
        return "read", message.read_at
    if message.delivered_at:
        return "delivered", message.delivered_at
    if message.status == Message.Status.FAILED:
        return "failed", message.failed_at
    if message.status == Message.Status.SENT:
        return "sent", message.sent_at
    return message.status, None


def seconds_until(moment: datetime.datetime | None) -> int | None:
    return None if moment is None else max(0, int((moment - timezone.now()).total_seconds()))
