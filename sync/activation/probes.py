"""Vendor probes for "is another back office (ERP) already connected?" where the connector's
`other_integrations()` answers None (the vendor lists nothing).

ANYMARKET lists no connected applications, but its rule is one back office per account, and an
account already integrated with another ERP refuses our writes with 403 naming that ERP. A
write of an empty stock list changes nothing anywhere, and is refused the same way: a 403 means
"linked elsewhere", any other answer (2xx, or 422 "empty list") means the write path is ours.

This belongs in `AnymarketConnector.other_integrations()` (returning [] or the link found);
it lives here only until that connector adopts it, and it goes through the connector's own
HTTP client, so timeouts, retries, rate limit and redaction are the connector's.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sync.connectors.base import Connector, OtherIntegration
from sync.connectors.http import (
    AuthError,
    ConnectorError,
    PermissionDeniedError,
    ValidationFailedError,
)


def _anymarket_back_office(connector: Connector) -> list[OtherIntegration]:
    http = getattr(connector, "http", None)
    if http is None:
        raise ConnectorError("The ANYMARKET connector has no HTTP client to probe with.")
    try:
        http.put("stocks", json=[])
    except AuthError:
        raise
    except PermissionDeniedError as exc:
        return [
            OtherIntegration(
                app_id="back-office",
                name=_vendor_message(exc.body) or "another back office",
                detail="ANYMARKET refused a no-op stock write with 403: the account is "
                "integrated with another back office (ANYMARKET allows only one).",
            )
        ]
    except ValidationFailedError:
        return []  # the empty list itself was refused: the write path is open to us
    return []


def _vendor_message(body: str) -> str:
    try:
        data = json.loads(body or "")
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:300]
    return ""


BACK_OFFICE_PROBES: dict[str, Callable[[Connector], list[OtherIntegration]]] = {
    "anymarket": _anymarket_back_office,
}


def probe_back_office(connector: Connector) -> list[OtherIntegration] | None:
    """Other back offices found by a vendor probe, or None when no probe exists."""
    probe = BACK_OFFICE_PROBES.get(connector.key)
    return probe(connector) if probe is not None else None
