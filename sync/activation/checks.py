"""The preflight checks of an activation, one function per check.

Each returns a `Check` (pass / warn / block, a one-line message, details) and writes nothing.
Checks that concern the vendor take values already fetched by `sync.activation.preflight`,
which does all HTTP outside any database transaction; the database-side checks here are
cheap enough to run again inside the activation's transaction (`sync.activation.activate`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.models import ChannelStatus, SalesChannel
from channels.services import stored_credential_names
from mappings.models import MappingKind, mapping_model_for
from mappings.selectors import translate
from sync.activation.matching import (
    ErpIndex,
    MatchResult,
    describe_listing,
    describe_sku,
)
from sync.services.push import PUSH_PLANS
from vendors.spec import Flow
from vendors.types import OtherIntegration, ReferenceValue, UnreadReference

FIRST_ROWS = 20  # rows shown on the page per problem; the CSV has them all


class CheckStatus(models.TextChoices):
    PASS = "pass", gettext_lazy("Pass")
    WARN = "warn", gettext_lazy("Warning")
    BLOCK = "block", gettext_lazy("Blocks activation")


# Each check's title by its key: stored with the result in the language it ran in, shown in
# the reader's (Check.display_title).
TITLES = {
    "credentials": gettext_lazy("Credentials complete"),
    "connection": gettext_lazy("Connection verified live"),
    "same_account": gettext_lazy("No other channel of this system on the account"),
    "other_back_office": gettext_lazy("No other ERP connected to the account"),
    "de_para": gettext_lazy("De-para complete"),
    "data": gettext_lazy("Data compatible"),
    "settings": gettext_lazy("Flows and settings within the vendor's limits"),
    "catalog": gettext_lazy("Catalog publishing"),
    "status": gettext_lazy("Channel status"),
}


def title_of(key: str) -> str:
    return str(TITLES[key])


@dataclass
class Check:
    key: str
    title: str
    status: str
    message: str
    details: list[str] = field(default_factory=list)
    # Blocks until support types the confirmation about the previous ERP (vendor tells nothing).
    needs_confirmation: bool = False

    @property
    def blocks(self) -> bool:
        return self.status == CheckStatus.BLOCK

    @property
    def display_title(self) -> str:
        """The title in the reader's language (a stored result keeps the one it ran in)."""
        return title_of(self.key) if self.key in TITLES else self.title

    def as_dict(self) -> dict:
        data = {
            "key": self.key,
            "title": self.title,
            "status": str(self.status),
            "message": self.message,
            "details": list(self.details),
        }
        if self.needs_confirmation:
            data["needs_confirmation"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Check:
        """A check as stored by `as_dict` (a preflight run, an activation record)."""
        return cls(
            key=str(data.get("key", "")),
            title=str(data.get("title", "")),
            status=str(data.get("status", CheckStatus.BLOCK)),
            message=str(data.get("message", "")),
            details=[str(line) for line in data.get("details") or []],
            needs_confirmation=bool(data.get("needs_confirmation", False)),
        )


class CheckVerdicts:
    """What a list of checks (`self.checks`) means for the activation: the preflight's report
    (preflight.PreflightReport) and a stored run's result (runs.PreflightResult) alike."""

    checks: list[Check]

    @property
    def blocking(self) -> list[Check]:
        return [c for c in self.checks if c.blocks]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == CheckStatus.WARN]

    @property
    def can_activate(self) -> bool:
        return not self.blocking

    @property
    def needs_confirmation(self) -> bool:
        return any(c.needs_confirmation for c in self.blocking)

    @property
    def can_activate_with_confirmation(self) -> bool:
        """Nothing blocks but the confirmation support types on the same page."""
        return all(c.needs_confirmation for c in self.blocking)


def not_checked(key: str, title: str, reason: str) -> Check:
    return Check(key, title, CheckStatus.BLOCK, _("Not checked: %(reason)s") % {"reason": reason})


