"""Mercado Livre's notifications to the application's callback URL.

developers.mercadolivre.com.br/pt_br/produto-receba-notificacoes ("Notificações"): the
application's "URL de retorno de chamada de notificação" receives an HTTP POST per change on a
subscribed topic, a JSON body `{"resource": "/orders/2195160686", "user_id": 468424240,
"topic": "orders_v2", "application_id": 5503910054141466, "attempts": 1, "sent": "…",
"received": "…"}`; the body only names the resource, which is read with GET <resource>. The
vendor expects a 200 within 500 ms, retries otherwise, and turns the topic off after failing
for too long — so anything well-formed gets a 200, even a topic we do not use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from vendors.parsing import Reader
from vendors.types import NotificationHint, NotificationKind

# topic -> (kind, the resource path's prefix). `orders` is the older order topic (same
# resource path); questions, payments, messages … are not subscribed and get None.
TOPICS = {
    "orders_v2": (NotificationKind.ORDER, "/orders/"),
    "orders": (NotificationKind.ORDER, "/orders/"),
    "items": (NotificationKind.PRODUCT, "/items/"),
    "shipments": (NotificationKind.SHIPMENT, "/shipments/"),
}


def parse_notification(headers: Mapping[str, str], body: object) -> NotificationHint | None:
    """The hint in one notification, None for a well-formed one about a topic we do not use.
    Raises InvalidVendorData naming the field when the body is not Mercado Livre's format."""
    reader = Reader(vendor="Mercado Livre", subject="notification", zone=UTC)
    if not isinstance(body, dict):
        raise reader.error("body", body, "not a JSON object")
    topic = reader.code(body.get("topic"), "topic")
    user_id = reader.identifier(body.get("user_id"), "user_id")
    application_id = reader.identifier(body.get("application_id"), "application_id", default="")
    resource = reader.text(body.get("resource"), "resource")
    if topic not in TOPICS:
        return None
    kind, prefix = TOPICS[topic]
    if not resource.startswith(prefix):
        raise reader.error("resource", resource, f"not a {prefix}<id> path for topic {topic}")
    # "/orders/123", "/items/MLB1", "/shipments/4"; some topics append a sub-resource.
    resource_id = reader.identifier(resource[len(prefix) :].split("/")[0], "resource")
    return NotificationHint(
        kind=kind, resource=resource_id, account=user_id, application=application_id
    )
