"""The sales channel screen: SalesChannel, its encrypted credentials and its sync settings."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField

from erp.models import Company, PriceList, Warehouse
from vendors.registry import UnknownVendor, get_spec, vendor_choices
from vendors.spec import Category, Environment, Flow, VendorSpec

# The vendor layer (vendors.spec) declares the categories, environments and flows; the back
# office reads their labels in its own language, so the channel's fields carry translatable
# labels for the same values.
CATEGORY_LABELS = {
    Category.PLATFORM: _("Platform (own web store)"),
    Category.MARKETPLACE: _("Marketplace"),
    Category.INTEGRATOR: _("Integrator (hub)"),
}
ENVIRONMENT_LABELS = {
    Environment.PRODUCTION: _("Production"),
    Environment.SANDBOX: _("Sandbox / homologation"),
}
FLOW_LABELS = {
    Flow.CATALOG: _("Catalog (products/SKUs)"),
    Flow.STOCK: _("Stock"),
    Flow.PRICE: _("Prices"),
    Flow.ORDERS: _("Orders"),
    Flow.FULFILMENT: _("Fulfilment (invoice, shipping, delivery)"),
}


def labelled_choices(choices: type[models.TextChoices], labels: dict) -> list[tuple[str, str]]:
    """`choices`' values with our translatable labels. A value the vendor layer adds without a
    label here fails at import, never as a raw code on a page."""
    if set(labels) != set(choices.values):
        raise ImproperlyConfigured(
            f"{choices.__name__}: labels for {sorted(labels)}, values {sorted(choices.values)}"
        )
    return [(value, labels[value]) for value in choices.values]


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]:
            return True
        if host == entry:
            return True
    return False


def base_url_problem(environment: str, url: str) -> str:
    """Why `url` may not receive a channel's credentials, or "" when it may.

    The credentials go wherever this address points, so in production an override must be
    https on a host the operator allowed (CHANNEL_BASE_URL_ALLOWED_HOSTS; empty = none).
    Sandbox channels may point anywhere: the emulators are plain http on loopback."""
    if not url or environment != Environment.PRODUCTION:
        return ""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return gettext(
            "In production the API address must use https (the credentials travel with it)."
        )
    allowed = list(getattr(settings, "CHANNEL_BASE_URL_ALLOWED_HOSTS", []))
    if not _host_allowed(parts.hostname or "", allowed):
        if not allowed:
            return gettext(
                "Production channels use the vendor's own address: no override is allowed "
                "(the operator allows hosts with CHANNEL_BASE_URL_ALLOWED_HOSTS)."
            )
        return gettext(
            "%(host)s is not an allowed API host for production channels (allowed: %(allowed)s)."
        ) % {"host": parts.hostname, "allowed": ", ".join(allowed)}
    return ""


# Stock reconciliation is low priority: never more often than this, never more pages per run
# than this (each page is at least one vendor request, taken from the channel's rate budget).
RECONCILE_MIN_INTERVAL_MINUTES = 15
RECONCILE_MAX_PAGES_PER_RUN = 1000


def new_notification_token() -> str:
    """The path part of a channel's notification URL: unguessable, not a credential (the
    vendor's own authenticity and the re-read from the vendor are), but never logged."""
    return secrets.token_urlsafe(32)


def new_notification_secret() -> str:
    """The secret header value we register with a vendor hook that carries headers (VTEX)."""
    return secrets.token_urlsafe(32)


class ChannelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    READY = "ready", _("Ready (credentials verified)")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    SUSPENDED = "suspended", _("Suspended by the vendor")


