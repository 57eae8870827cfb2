"""Many rows into one table, fast: the INSERTs of ingestion, the UPDATEs that write answers, and
the upserts that add to counts (`rows_add`).

`bulk_create` passes each of the ~17,000 values of a batch's 1,000 deliveries through
the query compiler one by one, and splits them into statements of at most 999
parameters; that took most of an ingest's time. `rows_insert` writes the same rows with
a few multi-row `INSERT ... RETURNING id` statements, converting only the values that
need it. The SQL reads the same on SQLite (>= 3.35) and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any

from django.db import connection
from django.db.models import Field, JSONField, Model
from django.utils import timezone

# Fields whose Python values (str, int, bool, None) both backends' drivers take as they
# are, so they skip Django's per-value preparation. Any other field's values go through
# the field's own get_db_prep_save: JSON and dates and times need it.
_PLAIN_FIELD_TYPES = frozenset({
    "AutoField", "BigAutoField", "SmallAutoField", "CharField", "TextField", "BooleanField", "IntegerField",
    "BigIntegerField", "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
})


def rows_insert(
    model: type[Model], rows: list[tuple[Any, ...]], *, fields: tuple[str, ...], same: dict[str, Any]
) -> list[int]:
    """Insert `rows` of `model`; return their new ids, in the order of `rows`.

    Each row holds the values of `fields` (a foreign key by its id), in that order.
    Every other column takes its value from `same`, one for all rows, or else the
    field's default (the current time for auto_now fields). Like `bulk_create` it sends
    no signals and runs no validation.

    Both SQLite and PostgreSQL return the rows of a multi-row INSERT in the order of its
    VALUES; `bulk_create` relies on the same.
    """
    return [pk for pk, in _insert(model, rows, fields=fields, same=same)]


def rows_insert_new(
    model: type[Model], rows: list[tuple[Any, ...]], *, fields: tuple[str, ...], same: dict[str, Any],
    key: tuple[str, ...],
) -> dict[tuple[Any, ...], int]:
    """Insert those of `rows` whose `key` (the fields of a unique constraint) is not taken; return the new
    ids by the values of the key's fields that are among `fields`, in their order in `key`.

    A row whose key is taken, by a stored row or by one a concurrent transaction commits meanwhile,
    is skipped (`ON CONFLICT DO NOTHING`): no IntegrityError on either backend. Rows as for
    `rows_insert`; no two may share a key.
    """
    varying = tuple(name for name in key if name in fields)
    inserted = _insert(model, rows, fields=fields, same=same, conflict=key, returning=varying)
    return {tuple(values): pk for pk, *values in inserted}


def _insert(
    model: type[Model], rows: list[tuple[Any, ...]], *, fields: tuple[str, ...], same: dict[str, Any],
    conflict: tuple[str, ...] = (), returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """The one multi-row INSERT builder: each inserted row's id and `returning` columns."""
    if not rows:
        return []
    meta = model._meta
    varying = [meta.get_field(name) for name in fields]
    constant = [f for f in meta.concrete_fields if not f.primary_key and f.name not in fields]
    prepare = [_preparer(f) for f in varying]
    constant_values = [f.get_db_prep_save(_constant_value(f, same), connection) for f in constant]
    quote = connection.ops.quote_name
    width = len(varying) + len(constant)
    head = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in varying + constant)}) "
            "VALUES ")
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    tail = ""
    if conflict:
        tail = f" ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in conflict)}) DO NOTHING"
    tail += f" RETURNING {', '.join(quote(f.column) for f in [meta.pk, *map(meta.get_field, returning)])}"
    per_statement = max(1, max_query_params() // width)
    inserted: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            params = _params(chunk, prepare, constant_values)
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
            inserted += cursor.fetchall()
    return inserted


def rows_update(
    model: type[Model], rows: list[tuple[Any, ...]], *, fields: tuple[str, ...], expect: tuple[str, ...] = ()
) -> list[Any]:
    """Set each row's `fields` to its own values: each of `rows` is (pk, *values of fields). Returns the
    pks of the rows changed.

    With `expect`, each row is (pk, *values of expect, *values of fields), and is changed only while
    it still holds the expected values: a compare-and-set per row, all in one statement.

    `bulk_update` writes a CASE expression per field with a WHEN per row, and composing
    those took most of the time of writing a batch of answers (0.3 s for 100 rows, against
    40 ms in the database). This is one `WITH v(...) AS (VALUES ...) UPDATE ... FROM v`
    statement per chunk, which reads the same on SQLite (>= 3.35) and PostgreSQL. Like
    `bulk_update`, it sends no signals and does not touch auto_now fields itself.
    """
    if not rows:
        return []
    meta = model._meta
    expected = [meta.get_field(name) for name in expect]
    columns = [meta.pk, *expected, *(meta.get_field(name) for name in fields)]
    prepare = [_preparer(f) for f in columns]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [quote(f.column) for f in columns]
    pk, expected_names, targets = names[0], names[1:1 + len(expected)], names[1 + len(expected):]
    expected_aliases = [quote(f"expected_{f.column}") for f in expected]
    aliases = [pk, *expected_aliases, *targets]
    # PostgreSQL types VALUES from their text unless told; SQLite takes values as they come.
    if connection.vendor == "postgresql":
        row_sql = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in columns) + ")"
    else:
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    assignments = ", ".join(f"{name} = v.{name}" for name in targets)
    conditions = "".join(f" AND {table}.{name} = v.{alias}"
                         for name, alias in zip(expected_names, expected_aliases, strict=True))
    per_statement = max(1, max_query_params() // len(columns))
    changed: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            params = _params(chunk, prepare)
            cursor.execute(
                f"WITH v({', '.join(aliases)}) AS (VALUES {', '.join([row_sql] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{pk} = v.{pk}{conditions} "
                f"RETURNING {table}.{pk}",
                params,
            )
            changed += [row_pk for row_pk, in cursor.fetchall()]
    return changed


def rows_add(
    model: type[Model],
    rows: list[tuple[Any, ...]],
    *,
    fields: tuple[str, ...],
    key: tuple[str, ...],
    add: str,
    also: tuple[str, ...] = (),
    also_params: Sequence[Any] = (),
) -> None:
    """Insert `rows` of `model`, or add each row's `add` to the count of the row with the same `key`.

    Each row holds the values of `fields` (a foreign key by its id), in that order. This is
    the one `INSERT ... ON CONFLICT (key) DO UPDATE SET add = add + EXCLUDED.add` builder:
    the ORM's upsert can only overwrite a column, and a count must be added to, or
    concurrent writers would lose counts. It reads the same on SQLite and PostgreSQL.
    `also` are further assignments of the DO UPDATE, written with `{table}` and each field's
    `{name}` for its quoted column; `also_params` are their parameters, after the rows'.

    Rows are written in the order given: pass them in key order, so that two transactions
    touching the same rows lock them in the same order and never deadlock on PostgreSQL.
    Run it inside the transaction of what is counted.
    """
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    prepare = [_preparer(f) for f in columns]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    quoted = {name: quote(f.column) for name, f in zip(fields, columns, strict=True)}
    assignments = [f"{quoted[add]} = {table}.{quoted[add]} + EXCLUDED.{quoted[add]}"]
    assignments += [template.format(table=table, **quoted) for template in also]
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, (max_query_params() - len(also_params)) // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quoted.values())}) VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT ({', '.join(quoted[name] for name in key)}) DO UPDATE SET {', '.join(assignments)}",
                [*_params(chunk, prepare), *also_params],
            )