def _more(total: int, shown: int) -> list[str]:
    if total <= shown:
        return []
    return [_("… and %(count)s more (download the CSV report).") % {"count": total - shown}]


# --- credentials, account, other ERPs ---------------------------------------------------------


def check_credentials(channel: SalesChannel) -> Check:
    connector = channel.vendor
    stored = stored_credential_names(channel=channel)
    missing = [
        str(f.label)
        for f in connector.user_credential_fields()
        if f.required and f.name not in stored
    ]
    title = title_of("credentials")
    if missing:
        return Check(
            "credentials",
            title,
            CheckStatus.BLOCK,
            _("%(vendor)s needs %(fields)s; fill them in on the channel.")
            % {"vendor": connector.label, "fields": ", ".join(str(m) for m in missing)},
            details=[str(m) for m in missing],
        )
    return Check("credentials", title, CheckStatus.PASS, _("Every required field is stored."))


def check_connection(account_id: str, error: str, label: str = "") -> Check:
    title = title_of("connection")
    if error:
        return Check("connection", title, CheckStatus.BLOCK, error)
    if not account_id:
        # Only for a vendor that names no account (verify_account refuses a blank id from
        # the others): the credentials work, and that is all the vendor says.
        return Check(
            "connection",
            title,
            CheckStatus.PASS,
            _("%(vendor)s answered: the credentials work. It does not name the account they open.")
            % {"vendor": label or _("The vendor")},
        )
    return Check(
        "connection",
        title,
        CheckStatus.PASS,
        _("The vendor answered; account id %(account)s.") % {"account": account_id},
    )


def _describe_active_channel(other: SalesChannel, company_ids: Collection[int] | None) -> str:
    environment = other.get_environment_display()
    if company_ids is not None and other.company_id not in company_ids:
        # The conflict blocks whoever asks, but only those who see that company learn which
        # channel it is (support finds it by the account id in the channel list).
        return _("An active channel of another company (%(environment)s)") % {
            "environment": environment
        }
    return _("“%(channel)s” of %(company)s (%(environment)s)") % {
        "channel": other.name,
        "company": other.company,
        "environment": environment,
    }


def check_same_account(
    channel: SalesChannel, account_id: str, company_ids: Collection[int] | None = None
) -> Check:
    """(a) No other ACTIVE channel of this system, any company or environment, on the account.
    Details name the other channels of `company_ids` only (None: every company)."""
    title = title_of("same_account")
    if not account_id and not channel.vendor.identifies_account:
        return _same_account_unknowable(channel, company_ids)
    if not account_id:
        return not_checked("same_account", title, _("the account id is unknown."))
    others = list(
        SalesChannel.objects.filter(
            connector=channel.connector,
            external_account_id=account_id,
            status=ChannelStatus.ACTIVE,
        )
        .exclude(pk=channel.pk)
        .select_related("company")
    )
    if others:
        return Check(
            "same_account",
            title,
            CheckStatus.BLOCK,
            _(
                "Account %(account)s is already integrated through another active channel; "
                "only one ERP integration per store at a time."
            )
            % {"account": account_id},
            details=[_describe_active_channel(o, company_ids) for o in others],
        )
    return Check(
        "same_account",
        title,
        CheckStatus.PASS,
        _("No other active channel is bound to account %(account)s.") % {"account": account_id},
    )


def _same_account_unknowable(channel: SalesChannel, company_ids: Collection[int] | None) -> Check:
    """The vendor names no account (ANYMARKET): whether another channel of this system is on
    the same account cannot be checked — not guessed either (a made-up identity would block a
    real second account). Support confirms, seeing this vendor's active channels."""
    label = channel.vendor.label
    others = list(
        SalesChannel.objects.filter(connector=channel.connector, status=ChannelStatus.ACTIVE)
        .exclude(pk=channel.pk)
        .select_related("company")
    )
    details = [_describe_active_channel(o, company_ids) for o in others]
    message = _(
        "Not checkable through the API: %(vendor)s does not name the account a token opens, "
        "so another channel of this system on the same account cannot be detected. If one of "
        "the active %(vendor)s channels listed is on this account, deactivate it first; the "
        "confirmation about the previous ERP below covers it."
    ) % {"vendor": label}
    if not others:
        message += " " + _("No other %(vendor)s channel is active.") % {"vendor": label}
    return Check(
        "same_account",
        title_of("same_account"),
        CheckStatus.BLOCK,
        message,
        details=details,
        needs_confirmation=True,
    )


