"""Inserting rows with SQL built once per model: the door's writes and the imports' bulk writes,
without the ORM's per-call cost. The one INSERT helper of the project.

``Model.objects.create()`` compiles its INSERT again on every call (about 0.4 ms of Python per row),
and ``bulk_create`` compiles every value of every row. ``rows_insert`` builds the statement once per
model and prepares each value as the ORM's insert does (``pre_save`` for auto_now and files, then
``get_db_prep_save``), so the rows are the ones ``create()`` would write; like ``bulk_create`` it
sends no model signals (the project has none). Values are prepared a column of a batch at a time:
a value the ORM would hand over unchanged (None, a str in a text column, a stored file's name, a
bool, an int or a date where this database takes it as it is) skips the call, and a column of aware
datetimes, dates or finite Decimals gets only its last step (the backend's adapter): an import
writes tens of thousands of rows. tests/test_db.py and tests/test_db_field_types.py compare the
rows with the ORM's, for every field type the models use.
"""

import datetime
import functools
import itertools
import operator
from decimal import Decimal
from typing import TypeVar

from django.db import connections, models, router
from django.db.models import Field, Model

BATCH_ROWS = 500
# Bound parameters per statement: under SQLite's default limit since 3.32 (32,766) and
# PostgreSQL's (65,535), whatever the batch size asked for.
MAX_PARAMS = 30_000


def _pass_through(field: Field, connection) -> frozenset[type]:
    """The Python types whose values ``field.get_db_prep_save`` gives this database unchanged: the
    field's ``to_python`` returns them as they are, and the backend's adapter does too (probed)."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    ops = connection.ops
    if isinstance(target, models.CharField | models.TextField):
        return frozenset({str})
    if isinstance(target, models.BooleanField):
        return frozenset({bool})
    if isinstance(target, models.IntegerField):  # the auto fields too, and keys to them
        probe = 2**40 + 1  # psycopg 3 gets Int2/Int4/Int8 from the ORM: no pass-through there
        return (
            frozenset({int})
            if ops.adapt_integerfield_value(probe, target.get_internal_type()) is probe
            else frozenset()
        )
    if isinstance(target, models.DateField) and not isinstance(target, models.DateTimeField):
        probe = datetime.date(2000, 1, 2)  # PostgreSQL takes a date as it is; SQLite gets text
        return frozenset({datetime.date}) if ops.adapt_datefield_value(probe) is probe else frozenset()
    return frozenset()


def _adapter(field: Field) -> tuple[type | None, object]:
    """(a type, a column-wide shortcut for it): Django's ``get_db_prep_value`` comes down to the
    backend's adapter for an aware datetime, a date and a finite Decimal, so a batch whose values
    are all such gets the adapter alone (or nothing, where it returns the value as it is); the
    shortcut returns None when a value needs the ORM's whole call."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.DateTimeField):

        def aware(values: list, connection) -> list | None:
            if None in map(datetime.datetime.utcoffset, values):
                return None  # a naive one is made aware, with the ORM's warning
            return list(map(connection.ops.adapt_datetimefield_value, values))

        return datetime.datetime, aware
    if isinstance(target, models.DateField):
        return datetime.date, lambda values, connection: list(map(connection.ops.adapt_datefield_value, values))
    if isinstance(target, models.DecimalField):
        digits, places = target.max_digits, target.decimal_places
        probe = Decimal("1.25")

        def finite(values: list, connection) -> list | None:
            if not all(map(Decimal.is_finite, values)):
                return None  # refused by the ORM
            adapt = connection.ops.adapt_decimalfield_value
            if adapt(probe, digits, places) is probe:  # SQLite and PostgreSQL take a Decimal as it is
                return values
            return [adapt(value, digits, places) for value in values]

        return Decimal, finite
    if isinstance(target, models.JSONField) and _orm_json_preparation(type(target)):
        encoder = target.encoder

        def json_text(values: list, connection) -> list:
            return [connection.ops.adapt_json_value(value, encoder) for value in values]

        return dict, json_text
    return None, None


