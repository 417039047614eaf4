"""Admin hooks for activation (registered on the channel page through channels.admin hooks).

Thin: forms, rendering, permission checks and one service call per page. Pages follow
Django's own per-object admin pages (the password page of django.contrib.auth, the
delete_selected confirmation): `admin_site.admin_view`, `each_context`, `log_change`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.admin import (
    register_channel_action,
    register_channel_object_tool,
    register_channel_urls,
)
from channels.models import ActivationRecord, ChannelStatus, SalesChannel
from channels.services import channel_set_flow_enabled
from erp.admin_scoping import CompanyScopedAdminMixin
from erp.selectors import visible_company_ids
from erpintegr.admin_utils import ReadOnlyAdminMixin
from sync.activation.activate import (
    activation_activate_many,
    activation_deactivate,
    activation_request,
)
from sync.activation.checks import TITLES, CheckStatus, title_of
from sync.activation.connection import activation_test_connection
from sync.activation.report import activation_report_csv
from sync.activation.runs import (
    PreflightResult,
    preflight_get,
    preflight_latest,
    preflight_start,
    preflight_status,
    waiting_for_worker,
)
from sync.models import ConfirmState, PreflightRun, PreflightState
from vendors.spec import Flow

TEMPLATES = "admin/sync/activation/"
ACTIVATE_PERMISSION = "channels.activate_integration"


class ConfirmationForm(forms.Form):
    """What support types when the vendor cannot tell whether another ERP is connected."""

    previous_erp = forms.CharField(
        label=gettext_lazy("Previous ERP on this store"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Name the ERP that was integrated before, or type “none”."),
    )
    disconnected = forms.BooleanField(
        label=gettext_lazy("I confirm that ERP is disconnected from this store"),
        required=False,
    )

    def clean(self):
        data = super().clean()
        erp, confirmed = (data.get("previous_erp") or "").strip(), data.get("disconnected")
        if erp and not confirmed:
            self.add_error(
                "disconnected", _("Tick this to confirm the previous ERP is disconnected.")
            )
        if confirmed and not erp:
            self.add_error("previous_erp", _("Name the previous ERP, or type “none”."))
        return data

    def confirmation_text(self) -> str:
        if not self.is_valid():
            return ""
        erp = (self.cleaned_data.get("previous_erp") or "").strip()
        if not erp or not self.cleaned_data.get("disconnected"):
            return ""
        # "none" in either language (the help text asks for it in the reader's).
        if erp.casefold() in {"none", _("none").casefold()}:
            return _("Previous ERP: none — no other ERP was integrated with this store.")
        return _("Previous ERP: %(erp)s — confirmed disconnected from this store.") % {"erp": erp}


class PublishingForm(forms.Form):
    """Whether the channel publishes the ERP's catalog once active (the Catalog flow of its
    sync settings): support decides on the activation page, with the catalog check's counts
    in view. Off by default on a new channel: publishing creates and updates products."""

    publish_catalog = forms.BooleanField(
        label=gettext_lazy("Publish the ERP's catalog on this channel"),
        required=False,
        help_text=gettext_lazy(
            "On: the catalog flow creates the ERP's products on the channel and keeps them "
            "updated (see the catalog check above). Off: only products already on the channel "
            "are bound, and their stock, prices and orders synchronized."
        ),
    )


# --- helpers -----------------------------------------------------------------------------


def _url(name: str, channel_id) -> str:
    return reverse(f"admin:channels_saleschannel_{name}", args=[channel_id])


def _change_url(channel: SalesChannel) -> str:
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def _context(model_admin, request, title: str, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "subtitle": None,
        **extra,
    }


def _channel_or_404(model_admin, request, object_id) -> SalesChannel:
    # get_object reads the admin's company-scoped queryset: another company's channel is a 404.
    channel = model_admin.get_object(request, unquote(object_id))
    if channel is None:
        raise Http404(_("No sales channel with this id."))
    return channel


def _require_activate(model_admin, request) -> None:
    if not model_admin.has_activate_permission(request):
        raise PermissionDenied


def _channel_to_activate(model_admin, request, object_id) -> SalesChannel:
    """The activation pages (and their status poll) ask for the activation permission and
    the permission to change this channel."""
    _require_activate(model_admin, request)
    channel = _channel_or_404(model_admin, request, object_id)
    if not model_admin.has_change_permission(request, channel):
        raise PermissionDenied
    return channel


def _show(model_admin, request, ok: bool, message: str) -> None:
    model_admin.message_user(request, message, messages.SUCCESS if ok else messages.ERROR)


# --- per-channel pages ------------------------------------------------------------------------


def test_connection_view(model_admin, request, object_id):
    channel = _channel_or_404(model_admin, request, object_id)
    if not model_admin.has_change_permission(request, channel):
        raise PermissionDenied
    if request.method == "POST":
        result = activation_test_connection(channel=channel)
        _show(model_admin, request, result.ok, result.message)
        model_admin.log_change(
            request,
            channel,
            _("Tested the connection: %(result)s") % {"result": result.message}
            if result.ok
            else _("Tested the connection: it failed."),
        )
        return HttpResponseRedirect(_change_url(channel))
    return TemplateResponse(
        request,
        TEMPLATES + "test_connection.html",
        _context(
            model_admin,
            request,
            _("Test the connection of “%(channel)s”") % {"channel": channel},
            channel=channel,
        ),
    )


def activate_view(model_admin, request, object_id):
    """GET: start (or show) the channel's preflight — a worker runs it, the page follows its
    progress. POST: activate against the result the page showed; nothing reads the vendor's
    listings here."""
    channel = _channel_to_activate(model_admin, request, object_id)
    if channel.status == ChannelStatus.ACTIVE:
        latest = preflight_latest(channel_id=channel.pk)
        if latest is not None and latest.confirm_state == ConfirmState.DONE and latest.confirm_ok:
            # A worker activated it while this page followed (activation_request).
            messages.success(request, latest.confirm_message)
        else:
            messages.info(request, _("“%(channel)s” is already active.") % {"channel": channel})
        return HttpResponseRedirect(_change_url(channel))
    form = ConfirmationForm(request.POST if request.method == "POST" else None)
    catalog_supported = Flow.CATALOG not in channel.vendor.unsupported_flows
    publishing = PublishingForm(
        request.POST if request.method == "POST" else None,
        initial={
            "publish_catalog": channel.sync_settings.filter(
                flow=Flow.CATALOG, enabled=True
            ).exists()
        },
    )
    if request.method == "POST" and "rerun" in request.POST:
        preflight_start(channel=channel, user=request.user, rerun=True)
        return HttpResponseRedirect(_url("activate", channel.pk))
    if request.method != "POST":
        run = preflight_start(channel=channel, user=request.user)
    else:
        run = _posted_run(request.POST.get("run"))
        if form.is_valid() and publishing.is_valid():
            if catalog_supported and channel_set_flow_enabled(
                channel=channel,
                flow=Flow.CATALOG,
                enabled=publishing.cleaned_data["publish_catalog"],
            ):
                model_admin.log_change(
                    request,
                    channel,
                    _("Catalog publishing turned on on the activation page.")
                    if publishing.cleaned_data["publish_catalog"]
                    else _("Catalog publishing turned off on the activation page."),
                )
            outcome = activation_request(
                channel=channel, run=run, user=request.user, confirmation=form.confirmation_text()
            )
            if outcome.queued:  # a worker activates it; the page follows (GET)
                messages.info(request, outcome.message)
                return HttpResponseRedirect(_url("activate", channel.pk))
            _show(model_admin, request, outcome.ok, outcome.message)
            if outcome.ok:
                return HttpResponseRedirect(_change_url(channel))
        # The page again: the channel's current run (a foreign or unknown id shows nothing).
        run = preflight_latest(channel_id=channel.pk)
    return TemplateResponse(
        request,
        TEMPLATES + "activate.html",
        _context(
            model_admin,
            request,
            _("Activate the integration of “%(channel)s”") % {"channel": channel},
            channel=channel,
            run=run,
            report=_finished(run, request.user),
            waiting_for_worker=run is not None and waiting_for_worker(run),
            form=form,
            publishing=publishing if catalog_supported else None,
            csv_url=_url("activation_report", channel.pk),
            status_url=_url("activation_status", channel.pk),
        ),
    )


def _posted_run(raw) -> PreflightRun | None:
    """The run the page showed, as posted (another channel's run is refused by the
    activation, saying so)."""
    try:
        run_id = int(raw)
    except (TypeError, ValueError):
        return None
    return PreflightRun.objects.defer(*PreflightRun.HEAVY_FIELDS).filter(pk=run_id).first()


def _finished(run: PreflightRun | None, user) -> PreflightResult | None:
    """The run's result as `user` may read it (other companies' channels not named)."""
    if run is None or run.state != PreflightState.DONE:
        return None
    return PreflightResult.of(run, reader_scope=visible_company_ids(user))


def activation_status_view(model_admin, request, object_id):
    """The progress of the channel's preflight (`?run=<id>`: that run) for the page's poll."""
    channel = _channel_to_activate(model_admin, request, object_id)
    raw = request.GET.get("run")
    if raw:
        try:
            run = preflight_get(channel_id=channel.pk, run_id=int(raw))
        except ValueError:
            run = None
    else:
        run = preflight_latest(channel_id=channel.pk)
    if run is None:
        raise Http404(_("No preflight of this channel with this id."))
    # admin_view marks it never_cache: each poll reaches the server.
    return JsonResponse(preflight_status(run))


def deactivate_view(model_admin, request, object_id):
    _require_activate(model_admin, request)
    channel = _channel_or_404(model_admin, request, object_id)
    if request.method == "POST":
        outcome = activation_deactivate(channel=channel, user=request.user)
        _show(model_admin, request, outcome.ok, outcome.message)
        return HttpResponseRedirect(_change_url(channel))
    return TemplateResponse(
        request,
        TEMPLATES + "deactivate.html",
        _context(
            model_admin,
            request,
            _("Deactivate the integration of “%(channel)s”") % {"channel": channel},
            channel=channel,
        ),
    )


def activation_report_view(model_admin, request, object_id):
    channel = _channel_to_activate(model_admin, request, object_id)
    text = activation_report_csv(channel=channel)
    if text is None:
        messages.info(
            request,
            _(
                "No CSV report yet: it comes with the preflight's result once the listings "
                "are read."
            ),
        )
        return HttpResponseRedirect(_url("activate", channel.pk))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="activation-report-channel-{channel.pk}.csv"'
    )
    return response


def activation_urls(model_admin) -> list:
    def wrap(view):
        def wrapper(request, object_id):
            return view(model_admin, request, object_id)

        return model_admin.admin_site.admin_view(wrapper)

    prefix = f"{model_admin.model._meta.app_label}_{model_admin.model._meta.model_name}"
    return [
        path(
            "<path:object_id>/test-connection/",
            wrap(test_connection_view),
            name=f"{prefix}_test_connection",
        ),
        path("<path:object_id>/activate/", wrap(activate_view), name=f"{prefix}_activate"),
        path(
            "<path:object_id>/activate/status/",
            wrap(activation_status_view),
            name=f"{prefix}_activation_status",
        ),
        path("<path:object_id>/deactivate/", wrap(deactivate_view), name=f"{prefix}_deactivate"),
        path(
            "<path:object_id>/activation-report.csv",
            wrap(activation_report_view),
            name=f"{prefix}_activation_report",
        ),
    ]


def activation_tools(channel: SalesChannel, request) -> list[tuple[str, str]]:
    tools = []
    if request.user.has_perm("channels.change_saleschannel"):
        tools.append((_("Test connection"), _url("test_connection", channel.pk)))
    if request.user.has_perm(ACTIVATE_PERMISSION):
        if channel.status in (ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED):
            tools.append((_("Deactivate…"), _url("deactivate", channel.pk)))
        if channel.status != ChannelStatus.ACTIVE:
            tools.append((_("Activate…"), _url("activate", channel.pk)))
    if request.user.has_perm("channels.view_activationrecord"):
        history = reverse("admin:channels_activationrecord_changelist")
        tools.append((_("Activation history"), f"{history}?channel__id__exact={channel.pk}"))
    return tools


# --- changelist actions -----------------------------------------------------------------------


@admin.action(permissions=["activate"], description=gettext_lazy("Activate integration"))
def activate_integration(modeladmin, request, queryset):
    """Like the per-channel page: each channel's preflight runs in a worker (started here when
    there is no fresh one); confirming acts on the results shown."""
    channels = list(queryset.select_related("company").order_by("pk"))
    if request.POST.get("post"):
        confirmations, runs = {}, {}
        for channel in channels:
            form = ConfirmationForm(request.POST, prefix=f"c{channel.pk}")
            confirmations[channel.pk] = form.confirmation_text()
            runs[channel.pk] = _posted_run(request.POST.get(f"c{channel.pk}-run"))
        for outcome in activation_activate_many(
            channels=channels, user=request.user, confirmations=confirmations, runs=runs
        ):
            if outcome.queued:  # a large store: its activation page follows the worker
                modeladmin.message_user(request, outcome.message, messages.INFO)
            else:
                _show(modeladmin, request, outcome.ok, outcome.message)
        return None
    rows = []
    for channel in channels:
        if channel.status == ChannelStatus.ACTIVE:
            rows.append({"channel": channel, "run": None, "report": None, "form": None})
            continue
        run = preflight_start(channel=channel, user=request.user)
        rows.append(
            {
                "channel": channel,
                "run": run,
                "report": _finished(run, request.user),
                "form": ConfirmationForm(prefix=f"c{channel.pk}"),
                "csv_url": _url("activation_report", channel.pk),
                "page_url": _url("activate", channel.pk),
            }
        )
    return TemplateResponse(
        request,
        TEMPLATES + "activate_selected.html",
        _context(
            modeladmin,
            request,
            _("Activate integrations"),
            rows=rows,
            queryset=queryset,
            any_activatable=any(
                r["report"] is not None and r["report"].can_activate_with_confirmation for r in rows
            ),
            any_running=any(r["run"] is not None and r["run"].is_active for r in rows),
            action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
        ),
    )


@admin.action(permissions=["activate"], description=gettext_lazy("Deactivate integration"))
def deactivate_integration(modeladmin, request, queryset):
    for channel in queryset.order_by("pk"):
        outcome = activation_deactivate(channel=channel, user=request.user)
        _show(modeladmin, request, outcome.ok, outcome.message)


def register_channel_hooks() -> None:
    """Activation's actions, buttons and pages on the sales channel page; called by
    sync.admin.register_channel_hooks (the order is documented in channels/admin.py)."""
    register_channel_action(activate_integration)
    register_channel_action(deactivate_integration)
    register_channel_object_tool(activation_tools)
    register_channel_urls(activation_urls)


# --- the audit trail --------------------------------------------------------------------------


@admin.register(ActivationRecord)
class ActivationRecordAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = ["at", "channel", "action", "user", "account_id", "warning_count"]
    list_filter = ["action", "channel"]
    list_select_related = ["channel", "user"]
    search_fields = ["channel__name", "account_id", "confirmation"]
    date_hierarchy = "at"
    fields = ["channel", "action", "user", "at", "account_id", "check_results", "confirmation"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("warnings"))
    def warning_count(self, record: ActivationRecord) -> int:
        return sum(1 for c in record.checks or [] if c.get("status") == "warn")

    @admin.display(description=gettext_lazy("check results"))
    def check_results(self, record: ActivationRecord):
        if not record.checks:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong> [{}] {}{}</li>",
                (
                    (
                        title_of(c["key"]) if c.get("key") in TITLES else c.get("title"),
                        CheckStatus(c["status"]).label
                        if c.get("status") in CheckStatus.values
                        else c.get("status"),
                        c.get("message"),
                        format_html(
                            "<ul>{}</ul>",
                            format_html_join("", "<li>{}</li>", ((d,) for d in c["details"])),
                        )
                        if c.get("details")
                        else "",
                    )
                    for c in record.checks
                ),
            ),
        )
