"""Admin for the engine: runs log, held and quarantined orders, channel page panels and
actions."""

import json
from datetime import timedelta
from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from channels.admin import (
    register_channel_action,
    register_channel_object_tool,
    register_channel_panel,
    register_channel_urls,
)
from channels.models import ChannelStatus, SalesChannel
from erp.admin import OrderAdmin, ProductAdmin
from erp.admin_scoping import CompanyScopedAdminMixin
from erp.models import OrderStatus
from erpintegr.admin_utils import OpenResolvedFilter, ReadOnlyAdminMixin
from erpintegr.redaction import redact
from sync import de_para_admin, de_para_catalog_admin
from sync.activation import admin as activation_admin
from sync.models import (
    CatalogPublication,
    FulfilmentEvent,
    HeldOrder,
    QuarantinedOrder,
    RunState,
    RunTrigger,
    SyncRun,
)
from sync.selectors import FLOW_ORDER, channel_sync_panel, late_threshold
from sync.services.labels import LabelUnavailable, channel_prints_labels, order_shipping_label
from sync.services.pending import TRACKED_STATUSES, pending_full_resync
from vendors.spec import Flow
from vendors.types import LabelFormat

STATE_COLORS = {
    RunState.RUNNING: "#2a6ebb",
    RunState.SUCCEEDED: "#1a7f37",
    RunState.PARTIAL: "#9a6700",
    RunState.FAILED: "#cf222e",
    RunState.SKIPPED: "#777",
    RunState.STOPPED: "#777",
}
ERROR_SHORT = 80


def format_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return _("%(hours)sh %(minutes)02dm") % {"hours": hours, "minutes": minutes}
    if minutes and seconds:
        return _("%(minutes)sm %(seconds)02ds") % {"minutes": minutes, "seconds": seconds}
    if minutes:
        return _("%(minutes)sm") % {"minutes": minutes}
    return _("%(seconds)ss") % {"seconds": seconds}


def flow_names(flows) -> str:
    """The flows' labels, in the user's language, for a message."""
    return ", ".join(str(Flow(flow).label) for flow in flows)


def run_problem(run: SyncRun) -> str:
    """What went wrong, in words: the error, the skip reason or the rejected items."""
    if run.error:
        return redact(run.error)
    detail = run.detail if isinstance(run.detail, dict) else {}
    if run.state == RunState.SKIPPED and detail.get("reason"):
        return _("skipped: %(reason)s") % {"reason": detail["reason"]}
    counts = detail.get("counts") or {}
    problems = []
    if counts.get("rejected"):
        problems.append(
            _("%(count)s item(s) rejected by the vendor") % {"count": counts["rejected"]}
        )
    if counts.get("quarantined"):
        problems.append(
            _("%(count)s order(s) quarantined: the vendor sent values that cannot be read")
            % {"count": counts["quarantined"]}
        )
    return "; ".join(problems)


def state_badge(run: SyncRun) -> SafeString:
    return format_html(
        '<strong class="sync-state sync-state-{}" style="color:{}">{}</strong>',
        run.state,
        STATE_COLORS.get(run.state, "#000"),
        run.get_state_display(),
    )


def progress_bar(run: SyncRun) -> SafeString:
    percent = run.progress_percent
    return format_html(
        '<progress class="sync-progress" value="{}" max="100">{}%</progress> '
        '<span class="sync-progress-text">{}/{} ({}%)</span>',
        percent,
        percent,
        run.done,
        run.total,
        percent,
    )


# --- runs log -------------------------------------------------------------------------------