def _orm_json_preparation(kind: type[models.JSONField]) -> bool:
    """A JSON field whose preparation is JSONField's own: dicts go to ``adapt_json_value``."""
    return (
        kind.get_db_prep_save is models.JSONField.get_db_prep_save
        and kind.get_db_prep_value is models.JSONField.get_db_prep_value
        and kind.get_prep_value is Field.get_prep_value
    )


_NONE = type(None)


def _column(batch: list[Model], connection, attname, plain, adapted, adapt, prepare, pre_save) -> list:
    """One column's query parameters for a batch of rows."""
    if pre_save is not None and type(pre_save.__self__) is models.FileField:
        # a file field holding a stored file's name (text): pre_save would wrap it in a committed
        # FieldFile and the ORM write that name back, so the names are the parameters
        names = [instance.__dict__.get(attname) for instance in batch]
        if set(map(type, names)) == {str}:
            return names
    if pre_save is not None:
        values = [pre_save(instance, True) for instance in batch]
    else:
        values = list(map(operator.attrgetter(attname), batch))
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    if kinds <= plain:
        return values
    if str in plain and all(issubclass(kind, str) for kind in kinds):
        return values  # choices (TextChoices members) too: a text field's to_python keeps any str
    if kinds == {adapted} and None not in values:
        prepared = adapt(values, connection)
        if prepared is not None:
            return prepared
    return [
        value if value is None or type(value) in plain else prepare(value, connection)  # the ORM's own call
        for value in values
    ]


@functools.lru_cache(maxsize=64)
def _insert_parts(model: type[Model], alias: str) -> tuple[str, tuple, bool]:
    """(INSERT … VALUES head, per column (attname, pass-through types, adapted type and its adapter,
    the ORM's preparation, ``pre_save`` or None), whether it returns the primary key)."""
    connection = connections[alias]
    meta = model._meta
    fields = tuple(
        field
        for field in meta.concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    )
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    returns = meta.auto_field is not None and connection.features.can_return_columns_from_insert
    columns = tuple(
        (
            field.attname,
            _pass_through(field, connection),
            *_adapter(field),
            field.get_db_prep_save,
            # auto_now, auto_now_add and files do their work in pre_save; other fields just read the value
            field.pre_save if type(field).pre_save is not Field.pre_save else None,
        )
        for field in fields
    )
    # names from the model, values always bound parameters
    head = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "  # noqa: S608
    return head, columns, returns


def rows_insert(instances: list[Model], *, ignore_conflicts: bool = False, batch_size: int = BATCH_ROWS) -> None:
    """Insert new rows of one model, ``batch_size`` rows a statement; sets their primary keys (not
    with ``ignore_conflicts``, where a row may not have been written: like ``bulk_create``)."""
    if not instances:
        return
    model = type(instances[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    head, columns, returns = _insert_parts(model, alias)
    per_statement = max(1, min(batch_size, MAX_PARAMS // max(1, len(columns))))
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    has_auto = model._meta.auto_field is not None
    with connection.cursor() as cursor:
        for start in range(0, len(instances), per_statement):
            batch = instances[start : start + per_statement]
            # column by column: most columns hold one type, checked once for the whole batch
            params = list(
                itertools.chain.from_iterable(zip(*(_column(batch, connection, *c) for c in columns), strict=True))
            )
            sql = head + ", ".join([row] * len(batch))
            if ignore_conflicts:
                sql += " ON CONFLICT DO NOTHING"  # PostgreSQL, and SQLite's upsert clause (3.24+)
            elif returns:
                sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
            cursor.execute(sql, params)
            if not ignore_conflicts and has_auto:
                if returns:
                    for instance, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                        instance.pk = pk
                elif len(batch) == 1:
                    batch[0].pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = alias


ModelT = TypeVar("ModelT", bound=Model)


def row_insert(instance: ModelT) -> ModelT:
    """``Model.objects.create()`` for an instance already built; returns it with its primary key."""
    rows_insert([instance])
    return instance
