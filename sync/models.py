"""The engine's durable state: what is pending, what ran, what is held or quarantined, who
holds a channel.

Correctness never depends on a task being delivered (the Redis broker has no ack): pending
rows, cursors and held orders live here, and the next scheduled run picks them up.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.models import SalesChannel
from erp.models import Order, Product, Sku
from erp.signals import FulfilmentKind
from vendors.spec import Flow
from vendors.types import UNREADABLE_ID_PREFIX


class RunState(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Finished with item errors")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    STOPPED = "stopped", _("Stopped (channel paused or deactivated meanwhile)")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("Run now")
    REPROCESS = "reprocess", _("Reprocess held orders")
    COMMAND = "command", _("Command line")
    RECONCILE = "reconcile", _("Stock reconciliation")
    # A stored vendor notification or a pending ERP change (sync.services.events).
    EVENT = "event", _("On change")


class SyncRun(models.Model):
    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="sync_runs",
        verbose_name=_("sales channel"),
    )
    flow = models.CharField(_("flow"), max_length=20, choices=Flow.choices)
    trigger = models.CharField(
        _("trigger"), max_length=20, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE
    )
    state = models.CharField(
        _("state"), max_length=20, choices=RunState.choices, default=RunState.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    total = models.PositiveIntegerField(
        _("total"), default=0, help_text=_("Items this run set out to do.")
    )
    done = models.PositiveIntegerField(_("done"), default=0, help_text=_("Items finished so far."))
    requests = models.PositiveIntegerField(_("requests sent"), default=0)
    retries = models.PositiveIntegerField(_("retries"), default=0)
    rate_limited = models.PositiveIntegerField(_("429s received"), default=0)
    error = models.TextField(
        _("error"), blank=True, help_text=_("What went wrong, secrets removed.")
    )
    detail = models.JSONField(
        _("detail"), default=dict, blank=True, help_text=_("Counts and first rows of issues.")
    )

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["channel", "flow", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.get_flow_display()} #{self.pk}"

    @property
    def progress_percent(self) -> int:
        if not self.total:
            return 100 if self.finished_at else 0
        return min(100, round(100 * self.done / self.total))


class PendingChange(models.Model):
    """One row per channel × flow × SKU: the per-channel dirty set.

    `version` changes on every new announcement; a run deletes a row only if the version it
    read is still there, so a change that arrives during a push is never lost.
    """

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="pending")
    flow = models.CharField(max_length=20, choices=Flow.choices)
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="+")
    version = models.BigIntegerField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "flow", "sku"], name="pending_once_per_sku")
        ]
        # The batch query: WHERE channel = ? AND flow = ? ORDER BY id LIMIT n — its cost
        # follows the batch, not the catalog.
        indexes = [models.Index(fields=["channel", "flow", "id"], name="pending_batch_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.flow}/{self.sku_id}"


class OrderCursor(models.Model):
    """Where the order import of a channel resumes (search vendors); saved after commit. Also
    what the channel's last missed-order sweeps did (sync.services.sweep)."""

    channel = models.OneToOneField(
        SalesChannel, on_delete=models.CASCADE, primary_key=True, related_name="order_cursor"
    )
    value = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    swept_at = models.DateTimeField(
        _("last missed-order sweep"),
        null=True,
        blank=True,
        help_text=_("When the last complete missed-order sweep of the channel finished."),
    )
    sweep_found_at = models.DateTimeField(
        _("sweep last found missed orders"),
        null=True,
        blank=True,
        help_text=_("When a sweep last found orders the regular import had missed."),
    )
    sweep_found = models.PositiveIntegerField(
        _("missed orders found"),
        default=0,
        help_text=_("How many orders that sweep found missing (and imported or held)."),
    )

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.value[:40]}"


