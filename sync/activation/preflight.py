"""The preflight: run every check of an activation and say whether it may go ahead.

All vendor calls of an activation happen here (verify, other applications, reference values,
listings), outside any database transaction; the result is a `PreflightReport`, which
`sync.activation.runs` stores on a PreflightRun for the confirmation page and the activation.
Writes nothing (a vendor that rotates tokens may store its new ones).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import SalesChannel
from sync.activation import checks
from sync.activation.checks import Check, CheckVerdicts
from sync.activation.connection import save_pace, verify_account
from sync.activation.matching import MatchResult, erp_index, match_listings
from vendors.base import Connector
from vendors.errors import ConnectorError, PermissionDeniedError
from vendors.types import ReferenceValue

logger = logging.getLogger("sync.activation")


@dataclass
class PreflightReport(CheckVerdicts):
    channel: SalesChannel
    checks: list[Check]
    account_id: str = ""
    match: MatchResult | None = None
    confirmation: str = ""
    # What the vendor listed for the de-para (None: not read), to check it again on confirm.
    reference_values: list[ReferenceValue] | None = None
    at: datetime = field(default_factory=timezone.now)
    # The connector the preflight verified, reused for the vendor setup of the activation.
    connector: Connector | None = field(default=None, repr=False)

    def checks_json(self) -> list[dict]:
        return [c.as_dict() for c in self.checks]


def activation_preflight(
    *,
    channel: SalesChannel,
    confirmation: str = "",
    connector: Connector | None = None,
    progress: Callable[[int], None] | None = None,
    phase: Callable[[str], None] | None = None,
    company_ids: Collection[int] | None = None,
) -> PreflightReport:
    """Run every check. Calls the vendor; writes nothing. `progress(n)` is called for every
    listing fetched, `phase(text)` when the preflight moves to its next step. `company_ids`
    is the scope of whoever reads the report (erp.selectors.visible_company_ids; None: every
    company): other companies' channels are not named to them."""
    label = channel.vendor.label
    say = phase or (lambda _text: None)
    say(_("Checking the stored credentials"))
    result: list[Check] = [checks.check_credentials(channel)]
    account_id, connection_error = "", ""
    if result[0].blocks:
        connection_error = _("Not checked: the credentials are incomplete.")
    else:
        say(_("Verifying the connection with %(vendor)s") % {"vendor": label})
        connector, account_id, connection_error = verify_account(channel, connector)
    result.append(checks.check_connection(account_id, connection_error, label))
    result.append(checks.check_same_account(channel, account_id, company_ids))

    match: MatchResult | None = None
    values: list[ReferenceValue] | None = None
    if connection_error:
        reason = _("the connection is not verified.")
        result += [
            checks.not_checked(key, checks.title_of(key), reason)
            for key in ("other_back_office", "de_para", "data")
        ]
    else:
        say(_("Asking %(vendor)s about other applications on the account") % {"vendor": label})
        result.append(_other_back_office(connector, label, confirmation))
        say(_("Reading the values of %(vendor)s for the de-para") % {"vendor": label})
        try:
            lists = connector.reference_lists()
        except ConnectorError as exc:
            result.append(
                checks.check_de_para(
                    channel,
                    None,
                    _("Could not read the values of %(vendor)s: %(error)s")
                    % {"vendor": label, "error": exc},
                )
            )
        else:
            values = list(lists.values)
            result.append(checks.check_de_para(channel, values, unread=lists.unread))
        try:
            say(_("Reading the ERP's SKUs"))
            erp = erp_index(channel.company_id)
            say(_("Reading the listings from %(vendor)s") % {"vendor": label})
            match = match_listings(connector.list_listings(), erp, progress=progress)
        except ConnectorError as exc:
            result.append(
                checks.check_data(
                    None,
                    _("Could not read the listings from %(vendor)s: %(error)s")
                    % {"vendor": label, "error": exc},
                )
            )
        else:
            result.append(checks.check_data(match))
    say(_("Checking the flows and settings"))
    result.append(checks.check_settings(channel))
    say(_("Checking what the catalog flow would publish"))
    result.append(checks.check_catalog(channel, match))
    save_pace(channel, connector)
    return PreflightReport(
        channel=channel,
        checks=result,
        account_id=account_id,
        match=match,
        confirmation=confirmation.strip(),
        reference_values=values,
        connector=connector if not connection_error else None,
    )


def _other_back_office(connector: Connector, label: str, confirmation: str) -> Check:
    """What the vendor lists; else what its probe (`Connector.probe_back_office`, in the
    adapter) found; when neither tells anything, the check says so and waits for support's
    confirmation — never "lists no other application"."""
    checked: list[str] = []
    try:
        found = connector.other_integrations()
        if found is None:
            checked.append(
                _("%(vendor)s does not list the applications connected to an account.")
                % {"vendor": label}
            )
            found = connector.probe_back_office()
            if found is None and connector.back_office_probe:
                checked.append(
                    _("Probed with %(probe)s: not refused, which proves nothing either way.")
                    % {"probe": connector.back_office_probe}
                )
    except PermissionDeniedError as exc:
        # The keys may not read the vendor's list (VTEX needs License Manager rights): the
        # vendor then tells us nothing, and support's confirmation is what we have.
        logger.info("Other integrations not readable for %s: %s", label, exc)
        check = checks.check_other_back_office(label=label, found=None, confirmation=confirmation)
        if check.blocks:
            check.message = _(
                "%(vendor)s refused to list the connected applications (%(error)s); grant that "
                "permission, or type the previous ERP (or “none”) and confirm it is "
                "disconnected."
            ) % {"vendor": label, "error": exc}
        return check
    except ConnectorError as exc:
        return checks.check_other_back_office(
            label=label,
            found=None,
            error=_("Could not ask %(vendor)s about other applications: %(error)s")
            % {"vendor": label, "error": exc},
        )
    return checks.check_other_back_office(
        label=label, found=found, confirmation=confirmation, checked=checked
    )
