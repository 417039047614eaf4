"""The activation's CSV report: every listing that matches nothing, every active ERP SKU
absent from the channel, every duplicate code — the rows the preflight page shows only the
first of. The last preflight's report is kept in the cache for the download link."""

from __future__ import annotations

import csv
import io

from django.core.cache import cache

from channels.models import SalesChannel
from erpintegr.csvsafe import escape_formula
from sync.activation.matching import MatchResult, erp_index, match_listings
from sync.services.connectors import build_connector

CACHE_SECONDS = 6 * 3600


def report_cache_key(channel_id: int) -> str:
    return f"erpintegr:activation:report:{channel_id}"


class _SafeWriter:
    """csv.writer that defuses cells a spreadsheet would run as a formula (vendor titles are
    typed by whoever runs the store)."""

    def __init__(self, out: io.StringIO) -> None:
        self.writer = csv.writer(out)

    def writerow(self, row: list) -> None:
        # The same rule as the de-para exports: = + - @ tab CR (erpintegr.csvsafe).
        self.writer.writerow([escape_formula(cell) for cell in row])


def report_csv(match: MatchResult) -> str:
    """Listings that match nothing and ERP SKUs absent from the channel, every row."""
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(
        ["problem", "seller_sku", "ean", "item_id", "variation_id", "sku_id", "title_or_name"]
    )
    for listing in match.unmatched + match.unbindable:
        ref = listing.ref
        writer.writerow(
            [
                "listing matches no ERP SKU",
                listing.seller_sku,
                listing.ean,
                ref.item_id,
                ref.variation_id,
                ref.sku_id,
                listing.title,
            ]
        )
    for row in match.absent:
        writer.writerow(["ERP SKU not on the channel", row.code, row.ean, "", "", "", row.name])
    for code, listings in match.duplicate_listing_codes.items():
        for listing in listings:
            ref = listing.ref
            writer.writerow(
                [
                    f"duplicate SKU code {code} on the channel",
                    listing.seller_sku,
                    listing.ean,
                    ref.item_id,
                    ref.variation_id,
                    ref.sku_id,
                    listing.title,
                ]
            )
    return out.getvalue()


def report_keep(*, channel: SalesChannel, match: MatchResult) -> str:
    """Build the report of a listing match and keep it for the download link."""
    text = report_csv(match)
    cache.set(report_cache_key(channel.pk), text, CACHE_SECONDS)
    return text


def activation_report_csv(*, channel: SalesChannel) -> str:
    """The last preflight's CSV, or a fresh listing match when it is no longer cached.
    A fresh match calls the vendor (HTTP)."""
    cached = cache.get(report_cache_key(channel.pk))
    if cached is not None:
        return cached
    match = match_listings(build_connector(channel).list_listings(), erp_index(channel.company_id))
    return report_keep(channel=channel, match=match)