class HeldOrder(models.Model):
    """An order that could not be translated: kept whole, with exactly what is missing."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="held_orders",
        verbose_name=_("sales channel"),
    )
    external_id = models.CharField(_("channel order id"), max_length=80)
    payload = models.JSONField(
        _("order"), help_text=_("The normalized order, to reprocess without the vendor.")
    )
    missing = models.JSONField(
        _("missing de-para"), default=list, help_text=_("[{kind, code, label}] with no de-para.")
    )
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"), auto_now=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("ERP order")
    )

    class Meta:
        verbose_name = _("held order")
        verbose_name_plural = _("held orders")
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="held_order_once_per_channel"
            )
        ]
        indexes = [models.Index(fields=["channel", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id}"

    @property
    def missing_text(self) -> str:
        return "; ".join(
            f"{m.get('kind')}: {m.get('code')}" + (f" ({m['label']})" if m.get("label") else "")
            for m in self.missing
        )


# Bound of a quarantined order's stored document (its JSON, in characters).
QUARANTINE_PAYLOAD_MAX_CHARS = 64_000


def _quarantine_payload_help() -> str:
    return gettext(
        "The vendor's order document, secrets masked; past %(max)s characters only its start "
        "is kept."
    ) % {"max": number_format(QUARANTINE_PAYLOAD_MAX_CHARS, force_grouping=True)}


class QuarantineResolution(models.TextChoices):
    READ_VALID = "read_valid", _("Read valid in a later run (the vendor corrected it)")
    REFETCHED = "refetched", _("Fetched again from the vendor and imported")


class QuarantinedOrder(models.Model):
    """An order the vendor sent with a value that cannot be read (a quantity of 0, a price of
    NaN, an id longer than its column…): kept aside with its document and the reason, so the
    rest of its page is stored and the cursor / feed moves on. Resolved when the vendor sends
    it again readable, or when it is fetched again by hand once corrected."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="quarantined_orders",
        verbose_name=_("sales channel"),
    )
    external_id = models.CharField(
        _("channel order id"),
        max_length=80,
        help_text=_(
            "The order's id on the channel; unreadable-<sha1 of the document> when the id "
            "itself cannot be read (such an order cannot be fetched again by id)."
        ),
    )
    payload = models.JSONField(
        _("order as received"),
        help_text=lazy(_quarantine_payload_help, str)(),
    )
    reason = models.TextField(_("reason"), help_text=_("Which field cannot be read, and why."))
    field_path = models.CharField(
        _("field"),
        max_length=200,
        blank=True,
        help_text=_("Where in the document, e.g. items[0].unit."),
    )
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    times_seen = models.PositiveIntegerField(
        _("times seen"),
        default=1,
        help_text=_("How many times the vendor sent it unreadable (runs and re-fetches)."),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_how = models.CharField(
        _("resolved how"), max_length=20, choices=QuarantineResolution.choices, blank=True
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ERP order"),
        help_text=_("The ERP order it became, once imported."),
    )

    class Meta:
        verbose_name = _("quarantined order")
        verbose_name_plural = _("quarantined orders")
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="quarantined_order_once_per_channel"
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolved_how="")
                | (Q(resolved_at__isnull=False) & ~Q(resolved_how="")),
                name="quarantined_order_resolved_with_how",
            ),
        ]
        indexes = [models.Index(fields=["channel", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id}"

    @property
    def refetchable(self) -> bool:
        """Whether the vendor can be asked for it by id (its id could be read)."""
        return not self.external_id.startswith(UNREADABLE_ID_PREFIX)


class StockReconciliation(models.Model):
    """Where a channel's stock reconciliation stands: the cursor of its current sweep over the
    vendor's stock (saved after every page, so a run that stops resumes there) and what the
    last run and the sweeps found. One row per channel, written by sync.services.reconcile."""

    channel = models.OneToOneField(
        SalesChannel,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="stock_reconciliation",
    )
    cursor = models.TextField(
        blank=True, help_text=_("Where the current sweep resumes; blank: at the start.")
    )
    sweep_started_at = models.DateTimeField(null=True, blank=True)
    sweeps_completed = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(_("last reconciliation"), null=True, blank=True)
    last_checked = models.PositiveIntegerField(_("SKUs compared in the last run"), default=0)
    last_drift = models.PositiveIntegerField(
        _("drift found in the last run"),
        default=0,
        help_text=_("SKUs whose stock at the vendor differed from the ERP's, marked to be sent."),
    )
    drift_total = models.PositiveIntegerField(_("drift found since the start"), default=0)
    last_error = models.TextField(
        blank=True, help_text=_("Why the last run stopped, if it failed.")
    )

    class Meta:
        verbose_name = _("stock reconciliation")

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.last_drift} / {self.last_checked}"


class ChannelLease(models.Model):
    """Who is running work for a channel now. Claimed with a conditional UPDATE (works the
    same on SQLite and PostgreSQL); expires so a dead worker never blocks a channel.

    The client-side rate limiter's state travels with the lease, so consecutive runs in
    different worker processes share one budget instead of each starting with a full burst.
    """

    channel = models.OneToOneField(
        SalesChannel, on_delete=models.CASCADE, primary_key=True, related_name="lease"
    )
    holder = models.CharField(max_length=80, blank=True)
    flow = models.CharField(max_length=20, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    limiter_tokens = models.FloatField(null=True, blank=True)
    limiter_rate = models.FloatField(null=True, blank=True)
    limiter_saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(holder="") | Q(expires_at__isnull=False), name="lease_held_expires"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.holder or 'free'}"


class PreflightState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


PREFLIGHT_ACTIVE_STATES = (PreflightState.QUEUED, PreflightState.RUNNING)


class ConfirmState(models.TextChoices):
    """The activation confirmed against a run, when a worker runs it (a large store)."""

    NONE = "", "Not requested"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Activating"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


CONFIRM_ACTIVE_STATES = (ConfirmState.QUEUED, ConfirmState.RUNNING)


class PreflightRun(models.Model):
    """One activation preflight (`sync.activation.runs`): its progress while a worker runs it,
    then its result, which the confirmation page shows and the activation acts on.

    In the database, not the cache: the worker that runs it and the web process that reads it
    are different processes. Every text here was redacted before it was written; the large
    parts (`bindings`, `report_csv`) are read only by the activation and the CSV download.
    """

    channel = models.ForeignKey(
        SalesChannel, on_delete=models.CASCADE, related_name="preflight_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who opened the confirmation page (empty: the command line).",
    )
    state = models.CharField(
        max_length=20, choices=PreflightState.choices, default=PreflightState.QUEUED
    )
    phase = models.CharField(max_length=200, blank=True, help_text="What it is doing now.")
    done = models.PositiveIntegerField(default=0, help_text="Listings read so far.")
    total = models.PositiveIntegerField(
        default=0, help_text="Listings expected (the previous preflight's count); 0: unknown."
    )
    created_at = models.DateTimeField("queued at", auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(
        "last progress", null=True, blank=True, help_text="When the worker last reported."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    checks = models.JSONField(
        "check results",
        default=list,
        blank=True,
        help_text="Each check: key, title, status (pass / warn / block), message, details.",
    )
    account_id = models.CharField(
        "vendor account id", max_length=120, blank=True, help_text="As verified by this run."
    )
    needs_confirmation = models.BooleanField(
        default=False,
        help_text="The vendor does not tell which applications are connected: support must "
        "type the previous ERP when confirming.",
    )
    reference_values = models.JSONField(
        null=True,
        blank=True,
        help_text="The values the vendor listed, so the de-para check runs again on confirm "
        "without calling the vendor.",
    )
    summary = models.JSONField(
        default=dict, blank=True, help_text="Listing counts: fetched, matched, unmatched, absent."
    )
    bindings = models.JSONField(
        default=list,
        blank=True,
        help_text="The matches to bind on activation: [ERP SKU id, item id, variation id, "
        "SKU id, seller SKU].",
    )
    report_csv = models.TextField("CSV report", blank=True)
    error = models.TextField(blank=True, help_text="What went wrong, secrets removed.")
    # The confirmation, when support's POST handed the activation to a worker (a store with
    # more bindings than ACTIVATION_INLINE_MAX_BINDINGS): sync.activation.activate.
    confirm_state = models.CharField(
        "activation", max_length=20, choices=ConfirmState.choices, blank=True, default=""
    )
    confirmation = models.CharField(
        max_length=200, blank=True, help_text="What support typed about the previous ERP."
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who confirmed the activation.",
    )
    confirm_requested_at = models.DateTimeField(null=True, blank=True)
    confirm_finished_at = models.DateTimeField(null=True, blank=True)
    confirm_ok = models.BooleanField(null=True, blank=True)
    confirm_message = models.TextField(
        blank=True, help_text="The activation's outcome as shown to support, secrets removed."
    )

    # What the page and its status endpoint load: never the bindings or the CSV.
    HEAVY_FIELDS = ("bindings", "report_csv", "reference_values")

    class Meta:
        verbose_name = "activation preflight"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["channel", "-created_at"], name="preflight_latest_idx")]

    def __str__(self) -> str:
        return f"{self.channel} preflight #{self.pk} ({self.get_state_display()})"

    @property
    def is_active(self) -> bool:
        return self.state in PREFLIGHT_ACTIVE_STATES

    @property
    def is_activating(self) -> bool:
        return self.confirm_state in CONFIRM_ACTIVE_STATES

    @property
    def progress_percent(self) -> int | None:
        """None while the number of listings is unknown (an indeterminate bar)."""
        if self.state == PreflightState.DONE:
            return 100
        if not self.total or self.done > self.total:
            return None
        return min(99, round(100 * self.done / self.total))


class FulfilmentState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    REFUSED = "refused", _("Refused by the channel")
    HELD = "held", _("Held (missing de-para)")
    # Settled without a write: the vendor has no such step (its spec lacks the capability) or
    # does it itself for this order (Mercado Envios tracks ME2 shipments); `last_error` says
    # why. It counts as done for the order's later events.
    NOT_APPLICABLE = "not_applicable", _("Not applicable for this channel")


class FulfilmentEvent(models.Model):
    """The outbox of order fulfilment: one row per announced change (invoice, ship, deliver,
    cancel) of an order that came from a channel, written in the same transaction as the ERP
    change (sync.receivers.on_order_fulfilment_changed), so a change is never lost and never
    recorded without having happened.

    Events of one order are delivered in `sequence` order: a sender takes the lowest pending
    sequence of each order and never one whose predecessor is not sent. `(order, kind)` is
    unique: an order is invoiced, shipped, delivered and canceled at most once, so a repeated
    announcement of the same change is a no-op."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="fulfilment_events",
        verbose_name=_("channel"),
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="fulfilment_events", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FulfilmentKind.choices)
    sequence = models.PositiveIntegerField(
        _("sequence"), help_text=_("Order of this event among the order's events (1, 2, …).")
    )
    payload = models.JSONField(
        _("payload"),
        default=dict,
        help_text=_("What the channel is told, as it was when the change was made."),
    )
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=FulfilmentState.choices,
        default=FulfilmentState.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(
        _("last error"),
        blank=True,
        help_text=_(
            "The channel's reason for refusing, or why the event is held; secrets removed."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("fulfilment event")
        verbose_name_plural = _("fulfilment events")
        ordering = ["order", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="fulfilment_once_per_kind"),
            models.UniqueConstraint(
                fields=["order", "sequence"], name="fulfilment_sequence_per_order"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="fulfilment_sequence_positive"
            ),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True) | Q(state="sent"),
                name="fulfilment_sent_at_only_when_sent",
            ),
        ]
        # The batch query of a fulfilment run: WHERE channel = ? AND state = 'pending'
        # ORDER BY id LIMIT n — its cost follows the batch, not the history.
        indexes = [
            models.Index(fields=["channel", "state", "id"], name="fulfilment_batch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order} #{self.sequence} {self.get_kind_display()}"


class NotificationHint(models.Model):
    """A vendor notification's "look at X" (sync.notifications), never trusted: it only makes
    the channel's flow run sooner, and that run re-reads from the vendor.

    At most one unprocessed row per channel × kind × resource: a replay or a flood of the
    same notification stores nothing new. A run of the hint's flow marks them processed."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        PRODUCT = "product", _("Product")
        SHIPMENT = "shipment", _("Shipment")

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="notification_hints",
        verbose_name=_("sales channel"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    resource = models.CharField(_("resource"), max_length=120)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification hint")
        verbose_name_plural = _("notification hints")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "resource"],
                condition=Q(processed_at__isnull=True),
                name="notification_hint_once_unprocessed",
            )
        ]
        indexes = [models.Index(fields=["channel", "processed_at"], name="notification_hint_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.kind}/{self.resource}"


class PublicationState(models.TextChoices):
    PUBLISHED = "published", _("Published")
    REFUSED = "refused", _("Refused by the channel")
    WAITING = "waiting", _("Waiting for a de-para or ERP data")


class CatalogPublication(models.Model):
    """What the last catalog run did with one ERP product on one channel (issue 15): published
    (created, updated or found unchanged), refused with the vendor's words, or waiting for a
    de-para row or ERP data (`missing`). A product the channel never took has no binding
    (Listing) yet, so the result lives here, one row per channel and product. Written by
    sync.services.catalog in the transaction that settles the product's pending rows."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="catalog_publications",
        verbose_name=_("sales channel"),
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="catalog_publications",
        verbose_name=_("ERP product"),
    )
    state = models.CharField(_("state"), max_length=20, choices=PublicationState.choices)
    outcome = models.CharField(
        _("last outcome"),
        max_length=20,
        blank=True,
        help_text=_("created, updated or unchanged: what the last publication did."),
    )
    message = models.TextField(
        _("message"),
        blank=True,
        help_text=_("The channel's words on a refusal, or what the product waits for."),
    )
    missing = models.JSONField(
        _("missing"),
        default=list,
        blank=True,
        help_text=_("What a waiting product lacks: de-para rows or data the channel requires."),
    )
    external_item_id = models.CharField(
        _("channel product id"),
        max_length=80,
        blank=True,
        help_text=_("Where the channel keeps the product (VTEX / ANYMARKET product, ML item)."),
    )
    changes = models.JSONField(
        _("changes"),
        default=list,
        blank=True,
        help_text=_("What the last update changed at the channel."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("catalog publication")
        verbose_name_plural = _("catalog publications")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "product"], name="catalog_publication_once_per_product"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["published", "refused", "waiting"]),
                name="catalog_publication_state_known",
            ),
        ]
        # The release query when a de-para row is created: WHERE channel = ? AND state = ?.
        indexes = [models.Index(fields=["channel", "state"], name="catalog_pub_state_idx")]

    def __str__(self) -> str:
        return f"{self.product} → {self.channel} ({self.get_state_display()})"


class CatalogReferenceValue(models.Model):
    """One value of a channel's catalog as its vendor lists it (vendors.types.
    CatalogReference): the cache the catalog de-para page reads, so opening it makes no
    vendor request. Written all at once per channel by sync.services.catalog_de_para after
    the vendor was read; `query` is the ERP text a predictor suggestion answers (Mercado
    Livre's category predictor), blank for the vendor's listed values."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="catalog_references",
        verbose_name=_("sales channel"),
    )
    kind = models.CharField(_("kind"), max_length=20)
    code = models.CharField(_("code"), max_length=120)
    label = models.CharField(_("name"), max_length=300, blank=True)
    parent_code = models.CharField(_("parent code"), max_length=240, blank=True)
    required = models.BooleanField(_("required"), default=False)
    allows_variations = models.BooleanField(_("allows variations"), default=False)
    score = models.FloatField(_("score"), null=True, blank=True)
    query = models.CharField(_("query"), max_length=300, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"))

    class Meta:
        verbose_name = _("catalog reference value")
        verbose_name_plural = _("catalog reference values")
        ordering = ["channel_id", "kind", "parent_code", "label"]
        indexes = [models.Index(fields=["channel", "kind"], name="catalog_ref_kind_idx")]

    def __str__(self) -> str:
        return (
            f"{self.code} ({self.label})" if self.label and self.label != self.code else self.code
        )
