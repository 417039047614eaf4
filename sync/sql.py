"""The pending-change upsert in one statement per chunk (see `erpintegr.db.bulk` for why the
ORM's bulk helpers would make the query count grow with the batch)."""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from erpintegr.db.bulk import chunks, db_value


def upsert_pending(rows: Sequence[tuple[int, str, int, int, datetime]]) -> None:
    """INSERT (channel_id, flow, sku_id, version, changed_at) … ON CONFLICT: new version,
    changed_at kept (the first time the channel went stale)."""
    from sync.models import PendingChange

    table = connection.ops.quote_name(PendingChange._meta.db_table)
    with connection.cursor() as cursor:
        for chunk in chunks(rows):
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [value for row in chunk for value in row]
            cursor.execute(
                f"INSERT INTO {table} (channel_id, flow, sku_id, version, changed_at) "
                f"VALUES {values} "
                "ON CONFLICT (channel_id, flow, sku_id) DO UPDATE SET version = excluded.version",
                [db_value(p) for p in params],
            )
