"""The activation's CSV report: every listing that matches nothing, every active ERP SKU
absent from the channel, every duplicate code — the rows the preflight page shows only the
first of. Built by the preflight run (`sync.activation.runs`) and stored with its result, so
the download link never reads the listings again."""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from channels.models import SalesChannel
from erpintegr.csvsafe import escape_formula
from sync.activation.matching import MatchResult
from sync.models import PreflightRun, PreflightState


class _SafeWriter:
    """csv.writer that defuses cells a spreadsheet would run as a formula (vendor titles are
    typed by whoever runs the store)."""

    def __init__(self, out: io.StringIO) -> None:
        self.writer = csv.writer(out)

    def writerow(self, row: list) -> None:
        # The same rule as the de-para exports: = + - @ tab CR (erpintegr.csvsafe).
        self.writer.writerow([escape_formula(cell) for cell in row])


def report_csv(match: MatchResult) -> str:
    """Listings that match nothing and ERP SKUs absent from the channel, every row. Written in
    the current language (the worker's: the requester's), headers included — a report for
    people, read by no import."""
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(
        [
            _("problem"),
            _("seller SKU"),
            _("EAN"),
            _("item id"),
            _("variation id"),
            _("SKU id"),
            _("title or name"),
        ]
    )
    unmatched, absent = _("listing matches no ERP SKU"), _("ERP SKU not on the channel")
    for listing in match.unmatched + match.unbindable:
        ref = listing.ref
        writer.writerow(
            [
                unmatched,
                listing.seller_sku,
                listing.ean,
                ref.item_id,
                ref.variation_id,
                ref.sku_id,
                listing.title,
            ]
        )
    for row in match.absent:
        writer.writerow([absent, row.code, row.ean, "", "", "", row.name])
    for code, listings in match.duplicate_listing_codes.items():
        for listing in listings:
            ref = listing.ref
            writer.writerow(
                [
                    _("duplicate SKU code %(code)s on the channel") % {"code": code},
                    listing.seller_sku,
                    listing.ean,
                    ref.item_id,
                    ref.variation_id,
                    ref.sku_id,
                    listing.title,
                ]
            )
    return out.getvalue()


def activation_report_csv(*, channel: SalesChannel) -> str | None:
    """The CSV of the channel's latest preflight that read the listings; None when no
    preflight did (the page runs one)."""
    return (
        PreflightRun.objects.filter(channel=channel, state=PreflightState.DONE)
        .filter(summary__has_key="fetched")
        .order_by("-created_at", "-id")
        .values_list("report_csv", flat=True)
        .first()
    )
