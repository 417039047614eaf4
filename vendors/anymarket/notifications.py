"""ANYMARKET's notifications to the account's callback URL.

developers.anymarket.com.br/en/integration_guides/flow/notification: ANYMARKET POSTs
`{"type": "ORDER" | "PRODUCT" | "TRANSMISSION" | "INBOUND_NFE", "content": {"id": "…",
"oi": "…"}}` to the "Callback URL" entered on the ANYMARKET application's parameters page, and
expects 200 or 201; `oi` is the organization (account) id the change belongs to (e.g.
"99999."), `id` the order / product / transmission / invoice id. It tries 3 times; an order
then stays in the order feed we read anyway (30 days).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from vendors.parsing import Reader
from vendors.types import NotificationHint, NotificationKind

# TRANSMISSION (an offer's SKU), INBOUND_NFE and any type added later are well-formed but not
# used: None (a 400 would only make ANYMARKET retry).
TYPES = {"ORDER": NotificationKind.ORDER, "PRODUCT": NotificationKind.PRODUCT}


def parse_notification(headers: Mapping[str, str], body: object) -> NotificationHint | None:
    reader = Reader(vendor="ANYMARKET", subject="notification", zone=UTC)
    if not isinstance(body, dict):
        raise reader.error("body", body, "not a JSON object")
    kind = reader.code(body.get("type"), "type")
    content = body.get("content")
    if not isinstance(content, dict):
        raise reader.error("content", content, "not an object")
    resource = reader.identifier(content.get("id"), "content.id")
    account = reader.identifier(content.get("oi"), "content.oi")
    if kind not in TYPES:
        return None
    return NotificationHint(kind=TYPES[kind], resource=resource, account=account)
