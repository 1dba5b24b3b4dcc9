"""Raw SQL text for the few statements the ORM cannot write (COPY, DDL, ANALYZE), PostgreSQL only.

Identifiers are quoted by psycopg's composition, never by string formatting, and the result is
plain text, so logs and captured queries show the statement as it ran.
"""

from django.db import connection


def sql_text(template: str, **parts) -> str:
    """`template` with `{name}` parts: a str is an identifier (table, column, constraint), a
    psycopg Composable is used as it is (e.g. a list of identifiers joined)."""
    from psycopg import sql

    connection.ensure_connection()
    values = {name: sql.Identifier(value) if isinstance(value, str) else value for name, value in parts.items()}
    return sql.SQL(template).format(**values).as_string(connection.connection)
