"""ANYMARKET's notifications to the account's callback URL.

developers.anymarket.com.br/en/integration_guides/flow/notification: ANYMARKET POSTs
`{"type": "ORDER" | "PRODUCT" | "TRANSMISSION", "content": {"id": "…", "oi": "…"}}` to the
callback URL configured for the account; `oi` is the organization (account) id the change
belongs to, `id` the order / product / transmission id. It tries 3 times; an order then stays
in the order feed we read anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from vendors.parsing import Reader
from vendors.types import NotificationHint, NotificationKind

# TRANSMISSION (a marketplace listing's status) is well-formed but not used: None.
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
    if kind == "TRANSMISSION":
        return None
    if kind not in TYPES:
        raise reader.error("type", kind, "not ORDER, PRODUCT or TRANSMISSION")
    return NotificationHint(kind=TYPES[kind], resource=resource, account=account)
