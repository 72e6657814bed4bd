"""core/db.py ``rows_insert`` against the ORM, for every field type the models use.

Two levels: every concrete field of every model gets, for sample values of its type (and None
where it is nullable), the same query parameter from ``rows_insert`` as from the ORM's
``pre_save`` + ``get_db_prep_save``; and rows of models that together hold every field type are
written by ``rows_insert`` and by ``Model.objects.create`` / ``bulk_create`` from the same values
and read back equal, both through the ORM and as the database stores them.
"""

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from core.db import _column, _insert_parts, row_insert, rows_insert
from core.models import (
    Counter,
    Enrollment,
    FeePlan,
    Gender,
    Guardian,
    Message,
    MessageTemplate,
    ScheduleSlot,
    Student,
    User,
)
from core.models.messaging import opt_out_choices
from tests.factories import make_group, make_room, make_student

CAIRO = ZoneInfo("Africa/Cairo")


def _samples(field: models.Field) -> list:
    """Values of the field's own Python type, as services put them on instances."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if field.choices:
        values = [field.choices[0][0], field.choices[-1][0]]
    elif isinstance(target, models.BooleanField):
        values = [True, False]
    elif isinstance(target, models.BigIntegerField):
        values = [0, 2**40 + 3]
    elif isinstance(target, models.IntegerField):
        values = [0, 7, 32000]
    elif isinstance(target, models.DecimalField):
        values = [Decimal("0.00"), Decimal("12.50"), Decimal("-0.01"), Decimal("100")]
    elif isinstance(target, models.DateTimeField):
        values = [datetime.datetime(2026, 11, 28, 9, 5, 7, 123456, tzinfo=CAIRO), timezone.now()]
    elif isinstance(target, models.DateField):
        values = [datetime.date(2026, 11, 28)]
    elif isinstance(target, models.TimeField):
        values = [datetime.time(16, 30), datetime.time(8, 0, 15)]
    elif isinstance(target, models.UUIDField):
        values = [uuid.uuid4()]
    elif isinstance(target, models.JSONField):
        values = [{"a": [None, "ب"], "n": 1}, [], ["x", {"y": 2}]]
    elif isinstance(target, models.FileField):
        values = ["imports/2026/11/a.xlsx", ""]
    elif isinstance(target, models.EmailField):
        values = ["staff@example.com"]
    elif isinstance(target, models.CharField | models.TextField):
        values = ["نص عربي", "", "=1+2", Gender.FEMALE]  # a choices member is a str subclass
    else:  # a field type this test does not know yet: it fails below
        values = []
    return values + ([None] if field.null else [])


def _model_fields():
    for model in apps.get_app_config("core").get_models():
        for field in model._meta.concrete_fields:
            if field is not model._meta.auto_field and not getattr(field, "generated", False):
                yield model, field


def test_every_field_type_of_the_models_has_samples():
    unknown = {
        type(field).__name__ for _model, field in _model_fields() if not _samples(field) or _samples(field) == [None]
    }
    assert not unknown


@pytest.mark.django_db
def test_every_field_of_every_model_gets_the_parameter_the_orm_gives():
    checked = 0
    for model, field in _model_fields():
        _head, columns, _returns = _insert_parts(model, connection.alias)
        column = next(column for column in columns if column[0] == field.attname)
        for value in _samples(field):
            ours_instance, orm_instance = model(), model()
            setattr(ours_instance, field.attname, value)
            setattr(orm_instance, field.attname, value)
            [ours] = _column([ours_instance], connection, *column)
            theirs = field.get_db_prep_save(field.pre_save(orm_instance, add=True), connection)
            if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
                # each side stamps its own now: same type, a moment apart
                assert type(ours) is type(theirs), (model, field.name)
                continue
            assert type(ours) is type(theirs), (model, field.name, value)
            if isinstance(theirs, models.fields.files.FieldFile | str | int | bool | Decimal) or theirs is None:
                assert ours == theirs, (model, field.name, value)
            else:  # the driver's JSON wrapper (psycopg2 ``adapted``, psycopg 3 ``obj``): what it wraps
                assert _wrapped(ours) == _wrapped(theirs), (model, field.name, value)
            checked += 1
    assert checked > 300


def _wrapped(parameter):
    return getattr(parameter, "adapted", getattr(parameter, "obj", parameter))


def _stored(model, pk) -> dict:
    """The row as the database holds it (no ORM conversion), without its primary key."""
    names = [field.column for field in model._meta.concrete_fields]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(map(quote, names))} FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s",  # noqa: S608
            [pk],
        )
        row = cursor.fetchone()
    stored = dict(zip(names, row, strict=True))
    stored.pop(model._meta.pk.column)
    return stored


def _stamped(model) -> set[str]:
    return {
        field.column
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add)
    }


def _same_row(model, values: dict, *, bulk: bool = False) -> None:
    """A row written by rows_insert and one by the ORM from the same values read back equal."""
    before = timezone.now()
    ours = row_insert(model(**values))
    ours_stored, ours_read = _stored(model, ours.pk), model.objects.filter(pk=ours.pk).values().get()
    model.objects.filter(pk=ours.pk).delete()  # unique columns: the ORM's row takes the same values
    theirs = model.objects.bulk_create([model(**values)])[0] if bulk else model.objects.create(**values)
    if theirs.pk is None:
        theirs = model.objects.latest("pk")
    theirs_stored, theirs_read = _stored(model, theirs.pk), model.objects.filter(pk=theirs.pk).values().get()
    after = timezone.now()
    for stamped in _stamped(model):  # each stamps its own moment, inside the test
        attname = (
            model._meta.get_field(stamped).attname if stamped in {f.attname for f in model._meta.fields} else stamped
        )
        assert ours_stored.pop(stamped) is not None and theirs_stored.pop(stamped) is not None
        assert before <= ours_read.pop(attname) <= after and before <= theirs_read.pop(attname) <= after
    ours_read.pop(model._meta.pk.attname)
    theirs_read.pop(model._meta.pk.attname)
    assert ours_stored == theirs_stored
    assert ours_read == theirs_read


@pytest.fixture
def enrollment_values(main_branch) -> dict:
    return {
        "student": make_student(main_branch),
        "group": make_group(main_branch, fee="150.00"),
        "fee_plan": FeePlan.REDUCED,
        "custom_fee": Decimal("99.50"),
        "fee_reason": "أخوة",
        "start_date": datetime.date(2026, 11, 28),
    }


@pytest.mark.parametrize("bulk", [False, True])
def test_an_enrollment_reads_back_as_the_orm_writes_it(enrollment_values, bulk):
    # FK, choices, Decimal (given, default, null), date (given, null), bool, one-to-one null, auto_now_add
    _same_row(Enrollment, enrollment_values, bulk=bulk)


def test_a_message_reads_back_as_the_orm_writes_it(main_branch):
    # UUID, JSON, text, small integers, Decimal, aware datetimes from another zone, a one-to-one
    guardian = Guardian.objects.create(phone="+201000000009", full_name="ولي")
    first = Message.objects.create(
        guardian=guardian, phone=guardian.phone, template_key="arrived", body="x", event="e", idempotency_key="k0"
    )
    _same_row(
        Message,
        {
            "guardian": guardian,
            "student": make_student(main_branch),
            "phone": guardian.phone,
            "template_key": "arrived",
            "language": "en",
            "body": "وصل الطالب\n=HYPERLINK()",
            "event": "scan:1",
            "idempotency_key": "k1",
            "params": {"name": "أحمد", "amount": "150.00", "list": [1, None]},
            "attempts": 3,
            "checks": 2,
            "next_attempt_at": datetime.datetime(2026, 11, 28, 21, 30, tzinfo=CAIRO),
            "claim_token": uuid.uuid4(),
            "claimed_at": datetime.datetime(2026, 11, 28, 19, 0, tzinfo=datetime.UTC),
            "cost": Decimal("0.35"),
            "fallback_for": first,
        },
    )


@pytest.mark.django_db
def test_guardian_opt_outs_and_a_bigint_counter_read_back_as_the_orm_writes_them():
    # the custom JSON field (opt-outs) and BigIntegerField
    kinds = [key for key, _label in opt_out_choices()[:2]]
    _same_row(Guardian, {"phone": "+201000000010", "full_name": "أم أحمد", "message_opt_outs": kinds})
    _same_row(Counter, {"key": "bench", "value": 2**40 + 3})


def test_a_weekly_slot_a_template_a_student_and_a_user_read_back_as_the_orm_writes_them(main_branch):
    # TimeField, integer choices, slug, a file field left empty, auto_now, e-mail, nullable datetime
    group = make_group(main_branch, fee="100.00")
    room = make_room(main_branch)
    _same_row(
        ScheduleSlot,
        {"group": group, "weekday": 6, "start_time": datetime.time(16, 30), "duration_minutes": 90, "room": room},
    )
    _same_row(
        MessageTemplate,
        {"key": "h1-test", "name": "اختبار", "text_ar": "نص {name}", "text_en": "text {name}", "is_mandatory": True},
    )
    _same_row(
        Student,
        {
            "code": "990001",
            "full_name": "طالب تجربة",
            "search_key": "طالب تجربه",
            "branch": main_branch,
            "grade": "s1",
            "gender": "female",
        },
    )
    joined = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=CAIRO)  # its default is now(): one value for both
    _same_row(
        User,
        {
            "username": "h1-user",
            "email": "staff@example.com",
            "password": "!",
            "last_login": None,
            "date_joined": joined,
        },
    )


def test_rows_are_written_in_batches_with_every_primary_key_set(main_branch):
    guardians = [Guardian(phone=f"+20100000{n:04d}", full_name=f"ولي {n}") for n in range(7)]
    rows_insert(guardians, batch_size=3)
    assert len({guardian.pk for guardian in guardians}) == 7
    assert all(not guardian._state.adding for guardian in guardians)
    stored = dict(Guardian.objects.filter(pk__in=[g.pk for g in guardians]).values_list("pk", "phone"))
    assert stored == {guardian.pk: guardian.phone for guardian in guardians}
