"""The de-para proposed from what the vendor lists: the channel's “Fill de-para” page and the
demo's go-live read the vendor's values through the channel's connector, propose a row for
each value the channel has no row for (with `mappings.suggestions`: ECT is Correios, pix is
Pix…), and create the rows a person confirmed with `mappings.services.mappings_create_many`.
"""

from __future__ import annotations

from collections.abc import Iterable

from channels.models import SalesChannel
from mappings.suggestions import Proposal, propose_de_para
from sync.services.connectors import build_connector
from vendors.base import Connector
from vendors.types import ReferenceValue


def de_para_proposals(
    *,
    channel: SalesChannel,
    connector: Connector | None = None,
    known_values: Iterable[ReferenceValue] | None = None,
) -> list[Proposal]:
    """The rows the channel's de-para lacks for the values its vendor lists, each with a
    suggested ERP value (or None). `known_values`: values the caller knows the vendor sends
    without listing them (VTEX lists no payment systems), proposed after the listed ones.
    HTTP: never call it inside a database transaction. Raises vendors.errors.ConnectorError
    (its message redacted, fit to show) when the vendor cannot be read."""
    connector = connector or build_connector(channel)
    values = [*connector.reference_values(), *(known_values or ())]
    return propose_de_para(channel=channel, values=values)