def check_other_back_office(
    *,
    label: str,
    found: list[OtherIntegration] | None,
    error: str = "",
    confirmation: str = "",
    checked: list[str] | None = None,
) -> Check:
    """(b) other back-office applications the vendor lists, or (c) support's typed
    confirmation when the vendor tells nothing (`found` is None). `checked` says what was
    tried and why it proves nothing (shown as details)."""
    key, title = "other_back_office", title_of("other_back_office")
    if error:
        return Check(key, title, CheckStatus.BLOCK, error)
    if found is None:
        details = list(checked or [])
        if confirmation.strip():
            return Check(
                key,
                title,
                CheckStatus.PASS,
                _(
                    "Not checkable through the API (%(vendor)s does not list connected "
                    "applications); support confirmed: %(confirmation)s"
                )
                % {"vendor": label, "confirmation": confirmation.strip()},
                details=details,
            )
        return Check(
            key,
            title,
            CheckStatus.BLOCK,
            _(
                "Not checkable through the API: %(vendor)s does not list the applications "
                "connected to the account. Type the previous ERP (or “none”) and confirm it is "
                "disconnected."
            )
            % {"vendor": label},
            details=details,
            needs_confirmation=True,
        )
    if found:
        return Check(
            key,
            title,
            CheckStatus.BLOCK,
            _(
                "%(vendor)s reports %(count)s other application(s) connected to the account; "
                "disconnect the previous ERP there first."
            )
            % {"vendor": label, "count": len(found)},
            details=[
                " — ".join(
                    part
                    for part in (
                        other.name or _("(unnamed)"),
                        _("id %(id)s") % {"id": other.app_id},
                        _("since %(when)s") % {"when": other.connected_at}
                        if other.connected_at
                        else "",
                        other.detail,
                    )
                    if part
                )
                for other in found
            ],
        )
    return Check(
        key,
        title,
        CheckStatus.PASS,
        _("%(vendor)s lists no other application.") % {"vendor": label},
    )


def apply_confirmation(checks: list[Check], *, label: str, confirmation: str) -> list[Check]:
    """The checks with support's typed confirmation applied: each check that waited for it
    (another ERP on the account, another channel of this system on an account the vendor
    does not name) passes when something was typed, and is left as it was otherwise. Writes
    nothing."""
    if not confirmation.strip():
        return list(checks)
    return [_confirmed(check, label, confirmation) for check in checks]


def _confirmed(check: Check, label: str, confirmation: str) -> Check:
    if not (check.needs_confirmation and check.blocks):
        return check
    if check.key == "other_back_office":
        return check_other_back_office(
            label=label, found=None, confirmation=confirmation, checked=check.details
        )
    if check.key == "same_account":
        return Check(
            check.key,
            check.title,
            CheckStatus.PASS,
            _(
                "Not checkable through the API (%(vendor)s does not name the account a token "
                "opens); support confirmed: %(confirmation)s"
            )
            % {"vendor": label, "confirmation": confirmation.strip()},
            details=check.details,
        )
    return check


# --- de-para --------------------------------------------------------------------------------


def _describe_missing(missing) -> str:
    kind = MappingKind(missing.kind).label
    if missing.kind == MappingKind.CARRIER_SERVICE:
        carrier = missing.parent_code or _("(no carrier)")
        service = missing.code or _("(any service)")
        label = f" ({missing.label})" if missing.label and missing.label != missing.code else ""
        return f"{kind}: {carrier} / {service}{label}"
    label = f" ({missing.label})" if missing.label and missing.label != missing.code else ""
    return f"{kind}: {missing.code}{label}"


