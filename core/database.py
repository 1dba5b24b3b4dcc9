"""The one module that knows SQLite from PostgreSQL: every statement the two databases write
differently, behind a function that gives the same result on both.

Each function states what both databases guarantee; the PostgreSQL path is the fast one (COPY,
`unnest`, server-side cursors, binary results), the SQLite path may be slower, never different.
SQL fragments that callers pass in (`assign`, `where`) are written in the dialect both read alike:
the table's row is `t`, the new values `v` (`excluded` in an upsert), columns by their quoted
names, and `IS NOT DISTINCT FROM` for a comparison that holds NULL (SQLite 3.39 or later).

Identifiers are quoted by the backend (`connection.ops.quote_name`), never taken from input.
"""

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from itertools import chain
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import Field, Max, Model
from django.db.models.functions import Collate

LOOKUP_BATCH = 5000  # keys per probe statement
UNNEST_BATCH = 50_000  # rows per unnest statement on PostgreSQL
INSERT_BATCH = 100_000  # rows per INSERT ... SELECT FROM unnest on PostgreSQL
STAGE_PREFIX = "stage"


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _sqlite_rows_per_statement(columns: int) -> int:
    """Rows of `columns` parameters each that one SQLite statement may carry."""
    import sqlite3

    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(limit, 32766) // max(1, columns))


def _as_list(values) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _field(model: type[Model], name: str | tuple[str, Field]) -> tuple[str, Field]:
    """(column, field) of a model field name, or of a (name, unbound Field) pair for a value that
    is not a column of the model."""
    if isinstance(name, tuple):
        return name
    field = model._meta.get_field(name)
    return field.column, field


def _db_value(field: Field, value):
    """`value` as the database stores it: on SQLite an aware datetime becomes Django's UTC text,
    so it compares with the stored ones as text. PostgreSQL takes the Python value as it is."""
    if value is None or _postgresql():
        return value
    return field.get_db_prep_save(value, connection)


def values_binary(queryset) -> list[tuple]:
    """Every row of a `values_list` queryset, as `list(queryset)` gives them.

    PostgreSQL fetches them in its binary format: dates and numbers load several times faster than
    from text (714,000 qualifying posts: 0.5 s instead of 2.7 s). Only for columns that need no
    Django converter (plain numbers, text, aware datetimes); a bytea comes back as bytes where
    SQLite gives bytes too.
    """
    if not _postgresql():
        return list(queryset)
    import psycopg

    query, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params, binary=True)
        return cursor.fetchall()


def analyze(table: str) -> None:
    """Refresh the planner's statistics of `table` after a change that made them wrong.

    PostgreSQL: ANALYZE (its planner chose a scan of every row from the statistics of an empty
    table). SQLite plans without them: nothing. Results never depend on it, only speed.
    """
    if _postgresql():
        with connection.cursor() as cursor:
            cursor.execute(sql_text("ANALYZE {table}", table=table))


def sql_text(template: str, **parts) -> str:
    """PostgreSQL only (COPY, DDL): `template` with `{name}` parts: a str is an identifier (table,
    column, constraint), a psycopg Composable is used as it is (e.g. identifiers joined)."""
    from psycopg import sql

    connection.ensure_connection()
    values = {name: sql.Identifier(value) if isinstance(value, str) else value for name, value in parts.items()}
    return sql.SQL(template).format(**values).as_string(connection.connection)


def binary_collation(field: str) -> Collate:
    """`field` compared and ordered by code point (the byte order of UTF-8), whatever the
    database's default collation: "C" on PostgreSQL, "BINARY" on SQLite."""
    return Collate(field, "C" if _postgresql() else "BINARY")


