"""Inserting rows with SQL built once per model: the door's writes and the imports' bulk writes,
without the ORM's per-call cost. The one INSERT helper of the project.

``Model.objects.create()`` compiles its INSERT again on every call (about 0.4 ms of Python per row),
and ``bulk_create`` compiles every value of every row. ``rows_insert`` builds the statement once per
model and prepares each value as the ORM's insert does (``pre_save`` for auto_now and files, then
``get_db_prep_save``), so the rows are the ones ``create()`` would write; like ``bulk_create`` it
sends no model signals (the project has none). Values the ORM would pass through unchanged (text in
a text column, an int in an integer column or a foreign key to one, a Decimal, a bool, None) skip
the call: an import writes tens of thousands of rows. tests/test_db.py and
tests/test_db_field_types.py compare the rows with the ORM's, for every field type the models use.
"""

import datetime
import functools
from collections.abc import Callable
from decimal import Decimal

from django.db import connections, models, router
from django.db.models import Field, Model

BATCH_ROWS = 500
# Bound parameters per statement: under SQLite's default limit since 3.32 (32,766) and
# PostgreSQL's (65,535), whatever the batch size asked for.
MAX_PARAMS = 30_000


def _pass_through(field: Field) -> tuple[type, ...]:
    """The Python types whose value ``field.get_db_prep_save`` returns unchanged."""
    if isinstance(field, models.CharField | models.TextField):
        return (str,)
    if isinstance(field, models.BooleanField):
        return (bool,)
    return ()


def _preparer(field: Field) -> Callable:
    """(value, connection) → query parameter, as ``field.get_db_prep_save`` gives it: the ORM's own
    call, or, for the common clean values, the last step of it done directly."""
    prepare = field.get_db_prep_save
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.IntegerField):  # the auto fields too, and keys to them
        internal_type = target.get_internal_type()

        def prepared(value, connection):
            if value is None:
                return None
            if type(value) is int:  # psycopg 3 gets Int2/Int4/Int8, as from the ORM
                return connection.ops.adapt_integerfield_value(value, internal_type)
            return prepare(value, connection)

        return prepared
    if isinstance(target, models.DecimalField):
        digits, places = target.max_digits, target.decimal_places

        def prepared(value, connection):
            if value is None:
                return None
            if type(value) is Decimal and value.is_finite():  # to_python would only copy it
                return connection.ops.adapt_decimalfield_value(value, digits, places)
            return prepare(value, connection)  # floats, text, NaN: converted or refused by the ORM

        return prepared
    if isinstance(target, models.DateTimeField):

        def prepared(value, connection):
            if value is None:
                return None
            if type(value) is datetime.datetime and value.utcoffset() is not None:
                return connection.ops.adapt_datetimefield_value(value)
            return prepare(value, connection)  # a naive one is made aware (with the ORM's warning)

        return prepared
    if isinstance(target, models.DateField):

        def prepared(value, connection):
            if value is None:
                return None
            if type(value) is datetime.date:
                return connection.ops.adapt_datefield_value(value)
            return prepare(value, connection)

        return prepared
    plain = _pass_through(target)

    def prepared(value, connection):
        if value is None or type(value) in plain:
            return value
        return prepare(value, connection)

    return prepared


@functools.lru_cache(maxsize=64)
def _insert_parts(model: type[Model], alias: str) -> tuple[str, tuple[Field, ...], tuple, tuple[bool, ...], bool]:
    """(INSERT … VALUES head, the fields it writes, their preparers, which need ``pre_save``,
    whether it returns the primary key)."""
    connection = connections[alias]
    meta = model._meta
    fields = tuple(
        field
        for field in meta.concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    returns = meta.auto_field is not None and connection.features.can_return_columns_from_insert
    preparers = tuple(_preparer(field) for field in fields)
    # auto_now, auto_now_add and files do their work in pre_save; any other field just reads its value
    pre_saves = tuple(type(field).pre_save is not Field.pre_save for field in fields)
    # names from the model, values always bound parameters
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
    return head, fields, preparers, pre_saves, returns


def rows_insert(instances: list[Model], *, ignore_conflicts: bool = False, batch_size: int = BATCH_ROWS) -> None:
    """Insert new rows of one model, ``batch_size`` rows a statement; sets their primary keys (not
    with ``ignore_conflicts``, where a row may not have been written: like ``bulk_create``)."""
    if not instances:
        return
    model = type(instances[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    head, fields, preparers, pre_saves, returns = _insert_parts(model, alias)
    columns = list(zip(fields, preparers, pre_saves, strict=True))
    per_statement = max(1, min(batch_size, MAX_PARAMS // max(1, len(fields))))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    has_auto = model._meta.auto_field is not None
    with connection.cursor() as cursor:
        for start in range(0, len(instances), per_statement):
            batch = instances[start : start + per_statement]
            params = [
                prepare(
                    field.pre_save(instance, add=True) if pre_save else getattr(instance, field.attname), connection
                )
                for instance in batch
                for field, prepare, pre_save in columns
            ]
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


def row_insert(instance: Model) -> Model:
    """``Model.objects.create()`` for an instance already built; returns it with its primary key."""
    rows_insert([instance])
    return instance