def _describe_unread(channel: SalesChannel, gap: UnreadReference) -> str:
    kind = MappingKind(gap.kind).label
    has_fallback = (
        mapping_model_for(gap.kind)
        ._default_manager.filter(channel=channel, is_fallback=True)
        .exists()
    )
    then = (
        _("any other value is covered by the “anything else” row.")
        if has_fallback
        else _("any other value will hold its order until it is mapped (Unmapped values).")
    )
    return _(
        "%(kind)s: %(source)s failed (%(reason)s); checked against the values seen in recent "
        "orders instead, and %(then)s"
    ) % {"kind": kind, "source": gap.source, "reason": gap.reason, "then": then}


def check_de_para(
    channel: SalesChannel,
    values: list[ReferenceValue] | None,
    error: str = "",
    unread: Collection[UnreadReference] = (),
) -> Check:
    """Every value the vendor lists has a de-para row or a fallback. `unread`: lists the
    vendor could not give — a warning with the reason, not a block: `values` then holds that
    kind's values seen in recent orders, and the fallback rows cover the rest."""
    key, title = "de_para", title_of("de_para")
    if error:
        return Check(key, title, CheckStatus.BLOCK, error)
    if values is None:
        return not_checked(key, title, _("the vendor's values could not be read."))
    gaps = [_describe_unread(channel, gap) for gap in unread]
    translation = translate(channel=channel, requests=values)
    missing = translation.missing
    if missing:
        shown = [_describe_missing(m) for m in missing[:FIRST_ROWS]]
        return Check(
            key,
            title,
            CheckStatus.BLOCK,
            _(
                "%(missing)s of the %(values)s values the vendor lists have no de-para row "
                "and no “anything else” fallback."
            )
            % {"missing": len(missing), "values": len(values)},
            details=shown + _more(len(missing), len(shown)) + gaps,
        )
    if gaps:
        return Check(
            key,
            title,
            CheckStatus.WARN,
            _(
                "%(count)s of the vendor's lists could not be read; all %(values)s values "
                "checked (what it listed, and what its recent orders carry) are mapped or "
                "covered by a fallback."
            )
            % {"count": len(gaps), "values": len(values)},
            details=gaps,
        )
    return Check(
        key,
        title,
        CheckStatus.PASS,
        _("All %(values)s values the vendor lists are mapped (or covered by a fallback).")
        % {"values": len(values)},
    )


# --- data compatibility -----------------------------------------------------------------------


def erp_duplicate_details(erp: ErpIndex) -> list[str]:
    details = []
    for ids in erp.duplicate_codes.values():
        codes = ", ".join(f"“{erp.rows[i].code}”" for i in ids)
        details.append(
            _("ERP SKU codes differing only by case or spaces: %(codes)s") % {"codes": codes}
        )
    for ids in erp.duplicate_eans.values():
        codes = ", ".join(erp.rows[i].code for i in ids)
        details.append(
            _("EAN %(ean)s is on %(count)s active ERP SKUs: %(codes)s")
            % {"ean": erp.rows[ids[0]].ean, "count": len(ids), "codes": codes}
        )
    return details


def check_erp_duplicates(erp: ErpIndex) -> Check | None:
    """The ERP-side part of the data check, re-run inside the activation transaction."""
    details = erp_duplicate_details(erp)
    if not details:
        return None
    return Check(
        "data",
        title_of("data"),
        CheckStatus.BLOCK,
        _("%(count)s duplicate registration(s) in the ERP; fix them before activating.")
        % {"count": len(details)},
        details=details[:FIRST_ROWS] + _more(len(details), FIRST_ROWS),
    )


