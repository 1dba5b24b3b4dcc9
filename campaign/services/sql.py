"""Raw SQL for the few statements the ORM cannot write (COPY, DDL, ANALYZE), PostgreSQL only.

Identifiers are quoted by psycopg's composition, never by string formatting, and the result is
plain text, so logs and captured queries show the statement as it ran.
"""

from django.db import connection


def values_binary(queryset) -> list[tuple]:
    """Every row of a `values_list` queryset, fetched in PostgreSQL's binary format: dates and
    numbers load several times faster than from text (714,000 qualifying posts: 0.5 s instead of
    2.7 s). Only for columns that need no Django converter (plain numbers, text, aware
    datetimes). Elsewhere: the queryset's rows as they are."""
    if connection.vendor != "postgresql":
        return list(queryset)
    import psycopg

    query, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params, binary=True)
        return cursor.fetchall()


def analyze(table: str) -> None:
    """Refresh the planner's statistics of `table` (PostgreSQL; nothing elsewhere)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql_text("ANALYZE {table}", table=table))


def sql_text(template: str, **parts) -> str:
    """`template` with `{name}` parts: a str is an identifier (table, column, constraint), a
    psycopg Composable is used as it is (e.g. a list of identifiers joined)."""
    from psycopg import sql

    connection.ensure_connection()
    values = {name: sql.Identifier(value) if isinstance(value, str) else value for name, value in parts.items()}
    return sql.SQL(template).format(**values).as_string(connection.connection)
