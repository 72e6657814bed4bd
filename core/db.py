"""Inserting rows with SQL built once per model: the door's writes, without the ORM's per-call cost.

``Model.objects.create()`` compiles its INSERT again on every call (about 0.4 ms of Python per row),
and a door scan writes five rows. ``rows_insert`` builds the statement once per model and prepares
each value exactly as the ORM's insert does (``pre_save`` for auto_now and friends, then
``get_db_prep_save``), so the rows are the same as ``create()`` would write; like ``bulk_create``
it sends no model signals (the project has none). tests/test_db.py compares both.
"""

import functools

from django.db import connection
from django.db.models import Field, Model


@functools.lru_cache(maxsize=32)
def _insert_parts(model: type[Model], vendor: str) -> tuple[str, tuple[Field, ...], bool]:
    """(INSERT … VALUES head, the fields it writes, whether it returns the primary key)."""
    meta = model._meta
    fields = tuple(
        field
        for field in meta.concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    returns = meta.auto_field is not None and connection.features.can_return_columns_from_insert
    # names from the model, values always bound parameters
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ", fields, returns  # noqa: S608


def rows_insert(instances: list[Model], *, ignore_conflicts: bool = False) -> None:
    """Insert rows of one model in one statement; sets their primary keys (not with
    ``ignore_conflicts``, where a row may not have been written: like ``bulk_create``)."""
    if not instances:
        return
    model = type(instances[0])
    head, fields, returns = _insert_parts(model, connection.vendor)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for instance in instances
        for field in fields
    ]
    sql = head + ", ".join([row] * len(instances))
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"  # PostgreSQL, and SQLite's upsert clause (3.24+)
    elif returns:
        sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not ignore_conflicts and model._meta.auto_field is not None:
            if returns:
                for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
                    instance.pk = pk
            elif len(instances) == 1:
                instances[0].pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias


def row_insert(instance: Model) -> Model:
    """``Model.objects.create()`` for an instance already built; returns it with its primary key."""
    rows_insert([instance])
    return instance