def check_data(match: MatchResult | None, error: str = "") -> Check:
    key, title = "data", title_of("data")
    if error:
        return Check(key, title, CheckStatus.BLOCK, error)
    if match is None:
        return not_checked(key, title, _("the channel's listings could not be read."))
    blocks: list[str] = []
    for code, listings in match.duplicate_listing_codes.items():
        shown = "; ".join(describe_listing(listing) for listing in listings[:3])
        blocks.append(
            _("%(count)s listings carry SKU code %(code)s: %(listings)s")
            % {"count": len(listings), "code": code, "listings": shown}
        )
    blocks += erp_duplicate_details(match.erp)
    for sku_id, listings in match.sku_matched_twice.items():
        shown = "; ".join(describe_listing(listing) for listing in listings[:3])
        blocks.append(
            _("ERP SKU %(code)s matches %(count)s listings: %(listings)s")
            % {"code": match.erp.rows[sku_id].code, "count": len(listings), "listings": shown}
        )
    summary = _(
        "Fetched %(fetched)s listing(s): %(matched)s match an ERP SKU, %(unmatched)s match "
        "nothing; %(absent)s active ERP SKU(s) are not on the channel."
    ) % {
        "fetched": match.fetched,
        "matched": len(match.matches),
        "unmatched": len(match.unmatched) + len(match.unbindable),
        "absent": len(match.absent),
    }
    if blocks:
        return Check(
            key,
            title,
            CheckStatus.BLOCK,
            _("%(count)s duplicate(s) would register something twice or lose data. %(summary)s")
            % {"count": len(blocks), "summary": summary},
            details=blocks[:FIRST_ROWS] + _more(len(blocks), FIRST_ROWS),
        )
    warnings: list[str] = []
    unmatched = match.unmatched + match.unbindable
    if unmatched:
        warnings.append(
            _("%(count)s listing(s) match no ERP SKU (they will not be managed):")
            % {"count": len(unmatched)}
        )
        warnings += [f"  {describe_listing(listing)}" for listing in unmatched[:FIRST_ROWS]]
        warnings += _more(len(unmatched), min(len(unmatched), FIRST_ROWS))
    if match.absent:
        warnings.append(
            _("%(count)s active ERP SKU(s) are not on the channel:") % {"count": len(match.absent)}
        )
        warnings += [f"  {describe_sku(row)}" for row in match.absent[:FIRST_ROWS]]
        warnings += _more(len(match.absent), min(len(match.absent), FIRST_ROWS))
    if warnings:
        return Check(key, title, CheckStatus.WARN, summary, details=warnings)
    return Check(key, title, CheckStatus.PASS, summary)


# --- catalog publishing -----------------------------------------------------------------------


