"""rows_insert writes what Model.objects.create() writes (core/db.py)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from core.db import row_insert, rows_insert
from core.models import AuditLog, EntryType, Guardian, LedgerEntry, Message
from tests.factories import enroll, make_group, make_student


def _fields(instance) -> dict:
    values = model_to_dict(instance)
    values.pop("id", None)
    return values


def test_a_row_is_the_row_create_writes(main_branch):
    enrollment = enroll(make_student(main_branch), make_group(main_branch, fee="100.00"))
    values = {
        "enrollment": enrollment,
        "entry_type": EntryType.CHARGE,
        "amount": Decimal("100.50"),
        "date": datetime.date(2026, 11, 28),
        "source": LedgerEntry.Source.DOOR,
    }
    ours = row_insert(LedgerEntry(**values))
    theirs = LedgerEntry.objects.create(**values)
    assert ours.pk and ours.pk != theirs.pk and not ours._state.adding
    assert _fields(LedgerEntry.objects.get(pk=ours.pk)) == _fields(LedgerEntry.objects.get(pk=theirs.pk))
    assert LedgerEntry.objects.get(pk=ours.pk).amount == Decimal("100.50")


@pytest.mark.django_db
def test_json_and_auto_now_add_are_prepared_like_the_orm():
    entry = row_insert(
        AuditLog(action=AuditLog.Action.CREATE, model="core.x", object_id="1", changes={"a": [None, "ب"]})
    )
    stored = AuditLog.objects.get(pk=entry.pk)
    assert stored.changes == {"a": [None, "ب"]}
    assert stored.at is not None


def test_ignore_conflicts_skips_the_repeat_and_keeps_the_first(main_branch):
    guardian = Guardian.objects.create(phone="+201000000001")

    def message(body):
        return Message(
            guardian=guardian, phone=guardian.phone, template_key="arrived", body=body, event="e", idempotency_key="k"
        )

    rows_insert([message("first")], ignore_conflicts=True)
    rows_insert([message("second")], ignore_conflicts=True)
    assert list(Message.objects.values_list("body", flat=True)) == ["first"]
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(message("third"))