def rows_batches(queryset, *, size: int, binary: bool = False) -> Iterator[list[tuple]]:
    """Every row of a `values_list` queryset whose first column is the primary key, in lists of
    at most `size`, each row once, as it was when the first batch was read; rows inserted while
    iterating are left out. The caller may write the rows it was given before asking for more.
    The order of the rows is not part of the contract.

    PostgreSQL: one server-side cursor (its own snapshot); with `binary`, its rows in the binary
    format, for the columns `values_binary` takes (a million rows of 17 columns: several seconds
    less than the ORM's text rows). Run it in a transaction: the cursor lives until its end.
    SQLite, which has no isolation between a cursor and writes on the same connection: by
    primary-key ranges up to the largest key at the start.
    """
    if _postgresql() and binary and not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        yield from _binary_batches(queryset, size)
        return
    if _postgresql():
        batch = []
        for row in queryset.iterator(chunk_size=size):
            batch.append(row)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    highest = queryset.order_by().aggregate(highest=Max("pk"))["highest"]
    if highest is None:
        return
    last = None
    while True:
        page = queryset.filter(pk__lte=highest) if last is None else queryset.filter(pk__gt=last, pk__lte=highest)
        batch = list(page.order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _binary_batches(queryset, size: int) -> Iterator[list[tuple]]:
    query, params = queryset.query.sql_with_params()
    # Django's own server-side cursor, so the statement is logged like the ORM's (debug toolbar,
    # CaptureQueriesContext); psycopg declares it with the parameters bound client-side, and only
    # the fetches are binary.
    with connection.chunked_cursor() as cursor:
        logged = getattr(cursor, "debug_sql", None)  # present when queries are being logged
        with logged(query, params, use_last_executed_query=True) if logged else nullcontext():
            cursor.cursor.execute(query, params, binary=True)
        while batch := cursor.cursor.fetchmany(size):
            yield batch


def rows_update(
    *,
    model: type[Model],
    values: Sequence[str | tuple[str, Field]],
    rows: Sequence[Sequence],
    where: str,
    assign: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """UPDATE the model's table AS t FROM `rows` AS v WHERE `where`: many rows, each with its
    own values, in one statement per batch. Returns how many rows of the table changed.

    `values` names v's columns (a field name of `model`, v's column named after the field's
    column; or a (name, unbound Field) pair); each of `rows` holds them in that order. `assign`:
    column -> expression over t and v; `constants`: field name -> one value for every row.
    `where` must match each row of the table to at most one of `rows` (e.g. "t.id = v.id"); a
    condition on t there is checked against the row as it is at the write (a guard for writers
    that take no lock). PostgreSQL: `FROM unnest(arrays)`; SQLite: `FROM (VALUES ...)`.
    """
    table, assign, constants = model._meta.db_table, dict(assign or {}), dict(constants or {})
    columns = [_field(model, name) for name in values]
    names = [_qn(column) for column, _ in columns]
    fixed = {model._meta.get_field(name): value for name, value in constants.items()}
    mark = "%b" if _postgresql() else "%s"  # PostgreSQL: binary parameters (below)
    sets = ", ".join([*(f"{_qn(column)} = {expression}" for column, expression in assign.items()), *(f"{_qn(f.column)} = {mark}" for f in fixed)])
    fixed_params = [_db_value(f, value) for f, value in fixed.items()]
    changed = 0
    with connection.cursor() as cursor:
        if _postgresql():
            # The arrays go as binary parameters (%b, a server-side bound statement): the client
            # cursor Django uses would spell each value out in the statement's text, 800-byte
            # signatures in hex included (most of the CPU of storing a batch of them).
            arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for _, field in columns)
            statement = f"UPDATE {_qn(table)} AS t SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}) WHERE {where}"
            connection.ensure_connection()
            with psycopg.Cursor(connection.connection) as raw:
                for lo in range(0, len(rows), UNNEST_BATCH):
                    batch = rows[lo : lo + UNNEST_BATCH]
                    raw.execute(statement, [*fixed_params, *([row[i] for row in batch] for i in range(len(columns)))])
                    changed += raw.rowcount
            return changed
        step = _sqlite_rows_per_statement(len(columns) + len(fixed_params))
        renamed = ", ".join(f"column{i + 1} AS {name}" for i, name in enumerate(names))
        one_row = f"({', '.join(['%s'] * len(columns))})"
        for lo in range(0, len(rows), step):
            batch = rows[lo : lo + step]
            statement = f"UPDATE {_qn(table)} AS t SET {sets} FROM (SELECT {renamed} FROM (VALUES {', '.join([one_row] * len(batch))})) AS v WHERE {where}"
            cursor.execute(statement, [*fixed_params, *(_db_value(field, row[i]) for row in batch for i, (_, field) in enumerate(columns))])
            changed += cursor.rowcount
    return changed


def rows_upsert(
    *,
    model: type[Model],
    conflict: Sequence[str],
    assign: Mapping[str, str],
    where: str = "",
    returning: Sequence[str],
    objs: Sequence[Model] = (),
    columns: Sequence[str] = (),
    rows: Iterable[Sequence] = (),
) -> list[tuple]:
    """INSERT rows; a row that conflicts on the `conflict` columns is UPDATEd by `assign` (column ->
    expression over t, the stored row, and `excluded`, the proposed one) where `where` holds, and
    left as it is otherwise. Returns the `returning` columns of the rows inserted or updated, not of
    those left.

    The rows are either `objs` (model instances: every concrete field but the primary key, as the
    instances hold it) or `rows`, plain tuples of the fields named in `columns` (field names), every
    other concrete field taking its model default: no instance is built, which matters at a million
    rows. The rows hold each conflict key once. Run in a transaction (one is opened when none is).
    PostgreSQL: COPY into a session-private staging table, then one INSERT ... SELECT ... ON
    CONFLICT DO UPDATE ... RETURNING, several times faster than a multi-row INSERT with parameters
    (bench/README.md, figure a). SQLite: the same statement with VALUES, in batches.
    """
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    if objs:
        given = concrete
        rows = ([getattr(obj, f.attname) for f in concrete] for obj in objs)
    else:
        given = [model._meta.get_field(name) for name in columns]
    defaulted = [f for f in concrete if f not in given]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in defaulted]
    table = _qn(model._meta.db_table)
    names = ", ".join(_qn(f.column) for f in [*given, *defaulted])
    tail = (
        f"ON CONFLICT ({', '.join(map(_qn, conflict))}) DO UPDATE SET {', '.join(f'{_qn(c)} = {e}' for c, e in assign.items())}"
        f"{f' WHERE {where}' if where else ''} RETURNING {', '.join(map(_qn, returning))}"
    )
    found = []
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if _postgresql():
            copied = ", ".join(_qn(f.column) for f in given)
            # Named after its columns: a connection that outlived a migration never reuses a stale shape.
            stage = _qn(f"{model._meta.db_table}_{STAGE_PREFIX}_{hashlib.sha256(copied.encode()).hexdigest()[:8]}")
            # The given columns of the table, no constraints; emptied at every commit, and here.
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {copied} FROM {table} WITH NO DATA")
            cursor.execute(f"TRUNCATE {stage}")
            # Binary: no text escaping of long texts, no parsing of numbers and instants.
            with cursor.cursor.copy(f"COPY {stage} ({copied}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([f.db_type(connection).split("(")[0] for f in given])
                for row in rows:
                    copy.write_row(row)
            selected = ", ".join([copied, *(["%s"] * len(defaulted))])
            cursor.execute(f"INSERT INTO {table} AS t ({names}) SELECT {selected} FROM {stage} {tail}", defaults)
            return cursor.fetchall()
        width = len(given) + len(defaulted)
        step = _sqlite_rows_per_statement(width)
        one_row = f"({', '.join(['%s'] * width)})"
        batch = []

        def flush():
            params = [p for row in batch for p in (*(f.get_db_prep_save(v, connection) for f, v in zip(given, row)), *defaults)]
            cursor.execute(f"INSERT INTO {table} AS t ({names}) VALUES {', '.join([one_row] * len(batch))} {tail}", params)
            found.extend(cursor.fetchall())
            batch.clear()

        for row in rows:
            batch.append(row)
            if len(batch) == step:
                flush()
        if batch:
            flush()
    return found


def rows_insert(*, model: type[Model], columns: Mapping[str, Sequence], constants: Mapping[str, Any] | None = None) -> None:
    """INSERT one row per position of `columns` (field name -> values, all of one length, lists
    or numpy arrays) with `constants` (field name -> one value for every row), leaving out every
    row whose key is already stored (ON CONFLICT DO NOTHING: other constraints still raise).

    PostgreSQL: INSERT ... SELECT FROM unnest(arrays), 100,000 rows a statement. SQLite: VALUES.
    """
    _insert(model, columns, dict(constants or {}), conflict=" ON CONFLICT DO NOTHING")


def _insert(model, columns: Mapping[str, Sequence], constants: dict, *, conflict: str) -> None:
    fixed = [model._meta.get_field(name) for name in constants]
    given = [model._meta.get_field(name) for name in columns]
    names = ", ".join(_qn(f.column) for f in [*fixed, *given])
    values = list(columns.values())
    size = len(values[0]) if values else 0
    with connection.cursor() as cursor:
        if _postgresql():
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in given)
            selected = ", ".join([*(["%s"] * len(fixed)), *(f"v.c{i}" for i in range(len(given)))])
            statement = f"INSERT INTO {_qn(model._meta.db_table)} ({names}) SELECT {selected} FROM unnest({arrays}) AS v({', '.join(f'c{i}' for i in range(len(given)))}){conflict}"
            for lo in range(0, size, INSERT_BATCH):
                cursor.execute(statement, [*constants.values(), *(_as_list(v[lo : lo + INSERT_BATCH]) for v in values)])
            return
        step = _sqlite_rows_per_statement(len(fixed) + len(given))
        fixed_params = [_db_value(f, value) for f, value in zip(fixed, constants.values())]
        one_row = f"({', '.join(['%s'] * (len(fixed) + len(given)))})"
        for lo in range(0, size, step):
            batch = list(zip(*(_as_list(v[lo : lo + step]) for v in values)))
            params = [p for row in batch for p in (*fixed_params, *(_db_value(f, x) for f, x in zip(given, row)))]
            cursor.execute(f"INSERT INTO {_qn(model._meta.db_table)} ({names}) VALUES {', '.join([one_row] * len(batch))}{conflict}", params)


def rows_lookup(*, model: type[Model], fields: Sequence[str], filters: Mapping[str, Any], key: str, keys: Iterable) -> list[tuple]:
    """The `fields` of every row of the model whose `filters` fields equal their values and whose
    `key` is one of `keys` (each row once, in no particular order).

    PostgreSQL: a join with the unnested keys probes the index once per key; `key IN (...)` made
    the planner scan every row of the filter (bench/README.md). SQLite: `IN`, in batches.
    """
    keys = sorted(set(_as_list(keys)))
    found = []
    if not _postgresql():
        for lo in range(0, len(keys), LOOKUP_BATCH):
            found.extend(model._base_manager.filter(**filters, **{f"{key}__in": keys[lo : lo + LOOKUP_BATCH]}).values_list(*fields))
        return found
    key_field = model._meta.get_field(key)
    matched = [model._meta.get_field(name) for name in filters]
    on = " AND ".join([*(f"b.{_qn(f.column)} = %s" for f in matched), f"b.{_qn(key_field.column)} = k.key"])
    selected = ", ".join(f"b.{_qn(model._meta.get_field(name).column)}" for name in fields)
    statement = f"SELECT {selected} FROM unnest(%s::{key_field.db_type(connection)}[]) AS k(key) JOIN {_qn(model._meta.db_table)} AS b ON {on}"
    with connection.cursor() as cursor:
        for lo in range(0, len(keys), LOOKUP_BATCH):
            cursor.execute(statement, [keys[lo : lo + LOOKUP_BATCH], *filters.values()])
            found.extend(cursor.fetchall())
    return found


def rows_take(*, model: type[Model], fields: Sequence[str], key: str, keys: Iterable) -> list[tuple]:
    """Delete every row of the model whose `key` is one of `keys` and return their `fields` (each
    row once, in no particular order): one statement a batch, so a row is returned exactly when
    this transaction deleted it, never when another one took it first.

    Both: DELETE ... RETURNING (SQLite 3.35 or later); PostgreSQL joins the unnested keys, as
    `rows_lookup` does, SQLite uses `IN`, in batches.
    """
    keys = sorted(set(_as_list(keys)))
    table, key_field = _qn(model._meta.db_table), model._meta.get_field(key)
    returned = ", ".join(_qn(model._meta.get_field(name).column) for name in fields)
    taken = []
    with connection.cursor() as cursor:
        for lo in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[lo : lo + LOOKUP_BATCH]
            if _postgresql():
                cursor.execute(
                    f"DELETE FROM {table} USING unnest(%s::{key_field.db_type(connection)}[]) AS k(key) WHERE {table}.{_qn(key_field.column)} = k.key RETURNING {returned}",
                    [batch],
                )
            else:
                cursor.execute(f"DELETE FROM {table} WHERE {_qn(key_field.column)} IN ({', '.join(['%s'] * len(batch))}) RETURNING {returned}", batch)
            taken.extend(cursor.fetchall())
    return taken


def rows_move(*, source: type[Model], target: type[Model], scope: Mapping[str, Any], ordered: str = "") -> int:
    """Move every row of `source` in `scope` (field name -> value) into `target`, a model of the
    same concrete columns, leaving out those whose key `target` already holds (ON CONFLICT DO
    NOTHING); returns how many rows left `source`. One INSERT ... SELECT, then one DELETE, in a
    transaction (one is opened when none is). `ordered`: a column to insert in the order of (on
    PostgreSQL, so that a B-tree on it is filled page after page instead of at random)."""
    columns = ", ".join(_qn(f.column) for f in source._meta.concrete_fields if not f.primary_key)
    where = " AND ".join(f"{_qn(source._meta.get_field(name).column)} = %s" for name in scope)
    order = f" ORDER BY {_qn(ordered)}" if ordered and _postgresql() else ""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # SQLite parses the ON of a conflict clause after a SELECT only behind its WHERE (given here).
        cursor.execute(
            f"INSERT INTO {_qn(target._meta.db_table)} ({columns}) SELECT {columns} FROM {_qn(source._meta.db_table)} WHERE {where}{order} ON CONFLICT DO NOTHING",
            list(scope.values()),
        )
        cursor.execute(f"DELETE FROM {_qn(source._meta.db_table)} WHERE {where}", list(scope.values()))
        return cursor.rowcount


def rows_replace(*, model: type[Model], scope: Mapping[str, int], blocks: Iterable[Mapping[str, Sequence]], others_kept: bool = True) -> None:
    """Replace every row of the model in `scope` (field name -> value) by the given rows: the
    scope's values plus, block after block, the `blocks`' columns (field name -> values), so a
    caller holding millions of rows never builds them all at once. Every block names the same
    columns; a column is 64-bit integers (a list or a numpy array), or binary values of one width
    (an (n, width) uint8 array), or None (NULL in every row of the block). No two rows alike
    (IntegrityError on both). With `others_kept` False the rows outside the scope go too. Run in a
    transaction (one is opened when none is).

    PostgreSQL: TRUNCATE (others not kept) or DELETE, the primary key dropped, one binary COPY,
    the key built again in one sorted pass. After a TRUNCATE the COPY is `FREEZE`: its rows are
    written frozen and their pages all-visible, so no later reader has hint bits to set on them
    (each first read dirtied its page, bench/README.md). SQLite: DELETE and INSERT. The
    statistics are the caller's to refresh (`analyze`) once it has written all it writes: taken
    before that, they describe a table that is not the one the next queries read.
    """
    table = _qn(model._meta.db_table)
    scoped = {model._meta.get_field(name).column: value for name, value in scope.items()}
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if others_kept:
            cursor.execute(f"DELETE FROM {table} WHERE {' AND '.join(f'{_qn(c)} = %s' for c in scoped)}", list(scoped.values()))
        elif _postgresql():
            cursor.execute(f"TRUNCATE {table}")
        else:
            cursor.execute(f"DELETE FROM {table}")
        if not _postgresql():
            for block in blocks:
                _insert(model, _sqlite_block(block), dict(scope), conflict="")
            return
        columns = ({model._meta.get_field(name).column: v for name, v in block.items()} for block in blocks)
        # FREEZE needs the table truncated in this (sub)transaction: the statement just above.
        _copy_replacing_key(cursor, model, scoped, columns, freeze=not others_kept)


def _sqlite_block(block: Mapping[str, Sequence]) -> dict:
    """A `rows_replace` block as `_insert` takes it: NULL columns left out, binary rows as bytes."""
    import numpy as np

    out = {}
    for name, values in block.items():
        if values is None:
            continue
        out[name] = [row.tobytes() for row in values] if isinstance(values, np.ndarray) and values.ndim == 2 else values
    return out


COPY_ROWS = 20_000  # rows per block of a binary COPY


def _copy_row_type(names: list[str], values: dict):
    """The numpy record of one binary COPY row whose fields are `values[name]` in `names` order:
    the number of fields, then each field's length and bytes (an int8; `width` bytes; no bytes
    for a NULL, whose length is -1)."""
    import numpy as np

    parts = [("fields", ">i2")]
    for i, name in enumerate(names):
        parts.append((f"l{i}", ">i4"))
        value = values[name]
        if value is None:
            continue
        if isinstance(value, np.ndarray) and value.ndim == 2:
            parts.append((f"c{i}", "u1", (value.shape[1],)))
        else:
            parts.append((f"c{i}", ">i8"))
    return np.dtype(parts)


def _copy_replacing_key(cursor, model, scoped: dict, blocks: Iterable[dict], *, freeze: bool = False) -> None:
    import numpy as np

    table = model._meta.db_table
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [table])
    pkey, definition = cursor.fetchone()
    # One sorted build of the index after the COPY, instead of maintaining it row by row.
    cursor.execute(f"ALTER TABLE {_qn(table)} DROP CONSTRAINT {_qn(pkey)}")
    blocks = iter(blocks)
    first = next(blocks, {})
    names = [*scoped, *first]
    options = "FORMAT BINARY, FREEZE" if freeze else "FORMAT BINARY"
    with cursor.cursor.copy(f"COPY {_qn(table)} ({', '.join(map(_qn, names))}) FROM STDIN ({options})") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
        for block in chain([first], blocks) if first else ():
            values = {**scoped, **block}
            row_type = _copy_row_type(names, values)
            size = len(next(v for v in block.values() if v is not None))
            for lo in range(0, size, COPY_ROWS):
                rows = np.empty(min(COPY_ROWS, size - lo), dtype=row_type)
                rows["fields"] = len(names)
                for i, name in enumerate(names):
                    value = values[name]
                    if value is None:
                        rows[f"l{i}"] = -1
                    elif isinstance(value, np.ndarray) and value.ndim == 2:
                        rows[f"l{i}"] = value.shape[1]
                        rows[f"c{i}"] = value[lo : lo + COPY_ROWS]
                    else:
                        rows[f"l{i}"] = 8
                        rows[f"c{i}"] = value if name in scoped else np.asarray(value[lo : lo + COPY_ROWS], dtype=np.int64)
                copy.write(rows.tobytes())
        copy.write(b"\xff\xff")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute(f"ALTER TABLE {_qn(table)} ADD CONSTRAINT {_qn(pkey)} {definition}")


def row_lock_shared(*, model: type[Model], pk) -> None:
    """Lock one row in share mode until the transaction ends (PostgreSQL: SELECT ... FOR SHARE:
    other share holders go on, FOR UPDATE and FOR NO KEY UPDATE wait). SQLite has no row locks:
    its transaction's write lock serialises writers instead, so nothing is done."""
    if _postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {_qn(model._meta.db_table)} WHERE {_qn(model._meta.pk.column)} = %s FOR SHARE", [pk])