def _params(
    rows: list[tuple[Any, ...]], prepare: list[Callable[[Any], Any] | None], constant: Sequence[Any] = ()
) -> list[Any]:
    """The statement's parameters: each row's values as the driver takes them, then the constant ones."""
    converted = [(column, p) for column, p in enumerate(prepare) if p is not None]
    params: list[Any] = []
    for row in rows:
        values = list(row)
        for column, p in converted:
            values[column] = p(values[column])
        params += values
        params += constant
    return params


def _preparer(f: Field) -> Callable[[Any], Any] | None:
    """How to turn a value of `f` into what the driver takes; None when it takes it as it is."""
    kind = f.target_field.get_internal_type() if f.is_relation else f.get_internal_type()
    if kind in _PLAIN_FIELD_TYPES:
        return None
    if isinstance(f, JSONField):
        # What JSONField.get_db_prep_save comes to for a plain value (rows hold no expressions): the
        # backend's own adapter, without the layers around it, which took as long as the encoding.
        adapt, encoder = connection.ops.adapt_json_value, f.encoder
        return lambda value: None if value is None else adapt(value, encoder)
    # Dates and times, the other values we insert, repeat across a batch (every pending
    # delivery is due now): each distinct value is converted once.
    return cache(partial(f.get_db_prep_save, connection=connection))


def _constant_value(f: Field, same: dict[str, Any]) -> Any:
    if f.name in same:
        return same[f.name]
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return timezone.now()
    return f.get_default()


def max_query_params() -> int:
    """How many parameters one statement may carry.

    Django assumes SQLite's old default of 999, but SQLite allows what it was built with
    (32,766 by default since 3.32; Debian's allows 250,000), and its driver can tell.
    PostgreSQL's protocol allows 65,535; we stay well below that.
    """
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 30_000