@admin.register(SyncRun)
class SyncRunAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = [
        "channel",
        "flow",
        "trigger",
        "state_colored",
        "started_at",
        "finished_at",
        "duration",
        "progress",
        "requests",
        "retries",
        "rate_limited",
        "short_error",
    ]
    list_filter = ["channel", "flow", "state", "trigger"]
    list_select_related = ["channel"]
    search_fields = ["channel__name"]
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "channel",
        "flow",
        "trigger",
        "state_colored",
        "started_at",
        "finished_at",
        "duration",
        "progress",
        "requests",
        "retries",
        "rate_limited",
        "error_text",
        "detail_pretty",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_colored(self, run: SyncRun) -> SafeString:
        return state_badge(run)

    @admin.display(description=gettext_lazy("duration"))
    def duration(self, run: SyncRun) -> str:
        if run.started_at is None:
            return "—"
        end = run.finished_at or timezone.now()
        text = format_duration(end - run.started_at)
        return text if run.finished_at else _("%(duration)s so far") % {"duration": text}

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, run: SyncRun) -> SafeString:
        return progress_bar(run)

    @admin.display(description=gettext_lazy("error"))
    def short_error(self, run: SyncRun) -> str:
        return Truncator(run_problem(run)).chars(ERROR_SHORT)

    @admin.display(description=gettext_lazy("error"))
    def error_text(self, run: SyncRun) -> str:
        return run_problem(run) or "—"

    @admin.display(description=gettext_lazy("detail"))
    def detail_pretty(self, run: SyncRun) -> SafeString:
        text = json.dumps(run.detail or {}, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre class="sync-detail">{}</pre>', redact(text))


# --- held orders ----------------------------------------------------------------------------


@admin.register(HeldOrder)
class HeldOrderAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = [
        "external_id",
        "channel",
        "missing_values",
        "first_seen",
        "last_seen",
        "attempts",
        "resolved_at",
    ]
    list_filter = [OpenResolvedFilter, "channel"]
    list_select_related = ["channel"]
    search_fields = ["external_id"]
    show_full_result_count = False
    actions = ["reprocess_now"]
    fields = [
        "channel",
        "external_id",
        "missing_values",
        "first_seen",
        "last_seen",
        "attempts",
        "resolved_at",
        "order",
        "payload_pretty",
    ]
    readonly_fields = fields

    def has_reprocess_permission(self, request) -> bool:
        # Reprocessing writes ERP orders for the channel: the channel's editors may do it.
        return request.user.has_perm("channels.change_saleschannel")

    @admin.display(description=gettext_lazy("missing de-para"))
    def missing_values(self, held: HeldOrder) -> str:
        return held.missing_text or "—"

    @admin.display(description=gettext_lazy("order as received"))
    def payload_pretty(self, held: HeldOrder) -> SafeString:
        text = json.dumps(held.payload or {}, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre class="sync-detail">{}</pre>', redact(text))

    @admin.action(description=gettext_lazy("Reprocess now (after adding the missing de-para)"))
    def reprocess_now(self, request, queryset):
        reprocess_now_action(self, request, queryset)

    reprocess_now.allowed_permissions = ["reprocess"]


def reprocess_now_action(modeladmin, request, queryset) -> None:
    from sync.services.orders import held_orders_reprocess

    channel_ids = sorted(set(queryset.values_list("channel_id", flat=True)))
    names = dict(SalesChannel.objects.filter(pk__in=channel_ids).values_list("pk", "name"))
    for channel_id in channel_ids:
        result = held_orders_reprocess(channel_id=channel_id)
        level = messages.SUCCESS if not result["still_held"] else messages.WARNING
        modeladmin.message_user(
            request,
            _("%(channel)s: %(imported)s imported, %(held)s still held.")
            % {
                "channel": names.get(channel_id, channel_id),
                "imported": result["imported"],
                "held": result["still_held"],
            },
            level,
        )


# --- quarantined orders ---------------------------------------------------------------------


@admin.register(QuarantinedOrder)
class QuarantinedOrderAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = [
        "external_id",
        "channel",
        "field_path",
        "short_reason",
        "first_seen",
        "last_seen",
        "times_seen",
        "resolved_at",
        "resolved_how",
    ]
    list_filter = [OpenResolvedFilter, "channel", "resolved_how"]
    list_select_related = ["channel"]
    search_fields = ["external_id"]
    show_full_result_count = False
    actions = ["fetch_again"]
    fields = [
        "channel",
        "external_id",
        "field_path",
        "reason_text",
        "first_seen",
        "last_seen",
        "times_seen",
        "resolved_at",
        "resolved_how",
        "order",
        "payload_pretty",
    ]
    readonly_fields = fields

    def has_refetch_permission(self, request) -> bool:
        # Fetching again imports ERP orders for the channel: the channel's editors may do it.
        return request.user.has_perm("channels.change_saleschannel")

    @admin.display(description=gettext_lazy("why it cannot be imported"))
    def short_reason(self, quarantined: QuarantinedOrder) -> str:
        return Truncator(redact(quarantined.reason)).chars(ERROR_SHORT)

    @admin.display(description=gettext_lazy("why it cannot be imported"))
    def reason_text(self, quarantined: QuarantinedOrder) -> str:
        return redact(quarantined.reason)

    @admin.display(description=gettext_lazy("order as received"))
    def payload_pretty(self, quarantined: QuarantinedOrder) -> SafeString:
        text = json.dumps(quarantined.payload, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre class="sync-detail">{}</pre>', redact(text))

    @admin.action(
        description=gettext_lazy("Fetch again from the vendor (after it corrected the order)")
    )
    def fetch_again(self, request, queryset):
        fetch_again_action(self, request, queryset)

    fetch_again.allowed_permissions = ["refetch"]


def fetch_again_action(modeladmin, request, queryset) -> None:
    from sync.services.quarantine import quarantined_orders_refetch

    selected: dict[int, list[int]] = {}
    for pk, channel_id in queryset.values_list("pk", "channel_id"):
        selected.setdefault(channel_id, []).append(pk)
    names = dict(SalesChannel.objects.filter(pk__in=list(selected)).values_list("pk", "name"))
    for channel_id in sorted(selected):
        result = quarantined_orders_refetch(
            channel_id=channel_id, quarantined_ids=selected[channel_id]
        )
        modeladmin.message_user(
            request,
            f"{names.get(channel_id, channel_id)}: {result.summary()}",
            messages.WARNING if result.problems else messages.SUCCESS,
        )


# --- channel page: panel --------------------------------------------------------------------


def _changelist_url(name: str, **params) -> str | None:
    try:
        url = reverse(f"admin:{name}_changelist")
    except NoReverseMatch:  # the model's admin is not registered (yet)
        return None
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{url}?{query}" if query else url


def sync_panel(channel: SalesChannel, request: HttpRequest) -> SafeString:
    panel = channel_sync_panel(channel=channel)
    now = timezone.now()
    rows = []
    for row in panel.flows:
        run = row.last_run
        rows.append(
            {
                "row": row,
                "run": run,
                "run_state": state_badge(run) if run else "",
                "run_progress": f"{run.done}/{run.total}" if run else "",
                "run_problem": Truncator(run_problem(run)).chars(200) if run else "",
                "next_due": row.next_run is not None and row.next_run <= now,
                "late_after": format_duration(late_threshold(row.interval_minutes))
                if row.interval_minutes
                else "",
                "oldest_age": format_duration(row.oldest_pending_age),
            }
        )
    context = {
        "channel": channel,
        "panel": panel,
        "rows": rows,
        "stopped": channel.status in (ChannelStatus.PAUSED, ChannelStatus.SUSPENDED),
        "active": channel.status == ChannelStatus.ACTIVE,
        "runs_url": _changelist_url("sync_syncrun", channel__id__exact=channel.pk),
        "held_url": _changelist_url(
            "sync_heldorder", channel__id__exact=channel.pk, resolved_at__isnull="True"
        ),
        "quarantined_url": _changelist_url(
            "sync_quarantinedorder", channel__id__exact=channel.pk, resolved_at__isnull="True"
        ),
        "unmapped_url": _changelist_url(
            "mappings_unmappedvalue", channel__id__exact=channel.pk, resolved_at__isnull="True"
        ),
        "health_url": reverse("sync_health"),
        "catalog_url": _changelist_url("sync_catalogpublication", channel__id__exact=channel.pk),
    }
    return render_to_string("admin/sync/channel_panel.html", context, request=request)


# --- channel page: Run now, Full resync -----------------------------------------------------


def run_now_flows(channel: SalesChannel) -> list[str]:
    """Enabled flows the connector supports, in display order (uses sync_settings.all(),
    so a prefetch serves a whole queryset)."""
    unsupported = channel.vendor.unsupported_flows
    enabled = {s.flow for s in channel.sync_settings.all() if s.enabled}
    return [str(flow) for flow in FLOW_ORDER if flow in enabled and flow not in unsupported]


def _enqueue_runs(channel_id: int, flows: list[str]) -> None:
    for flow in flows:
        async_task(
            "sync.tasks.run_flow",
            channel_id,
            flow,
            str(RunTrigger.MANUAL),
            task_name=f"erpintegr:run-now:{channel_id}:{flow}",
        )


def channel_queue_run_now(*, channel: SalesChannel) -> list[str] | None:
    """Queue one manual run per enabled, supported flow once the transaction commits.
    None when the channel is not active (nothing queued)."""
    if channel.status != ChannelStatus.ACTIVE:
        return None
    flows = run_now_flows(channel)
    if flows:
        transaction.on_commit(partial(_enqueue_runs, channel.pk, flows))
    return flows


def _run_now_message(channel: SalesChannel, flows: list[str] | None) -> tuple[str, int]:
    if flows is None:
        return _("%(channel)s: not active (%(status)s): skipped.") % {
            "channel": channel,
            "status": channel.get_status_display().lower(),
        }, messages.WARNING
    if not flows:
        return _("%(channel)s: no enabled flow: nothing queued.") % {
            "channel": channel
        }, messages.WARNING
    return _("%(channel)s: queued %(flows)s.") % {
        "channel": channel,
        "flows": flow_names(flows),
    }, messages.SUCCESS


@admin.action(
    description=gettext_lazy("Run now (queue every enabled flow)"), permissions=["change"]
)
def run_now(modeladmin, request, queryset) -> None:
    for channel in queryset.prefetch_related("sync_settings"):
        flows = channel_queue_run_now(channel=channel)
        text, level = _run_now_message(channel, flows)
        if flows:
            modeladmin.log_change(request, channel, f"Run now: queued {', '.join(flows)}.")
        modeladmin.message_user(request, text, level)


@admin.action(
    description=gettext_lazy("Full resync (mark every bound SKU pending for the push flows)"),
    permissions=["change"],
)
def full_resync(modeladmin, request, queryset) -> None:
    for channel in queryset:
        if channel.status not in TRACKED_STATUSES:
            modeladmin.message_user(
                request,
                _("%(channel)s: not activated (%(status)s): skipped.")
                % {"channel": channel, "status": channel.get_status_display().lower()},
                messages.WARNING,
            )
            continue
        counts = pending_full_resync(channel=channel)
        if not counts:
            modeladmin.message_user(
                request,
                _("%(channel)s: no enabled stock, price or catalog flow.") % {"channel": channel},
                messages.WARNING,
            )
            continue
        logged = ", ".join(f"{counts[flow]} {flow}" for flow in FLOW_ORDER if flow in counts)
        modeladmin.log_change(request, channel, f"Full resync: marked {logged} pending.")
        text = ", ".join(
            f"{counts[flow]} {Flow(flow).label}" for flow in FLOW_ORDER if flow in counts
        )
        modeladmin.message_user(
            request,
            _("%(channel)s: marked pending: %(counts)s.") % {"channel": channel, "counts": text},
            messages.SUCCESS,
        )


def run_now_view(request: HttpRequest, object_id: str, model_admin) -> HttpResponse:
    """Confirmation page for one channel's Run now (GET shows, POST queues)."""
    channel = model_admin.get_object(request, object_id)
    if channel is None:
        raise Http404(_("No sales channel with this id."))
    if not model_admin.has_change_permission(request, channel):
        raise PermissionDenied
    change_url = reverse("admin:channels_saleschannel_change", args=[channel.pk])
    if request.method == "POST":
        flows = channel_queue_run_now(channel=channel)
        text, level = _run_now_message(channel, flows)
        if flows:
            model_admin.log_change(request, channel, f"Run now: queued {', '.join(flows)}.")
        model_admin.message_user(request, text, level)
        return HttpResponseRedirect(change_url)
    active = channel.status == ChannelStatus.ACTIVE
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Run now: %(channel)s") % {"channel": channel},
        "opts": model_admin.model._meta,
        "original": channel,
        "channel": channel,
        "active": active,
        "flows": [Flow(flow).label for flow in run_now_flows(channel)] if active else [],
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/sync/run_now_confirmation.html", context)


def run_now_urls(model_admin) -> list:
    return [
        path(
            "<path:object_id>/run-now/",
            model_admin.admin_site.admin_view(partial(run_now_view, model_admin=model_admin)),
            name="sync_channel_run_now",
        )
    ]


def run_now_tools(channel: SalesChannel, request: HttpRequest) -> list[tuple[str, str]]:
    if not request.user.has_perm("channels.change_saleschannel"):
        return []
    return [(_("Run now"), reverse("admin:sync_channel_run_now", args=[channel.pk]))]


class FulfilmentEventInline(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """On the order page: what the channel is told about the order and how it went, with the
    channel's reason when it refused."""

    company_field = "order__company"
    model = FulfilmentEvent
    fields = ["sequence", "kind", "state", "attempts", "last_error", "created_at", "sent_at"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = gettext_lazy(
        "Outbound events — what the channel is told about this order"
    )

    def get_queryset(self, request):
        # Each row's title names its order: one join instead of one query per row.
        return super().get_queryset(request).select_related("order")


@admin.register(FulfilmentEvent)
class FulfilmentEventAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The fulfilment outbox across orders: what is pending, refused or held, and why. A
    refused or held event blocks its order's later events until someone retries it."""

    company_field = "order__company"
    list_display = [
        "order",
        "channel",
        "sequence",
        "kind",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["state", "kind", "channel"]
    list_select_related = ["order", "channel"]
    search_fields = ["order__external_id"]
    show_full_result_count = False
    actions = ["retry_events"]
    fields = list_display
    readonly_fields = fields

    def has_retry_permission(self, request) -> bool:
        # Sending to the channel is the channel editors' business, as reprocessing is.
        return request.user.has_perm("channels.change_saleschannel")

    @admin.action(description=gettext_lazy("Retry (after fixing what the channel refused)"))
    def retry_events(self, request, queryset):
        retry_fulfilment_action(self, request, queryset.values_list("pk", flat=True))

    retry_events.allowed_permissions = ["retry"]


def retry_fulfilment_action(modeladmin, request, event_ids) -> None:
    from sync.services.fulfilment import fulfilment_retry

    count = fulfilment_retry(event_ids=list(event_ids))
    modeladmin.message_user(
        request,
        gettext("%(count)s refused or held event(s) back to pending; the next run sends them.")
        % {"count": count},
        messages.SUCCESS if count else messages.WARNING,
    )


@admin.action(
    description=gettext_lazy("Retry the refused or held fulfilment events of the selected orders"),
    permissions=["change"],
)
def retry_order_fulfilment(modeladmin, request, queryset):
    if not request.user.has_perm("channels.change_saleschannel"):
        raise PermissionDenied
    retry_fulfilment_action(
        modeladmin,
        request,
        FulfilmentEvent.objects.filter(order__in=queryset).values_list("pk", flat=True),
    )


# --- the shipping label, downloaded from the channel on the order page ----------------------


def shipping_label_view(model_admin, request, object_id, label_format):
    """Stream the order's label from its channel (sync.services.labels), or go back to the
    order page with the reason. The order's company scope (a 404 outside it) and the change
    permission on orders, as for the invoice / ship forms."""
    try:
        wanted = LabelFormat(label_format)
    except ValueError:
        raise Http404(gettext("No such label format.")) from None
    order = model_admin.get_object(request, object_id)
    if not model_admin.has_change_permission(request, order):
        raise PermissionDenied
    try:
        label = order_shipping_label(order=order, label_format=wanted)
    except LabelUnavailable as exc:
        model_admin.message_user(request, str(exc), messages.WARNING)
        return HttpResponseRedirect(
            reverse(
                "admin:erp_order_change", args=[order.pk], current_app=model_admin.admin_site.name
            )
        )
    response = HttpResponse(label.content, content_type=label.content_type)
    response["Content-Disposition"] = content_disposition_header(True, label.filename)
    response["Cache-Control"] = "no-store"
    return response


def shipping_label_tools(model_admin, request, order) -> list[tuple[str, str]]:
    """The download links, for orders of a channel that prints labels (not canceled ones)."""
    if order.status == OrderStatus.CANCELED or not channel_prints_labels(order):
        return []
    site = model_admin.admin_site.name
    return [
        (
            title,
            reverse("admin:erp_order_shipping_label", args=[order.pk, kind], current_app=site),
        )
        for title, kind in (
            (gettext("Shipping label (PDF)"), LabelFormat.PDF),
            (gettext("Shipping label (ZPL, thermal printer)"), LabelFormat.ZPL),
        )
    ]


_erp_order_urls = OrderAdmin.get_urls


def _order_urls(self):
    return [
        path(
            "<path:object_id>/shipping-label/<slug:label_format>/",
            self.admin_site.admin_view(partial(shipping_label_view, self)),
            name="erp_order_shipping_label",
        ),
        *_erp_order_urls(self),
    ]


# The order page belongs to erp, which knows nothing of the engine: the engine adds its panel,
# the retry action and the label downloads.
OrderAdmin.inlines = [*OrderAdmin.inlines, FulfilmentEventInline]
OrderAdmin.actions = [*OrderAdmin.actions, retry_order_fulfilment]
OrderAdmin.order_tool_hooks = [*OrderAdmin.order_tool_hooks, shipping_label_tools]
OrderAdmin.get_urls = _order_urls


# --- catalog publications: channel page (linked changelist) and ERP product page ------------

CATALOG_PUBLICATION_FIELDS = [
    "state",
    "outcome",
    "message",
    "missing",
    "external_item_id",
    "changes",
    "published_at",
    "updated_at",
]


class CatalogPublicationInline(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """On the ERP product page: what each channel did with the product (published, refused
    with the channel's words, waiting for a de-para)."""

    company_field = "product__company"
    model = CatalogPublication
    fields = ["channel", *CATALOG_PUBLICATION_FIELDS]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = gettext_lazy("Catalog publications — this product on each channel")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel", "product")


@admin.register(CatalogPublication)
class CatalogPublicationAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each ERP product on each channel: published, refused (the channel's words) or waiting
    for a de-para row or ERP data. Linked from the channel page's sync panel."""

    company_field = "product__company"
    list_display = ["product", "channel", *CATALOG_PUBLICATION_FIELDS]
    list_filter = ["state", "channel"]
    list_select_related = ["product", "channel"]
    search_fields = ["product__name", "external_item_id"]
    show_full_result_count = False
    fields = list_display
    readonly_fields = fields


# The product page belongs to erp, which knows nothing of the engine: the engine adds it.
ProductAdmin.inlines = [*ProductAdmin.inlines, CatalogPublicationInline]


def register_channel_hooks() -> None:
    """What the engine adds to the sales channel page; called by SyncConfig.ready() (the
    order is documented in channels/admin.py): Fill de-para, Fill catalog de-para,
    activation, then the sync panel, Run now and Full resync."""
    de_para_admin.register_channel_hooks()
    de_para_catalog_admin.register_channel_hooks()
    activation_admin.register_channel_hooks()
    register_channel_panel(sync_panel)
    register_channel_action(run_now)
    register_channel_action(full_resync)
    register_channel_urls(run_now_urls)
    register_channel_object_tool(run_now_tools)