def check_catalog(channel: SalesChannel, match: MatchResult | None) -> Check:
    """What the catalog flow would do once the channel is active: the ERP products it would
    create (no SKU of theirs on the channel), update (a SKU bound or matched), and those that
    would wait for a catalog de-para row (never a block: they wait, the rest is published).
    Off: says so, with what turning it on would do (support chooses on the activation page).
    Streams the company's products and SKUs; five queries."""
    from erp.models import Product, Sku, SkuAttributeValue
    from mappings.models import AttributeMapping, BrandMapping, CategoryMapping, Listing

    key, title = "catalog", title_of("catalog")
    publishing = channel.sync_settings.filter(flow=Flow.CATALOG, enabled=True).exists()
    on_channel = {sku_id for _listing, sku_id, _by in match.matches} if match else set()
    on_channel |= set(Listing.objects.filter(channel=channel).values_list("sku_id", flat=True))
    products_on_channel: set[int] = set()
    products_with_skus: set[int] = set()
    for product_id, sku_id in (
        Sku.objects.filter(company_id=channel.company_id)
        .values_list("product_id", "pk")
        .iterator(chunk_size=5000)
    ):
        products_with_skus.add(product_id)
        if sku_id in on_channel:
            products_on_channel.add(product_id)
    mapped_categories = set(
        CategoryMapping.objects.filter(channel=channel).values_list("target_id", flat=True)
    )
    mapped_brands = set(
        BrandMapping.objects.filter(channel=channel).values_list("target_id", flat=True)
    )
    missing: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for product_id, name, category_id, category_path, brand_id, brand_name in (
        Product.objects.filter(company_id=channel.company_id, pk__in=products_with_skus)
        .values_list("pk", "name", "category_id", "category__path", "brand_id", "brand__name")
        .iterator(chunk_size=5000)
    ):
        names[product_id] = name
        if category_id and category_id not in mapped_categories:
            missing.setdefault(product_id, []).append(
                _("category %(value)s") % {"value": category_path}
            )
        if brand_id and brand_id not in mapped_brands:
            missing.setdefault(product_id, []).append(_("brand %(value)s") % {"value": brand_name})
    mapped_values = AttributeMapping.objects.filter(
        channel=channel, target_value__isnull=False
    ).values("target_value_id")
    for product_id, attribute, value in (
        SkuAttributeValue.objects.filter(sku__company_id=channel.company_id)
        .exclude(value_id__in=mapped_values)
        .values_list("sku__product_id", "attribute__name", "value__value")
        .distinct()
        .iterator(chunk_size=5000)
    ):
        text = _("attribute %(value)s") % {"value": f"{attribute} = {value}"}
        if text not in missing.setdefault(product_id, []):
            missing[product_id].append(text)
    updated = len(products_on_channel - set(missing))
    created = len(products_with_skus - products_on_channel - set(missing))
    counts = {"created": created, "updated": updated, "waiting": len(missing)}
    if not publishing:
        # Support chooses on the activation page; the counts say what "on" would do.
        return Check(
            key,
            title,
            CheckStatus.PASS,
            _(
                "Catalog publishing is off: the ERP's products are not sent to the channel. "
                "With it on, %(created)s product(s) would be created, %(updated)s updated, and "
                "%(waiting)s would wait for a catalog de-para row."
            )
            % counts,
        )
    summary = (
        _(
            "%(created)s product(s) would be created on the channel, %(updated)s updated; "
            "%(waiting)s wait for a catalog de-para row."
        )
        % counts
    )
    if not missing:
        return Check(key, title, CheckStatus.PASS, summary)
    rows = sorted(missing.items(), key=lambda item: names.get(item[0], ""))
    details = [
        _("%(product)s lacks the de-para of: %(values)s")
        % {"product": names.get(product_id, product_id), "values": ", ".join(values)}
        for product_id, values in rows[:FIRST_ROWS]
    ] + _more(len(rows), min(len(rows), FIRST_ROWS))
    return Check(key, title, CheckStatus.WARN, summary, details=details)


# --- flows and settings -----------------------------------------------------------------------


def check_settings(channel: SalesChannel) -> Check:
    key, title = "settings", title_of("settings")
    connector = channel.vendor
    problems: list[str] = []
    enabled = []
    for setting in channel.sync_settings.all():
        setting.channel = channel
        try:
            setting.clean()
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                problems += [f"{setting.get_flow_display()}: {m}" for m in messages]
        if setting.enabled and setting.flow not in connector.unsupported_flows:
            enabled.append(setting.flow)
    if not enabled:
        problems.append(_("No flow is enabled: the integration would do nothing."))
    for flow in enabled:
        plan = PUSH_PLANS.get(flow)
        missing = plan.missing_setup(channel) if plan is not None else ""
        if missing:
            problems.append(missing)
    if problems:
        return Check(
            key,
            title,
            CheckStatus.BLOCK,
            _("%(count)s setting(s) must be fixed on the channel.") % {"count": len(problems)},
            details=problems,
        )
    labels = ", ".join(str(Flow(f).label) for f in enabled)
    return Check(
        key,
        title,
        CheckStatus.PASS,
        _("Enabled: %(flows)s; all within the limits.") % {"flows": labels},
    )
