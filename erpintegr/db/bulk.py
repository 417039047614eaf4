"""Set-based writes the ORM would split into many queries, shared by the apps.

Django caps SQLite statements at 999 parameters (an old SQLite default) and splits
bulk_update/bulk_create accordingly, so the number of queries would grow with the batch.
SQLite ≥ 3.32 (and PostgreSQL) accept 32,766+ parameters; these helpers send one statement
per ROWS_PER_STATEMENT rows, which keeps a run's query count constant for every batch size
a vendor allows. The statements are valid SQLite (≥ 3.33) and PostgreSQL.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime

from django.db import connection

ROWS_PER_STATEMENT = 5000


def chunks(rows: Sequence, size: int = ROWS_PER_STATEMENT) -> Iterator[Sequence]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def db_value(value):
    """A parameter as the database expects it (datetimes through the backend's adapter)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def update_by_id(
    model, column_values: Sequence[tuple[int, object]], column: str, extra: dict
) -> None:
    """UPDATE model SET column = per-row value, and `extra` columns to one value, WHERE id."""
    if not column_values:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = connection.ops.quote_name(column)
    extra_sql = "".join(f", {connection.ops.quote_name(k)} = %s" for k in extra)
    extra_params = [db_value(v) for v in extra.values()]
    with connection.cursor() as cursor:
        for chunk in chunks(column_values):
            values = ", ".join(["(%s, %s)"] * len(chunk))
            params = [p for pair in chunk for p in pair]
            if connection.vendor == "postgresql":
                # VALUES parameters arrive untyped; cast to the column's type.
                cast = model._meta.get_field(column).db_type(connection)
                set_sql = f"{quoted} = CAST(v.column2 AS {cast})"
                where = "CAST(v.column1 AS bigint)"
            else:
                set_sql = f"{quoted} = v.column2"
                where = "v.column1"
            cursor.execute(
                f"UPDATE {table} SET {set_sql}{extra_sql} "
                f"FROM (VALUES {values}) AS v WHERE {table}.id = {where}",
                [*extra_params, *params],
            )


def insert_rows(model, columns: Sequence[str], rows: Sequence[Sequence]) -> int:
    """INSERT rows (one value per column, in `columns` order) into the model's table, as many
    rows per statement as the database's parameter limit allows. The caller gives every NOT
    NULL column (auto_now and defaults are not applied: no model instance is built) and
    passes datetimes through `db_value` once; that is what makes 100k rows take about a
    second where bulk_create takes tens."""
    if not rows:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Django declares no limit for PostgreSQL (None); its wire protocol counts parameters in
    # 16 bits, so 65,535 is the real ceiling there (SQLite declares its own).
    limit = connection.features.max_query_params or 65535
    size = max(1, min(ROWS_PER_STATEMENT, limit // len(columns)))
    with connection.cursor() as cursor:
        for chunk in chunks(rows, size):
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([per_row] * len(chunk))}",
                [value for row in chunk for value in row],
            )
    return len(rows)
