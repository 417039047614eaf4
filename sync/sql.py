"""The pending-change upserts: one statement per chunk of given rows (see `erpintegr.db.bulk`
for why the ORM's bulk helpers would make the query count grow with the batch), or one
statement for every binding of a channel."""

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


def upsert_pending_for_bindings(*, channel_id: int, flow: str, version: int, now: datetime) -> int:
    """Every bound SKU of the channel pending for `flow`, in one INSERT … SELECT from its
    bindings (a full resync, an activation: the whole catalog). Same conflict rule as
    `upsert_pending`. Returns the rows inserted or updated."""
    from mappings.models import Listing
    from sync.models import PendingChange

    table = connection.ops.quote_name(PendingChange._meta.db_table)
    listings = connection.ops.quote_name(Listing._meta.db_table)
    with connection.cursor() as cursor:
        # The WHERE is also what tells SQLite's parser the ON CONFLICT is the upsert's.
        cursor.execute(
            f"INSERT INTO {table} (channel_id, flow, sku_id, version, changed_at) "
            f"SELECT channel_id, %s, sku_id, %s, %s FROM {listings} WHERE channel_id = %s "
            "ON CONFLICT (channel_id, flow, sku_id) DO UPDATE SET version = excluded.version",
            [str(flow), version, db_value(now), channel_id],
        )
        return cursor.rowcount


def upsert_pending_for_company_skus(
    *, channel_id: int, company_id: int, flow: str, version: int, now: datetime
) -> int:
    """Every SKU of the company pending for `flow` on the channel, bound or not, in one
    INSERT … SELECT (the catalog's full resync: unbound products are the ones to create).
    Same conflict rule as `upsert_pending`. Returns the rows inserted or updated."""
    from erp.models import Sku
    from sync.models import PendingChange

    table = connection.ops.quote_name(PendingChange._meta.db_table)
    skus = connection.ops.quote_name(Sku._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (channel_id, flow, sku_id, version, changed_at) "
            f"SELECT %s, %s, id, %s, %s FROM {skus} WHERE company_id = %s "
            "ON CONFLICT (channel_id, flow, sku_id) DO UPDATE SET version = excluded.version",
            [channel_id, str(flow), version, db_value(now), company_id],
        )
        return cursor.rowcount