class SalesChannel(models.Model):
    name = models.CharField(
        _("name"), max_length=120, help_text=_("How the back office calls this channel.")
    )
    category = models.CharField(
        _("category"),
        max_length=20,
        choices=labelled_choices(Category, CATEGORY_LABELS),
        blank=True,
        help_text=_("Filled from the connector when left blank."),
    )
    connector = models.CharField(
        _("connector"),
        max_length=40,
        choices=vendor_choices,
        help_text=_("The vendor API this channel talks to. Cannot be changed after creation."),
    )
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="sales_channels", verbose_name=_("company")
    )
    environment = models.CharField(
        _("environment"),
        max_length=20,
        choices=labelled_choices(Environment, ENVIRONMENT_LABELS),
        default=Environment.PRODUCTION,
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ChannelStatus.choices,
        default=ChannelStatus.DRAFT,
        db_index=True,
    )
    status_reason = models.TextField(
        _("status reason"),
        blank=True,
        help_text=_("Why the channel is paused or suspended (vendor's words, no secrets)."),
    )
    price_list = models.ForeignKey(
        PriceList,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales_channels",
        verbose_name=_("price list"),
        help_text=_("Prices sent to the channel come from this list."),
    )
    warehouses = models.ManyToManyField(
        Warehouse,
        blank=True,
        related_name="sales_channels",
        verbose_name=_("stock warehouses"),
        help_text=_("Stock sent to the channel is the sum of these warehouses."),
    )
    safety_stock = models.PositiveIntegerField(
        _("safety stock"),
        default=0,
        help_text=_("Units held back per SKU: available = on hand − reserved − safety stock."),
    )
    reconcile_interval_minutes = models.PositiveIntegerField(
        _("stock reconciliation every (minutes)"),
        default=360,
        help_text=_(
            "How often the vendor's stock is read back and compared with what the ERP would "
            "send, a few pages at a time; SKUs that differ (an order canceled before it was "
            "imported, a manual edit on the vendor) are marked to be sent again. 0 switches "
            "it off."
        ),
    )
    reconcile_pages_per_run = models.PositiveIntegerField(
        _("stock reconciliation pages per run"),
        default=10,
        help_text=_(
            "Pages of the vendor's stock read per reconciliation run (ANYMARKET: one request "
            "of 100 stock rows; Mercado Livre: one request of up to 20 items; VTEX: 10 SKUs, "
            "one request each). The next run carries on where this one stopped."
        ),
    )
    api_base_url = models.URLField(
        _("API base URL override"),
        blank=True,
        help_text=_(
            "Leave blank for the vendor's own address. The credentials are sent to this "
            "address: in production it must be https and on the operator's allow-list "
            "(CHANNEL_BASE_URL_ALLOWED_HOSTS); sandbox channels may point at an emulator. "
            "Changing it on an Active channel moves it back to Ready (test the connection and "
            "activate again)."
        ),
    )
    order_sweep_days = models.PositiveSmallIntegerField(
        _("missed-order sweep: days to look back"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_(
            "Every sweep lists the channel's orders created in this many days, compares them "
            "with the orders the ERP has and imports any that the regular import missed."
        ),
    )
    order_sweep_interval_minutes = models.PositiveIntegerField(
        _("missed-order sweep: interval (minutes)"),
        default=60,
        validators=[MaxValueValidator(7 * 24 * 60)],
        help_text=_(
            "How often the orders flow runs the sweep (0 turns it off). Each sweep costs a few "
            "listing requests per day looked back."
        ),
    )
    external_account_id = models.CharField(
        _("vendor account id"),
        max_length=120,
        blank=True,
        db_index=True,
        help_text=_("Learned when the credentials are verified (seller id, account name…)."),
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # The vendor's notifications come to /notifications/<token>/ (sync.notifications).
    notification_token = models.CharField(
        _("notification token"),
        max_length=64,
        unique=True,
        default=new_notification_token,
        editable=False,
    )
    # Sent back by hooks that carry headers we choose (VTEX: X-Erpintegr-Secret), encrypted.
    notification_secret = EncryptedTextField(
        _("notification secret"), default=new_notification_secret, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sales channel")
        verbose_name_plural = _("Sales channels")
        ordering = ["name"]
        permissions = [
            ("change_credentials", "Can see and change a channel's authentication"),
            ("activate_integration", "Can activate and deactivate integrations (support)"),
        ]
        constraints = [
            # The race guard of the activation (two supports clicking at once): whatever the
            # checks saw, the database never holds two ACTIVE channels on one vendor account.
            models.CheckConstraint(
                condition=Q(reconcile_interval_minutes=0)
                | Q(reconcile_interval_minutes__gte=RECONCILE_MIN_INTERVAL_MINUTES),
                name="reconcile_interval_off_or_at_least_the_minimum",
            ),
            models.CheckConstraint(
                condition=Q(reconcile_pages_per_run__gte=1)
                & Q(reconcile_pages_per_run__lte=RECONCILE_MAX_PAGES_PER_RUN),
                name="reconcile_pages_per_run_in_range",
            ),
            models.UniqueConstraint(
                fields=["connector", "external_account_id"],
                condition=Q(status="active") & ~Q(external_account_id=""),
                name="one_active_channel_per_vendor_account",
                violation_error_message=_(
                    "Another active sales channel is already integrated with this vendor account."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.category and self.connector:
            self.category = self.vendor.category
        super().save(*args, **kwargs)

    @property
    def vendor(self) -> VendorSpec:
        """The vendor's declaration (limits, credential fields…); no adapter is imported."""
        return get_spec(self.connector)

    def clean(self):
        super().clean()
        errors = {}
        try:
            connector = self.vendor if self.connector else None
        except UnknownVendor as exc:
            errors["connector"] = str(exc)
            connector = None
        if connector is not None:
            if not self.category:
                self.category = connector.category
            elif self.category != connector.category:
                errors["category"] = ValidationError(
                    _("%(vendor)s is a %(category)s connector; the category must be %(category)s."),
                    code="category",
                    params={
                        "vendor": connector.label,
                        "category": CATEGORY_LABELS[connector.category],
                    },
                )
        if self.company_id and self.price_list_id:
            if self.price_list.company_id != self.company_id:
                errors["price_list"] = ValidationError(
                    _("The price list belongs to another company."), code="other_company"
                )
        base_url_error = base_url_problem(self.environment, self.api_base_url)
        if base_url_error:
            errors["api_base_url"] = base_url_error
        interval = self.reconcile_interval_minutes
        if interval is not None and 0 < interval < RECONCILE_MIN_INTERVAL_MINUTES:
            errors["reconcile_interval_minutes"] = _(
                "Stock reconciliation runs at most every %(minimum)s minutes (or 0: off)."
            ) % {"minimum": RECONCILE_MIN_INTERVAL_MINUTES}
        pages = self.reconcile_pages_per_run
        if pages is not None and not 1 <= pages <= RECONCILE_MAX_PAGES_PER_RUN:
            errors["reconcile_pages_per_run"] = _("Between 1 and %(maximum)s pages per run.") % {
                "maximum": RECONCILE_MAX_PAGES_PER_RUN
            }
        if errors:
            raise ValidationError(errors)


class Credential(models.Model):
    """One authentication value of a channel, encrypted at rest.

    `fingerprint` is a keyed HMAC of the value (only for fields the connector marks unique):
    encrypted columns can't carry a unique index, the fingerprint can.
    """

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="credentials",
        verbose_name=_("sales channel"),
    )
    connector = models.CharField(_("connector"), max_length=40, editable=False)
    name = models.CharField(_("name"), max_length=60)
    value = EncryptedTextField(_("value"))
    fingerprint = models.CharField(
        _("fingerprint"), max_length=64, null=True, blank=True, editable=False
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="credential_name_per_channel"),
            models.UniqueConstraint(
                fields=["connector", "name", "fingerprint"],
                condition=Q(fingerprint__isnull=False),
                name="credential_value_unique_per_connector",
                violation_error_message=_("This key is already used by another sales channel."),
            ),
        ]

    def __str__(self) -> str:
        # Never the value.
        return f"{self.channel_id}:{self.name}"


class SyncSetting(models.Model):
    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="sync_settings",
        verbose_name=_("sales channel"),
    )
    flow = models.CharField(_("flow"), max_length=20, choices=labelled_choices(Flow, FLOW_LABELS))
    enabled = models.BooleanField(_("enabled"), default=True)
    interval_minutes = models.PositiveIntegerField(
        _("interval (minutes)"), default=5, help_text=_("How often this flow runs.")
    )
    batch_size = models.PositiveIntegerField(
        _("batch size"),
        default=100,
        help_text=_("At most this many items per run (products/SKUs, stock, prices, orders)."),
    )
    learned_request_size = models.PositiveIntegerField(
        _("items per request (learned)"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Set by the engine when the vendor refused a batch write as a whole and accepted "
            "smaller ones: later requests of this flow carry at most this many items (never "
            "more than the vendor's declared limit or the batch size). Empty: the declared "
            "limit."
        ),
    )

    # Event-driven runs (sync.services.events): when the armed run of this flow is due, or
    # None when none is queued. The guard that makes a burst of changes one run.
    event_run_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("sync setting")
        verbose_name_plural = _("sync settings")
        ordering = ["channel", "flow"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "flow"], name="sync_setting_per_flow"),
            models.CheckConstraint(
                condition=Q(interval_minutes__gte=1), name="sync_interval_at_least_one_minute"
            ),
            models.CheckConstraint(condition=Q(batch_size__gte=1), name="sync_batch_at_least_one"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} — {self.get_flow_display()}"

    def clean(self):
        super().clean()
        channel = getattr(self, "channel", None)
        if channel is None or not channel.connector or not self.flow:
            return
        try:
            connector = channel.vendor
        except UnknownVendor:
            return
        reason = connector.unsupported_flows.get(self.flow)
        if reason:
            if self.enabled:
                raise ValidationError(
                    {
                        "enabled": ValidationError(
                            _("%(vendor)s does not support this flow: %(reason)s"),
                            code="unsupported_flow",
                            params={"vendor": connector.label, "reason": reason},
                        )
                    }
                )
            return
        limits = connector.limits.for_flow(self.flow)
        errors = {}
        if (
            self.interval_minutes is not None
            and self.interval_minutes < limits.min_interval_minutes
        ):
            errors["interval_minutes"] = ValidationError(
                _(
                    "%(vendor)s allows this flow at most every %(minimum)s minute(s); "
                    "%(interval)s is too often."
                ),
                code="interval_too_short",
                params={
                    "vendor": connector.label,
                    "minimum": limits.min_interval_minutes,
                    "interval": self.interval_minutes,
                },
            )
        if self.batch_size is not None and self.batch_size > limits.max_batch_size:
            errors["batch_size"] = ValidationError(
                _(
                    "%(vendor)s allows at most %(maximum)s items per run for %(flow)s; "
                    "%(batch_size)s is above that limit."
                ),
                code="batch_too_large",
                params={
                    "vendor": connector.label,
                    "maximum": limits.max_batch_size,
                    "flow": str(FLOW_LABELS[self.flow]).lower(),
                    "batch_size": self.batch_size,
                },
            )
        if errors:
            raise ValidationError(errors)


class ActivationAction(models.TextChoices):
    ACTIVATE = "activate", _("Activated")
    DEACTIVATE = "deactivate", _("Deactivated")


class ActivationRecord(models.Model):
    """Who switched an integration on or off, when, on which vendor account, and what the
    preflight checks said at that moment (support's audit trail)."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="activation_records",
        verbose_name=_("sales channel"),
    )
    action = models.CharField(_("action"), max_length=20, choices=ActivationAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        help_text=_("The support user who confirmed it."),
    )
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    account_id = models.CharField(
        _("vendor account id"),
        max_length=120,
        blank=True,
        help_text=_("As verified at that moment."),
    )
    checks = models.JSONField(
        _("check results"),
        default=list,
        blank=True,
        help_text=_(
            "Each preflight check: key, title, status (pass / warn / block), message, details."
        ),
    )
    confirmation = models.TextField(
        _("typed confirmation"),
        blank=True,
        help_text=_("What support typed about the previous ERP, where the vendor cannot tell."),
    )

    class Meta:
        verbose_name = _("activation record")
        verbose_name_plural = _("activation records")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} — {self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


class AccessChange(models.Model):
    """Who changed where a channel's credentials go or what they are (never the values).

    Recorded for every change made by a person: credential fields typed in, and the API base
    URL (old host → new host). Tokens the vendor rotates by itself are not recorded."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="access_changes",
        verbose_name=_("sales channel"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    credential_fields = models.JSONField(
        _("credential fields changed"), default=list, blank=True, help_text=_("Names only.")
    )
    old_host = models.CharField(_("API address before"), max_length=255, blank=True)
    new_host = models.CharField(_("API address after"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("access change")
        verbose_name_plural = _("access changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel_id} at {self.at:%Y-%m-%d %H:%M}"
