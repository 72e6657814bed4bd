"""Read queries about messages: the outbox counts, a student's history, the monthly cost report."""

import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.models import Channel, Message, Student, StudentGuardian

STUDENT_HISTORY_LIMIT = 50


def message_counts_by_status(queryset: QuerySet | None = None) -> dict[str, int]:
    """{status: count} for every status (zeros included), in the order of Message.Status."""
    queryset = Message.objects.all() if queryset is None else queryset
    found = dict(queryset.order_by().values_list("status").annotate(total=Count("id")))
    return {status: found.get(status, 0) for status in Message.Status.values}


def messages_in_branches(queryset: QuerySet, branch_ids) -> QuerySet:
    """Messages about the students of these branches (None: all), broadcasts to their guardians
    included. A subquery, not a join: a guardian with two children must not count twice."""
    if branch_ids is None:
        return queryset
    guardians = StudentGuardian.objects.filter(student__branch__in=branch_ids).values("guardian_id")
    return queryset.filter(Q(student__branch__in=branch_ids) | Q(student__isnull=True, guardian_id__in=guardians))


def messages_for_student(student: Student, *, limit: int = STUDENT_HISTORY_LIMIT) -> QuerySet:
    """Messages about this student, and broadcasts to the student's guardians, newest first."""
    guardian_ids = StudentGuardian.objects.filter(student=student).values("guardian_id")
    return (
        Message.objects.filter(Q(student=student) | Q(student__isnull=True, guardian_id__in=guardian_ids))
        .select_related("guardian")
        .order_by("-created_at", "-id")[:limit]
    )


def message_costs_by_month(*, months: int = 12) -> list[dict]:
    """Per Cairo month (newest first): messages queued, per status, and the cost of those sent."""
    local_now = timezone.localtime(timezone.now(), timezone.get_default_timezone())
    first_month = local_now.date().replace(day=1)
    for _step in range(months - 1):
        first_month = (first_month - datetime.timedelta(days=1)).replace(day=1)
    since = timezone.make_aware(
        datetime.datetime.combine(first_month, datetime.time.min), timezone.get_default_timezone()
    )
    per_status = {status: Count("id", filter=Q(status=status)) for status in Message.Status.values}
    # Issue 19: what each channel cost (an SMS is priced per part when sent).
    per_channel = {f"cost_{channel}": Sum("cost", filter=Q(channel=channel)) for channel in Channel.values}
    rows = (
        Message.objects.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_default_timezone()))
        .values("month")
        .annotate(total=Count("id"), cost_total=Sum("cost"), **per_status, **per_channel)
        .order_by("-month")
    )
    return [
        {
            "month": row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"],
            "total": row["total"],
            "cost": (row["cost_total"] or Decimal("0")).quantize(Decimal("0.01")),
            "statuses": {status: row[status] for status in Message.Status.values},
            "channel_costs": {
                channel: (row[f"cost_{channel}"] or Decimal("0")).quantize(Decimal("0.01"))
                for channel in Channel.values
            },
        }
        for row in rows
    ]
