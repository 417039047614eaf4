"""VTEX's order hook (OMS): the call it makes to the URL we registered.

developers.vtex.com/docs/guides/orders-feed ("Hook"), and `POST /api/orders/hook/config` in
vendor-specs/vtex/orders.json: the hook is configured with our URL (`hook.url`) and headers
(`hook.headers`, where we put our secret), and a status filter. On registration VTEX checks the
URL with a body `{"hookConfig": "ping"}`, which must get a 200; each order change then comes
as `{"Domain": "Marketplace", "OrderId": "…", "State": "ready-for-handling", "LastState": "…",
"LastChange": "…", "CurrentChange": "…", "Origin": {"Account": "…", "Key": "…"}}`. The
endpoint must answer 200 within 5 s, or VTEX retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from vendors.parsing import Reader
from vendors.types import NotificationHint, NotificationKind

# The header carrying the secret we chose when registering the hook (hook.headers).
SECRET_HEADER = "X-Erpintegr-Secret"  # noqa: S105 (a header name, not a secret)


def parse_notification(headers: Mapping[str, str], body: object) -> NotificationHint | None:
    """The order hint, None for the registration ping. Raises InvalidVendorData naming the
    field when the body is neither."""
    reader = Reader(vendor="VTEX", subject="order hook", zone=UTC)
    if not isinstance(body, dict):
        raise reader.error("body", body, "not a JSON object")
    if body.get("hookConfig") == "ping":
        return None
    order_id = reader.identifier(body.get("OrderId"), "OrderId")
    reader.code(body.get("State"), "State")
    origin = body.get("Origin")
    if not isinstance(origin, dict):
        raise reader.error("Origin", origin, "not an object")
    account = reader.identifier(origin.get("Account"), "Origin.Account")
    return NotificationHint(kind=NotificationKind.ORDER, resource=order_id, account=account)
