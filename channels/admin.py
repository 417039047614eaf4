"""The "Sales channel" screen (CRM › Canais de venda). Thin: forms, display, service calls."""

from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from channels.forms import CREDENTIAL_PREFIX, SalesChannelForm
from channels.models import AccessChange, SalesChannel, SyncSetting
from channels.services import (
    channel_announce_changed,
    channel_ensure_sync_settings,
    channel_notification_url,
    channel_record_access_change,
    channel_regenerate_notification_token,
    channel_set_credentials,
)
from erp.admin_scoping import CompanyScopedAdminMixin
from vendors.spec import Capability, Flow

# Other apps extend the channel page through these hooks, keeping the dependency direction
# sync → mappings → channels. Each app registers from its AppConfig.ready(), never at import
# time, so the page's order is the order Django calls ready(): INSTALLED_APPS order.
# channels' own SyncSettingInline comes first (its AccessChangeInline, the audit trail, last), then
#   1. mappings (MappingsConfig.ready → mappings.admin.register_channel_hooks):
#      inlines carrier + service, payment method, order status, stock location;
#      button "Product bindings";
#   2. sync (SyncConfig.ready → sync.admin.register_channel_hooks): button Fill de-para…
#      and its URL (sync/de_para_admin.py), button Fill catalog de-para… and its URL
#      (sync/de_para_catalog_admin.py), then activation
#      (actions Activate / Deactivate integration; buttons Test connection, Deactivate…,
#      Activate…, Activation history; its pages' URLs), then the engine (the sync panel;
#      actions Run now, Full resync; button Run now; its URL).
# Registering the same hook twice keeps one (ready() may run again in tests).
CHANNEL_INLINES: list[type[admin.options.InlineModelAdmin]] = []
# Admin actions: functions (modeladmin, request, queryset) decorated with @admin.action.
CHANNEL_ACTIONS: list = []
# Panels: callables (channel, request) -> safe HTML, shown right after the sync settings (under
# the form's fieldsets when the user cannot see them), so "Integration configuration —
# Authentication" and "— Sync settings" stay one group on the page.
CHANNEL_PANELS: list = []
# Buttons: callables (channel, request) -> list of (label, url), shown top right.
CHANNEL_OBJECT_TOOLS: list = []
# Extra URLs: callables (model_admin) -> list of URL patterns, prepended to the admin's own.
CHANNEL_URLS: list = []


def _register(registry: list, item) -> None:
    if item not in registry:
        registry.append(item)


def register_channel_inline(inline: type[admin.options.InlineModelAdmin]) -> None:
    _register(CHANNEL_INLINES, inline)


def register_channel_action(action) -> None:
    _register(CHANNEL_ACTIONS, action)


def register_channel_panel(panel) -> None:
    _register(CHANNEL_PANELS, panel)


def register_channel_object_tool(tool) -> None:
    _register(CHANNEL_OBJECT_TOOLS, tool)


def register_channel_urls(urls) -> None:
    _register(CHANNEL_URLS, urls)


SYNC_SETTINGS_PREFIX = "sync_settings"  # SyncSettingInline's formset prefix (related_name)


class SyncSettingInline(CompanyScopedAdminMixin, admin.TabularInline):
    model = SyncSetting
    company_field = "channel__company"
    verbose_name = _("sync setting")
    # With the "Integration configuration — Authentication" fieldset right above it: the
    # seed's group "Configuração de integração" holding the authentication and the sync settings.
    verbose_name_plural = _(
        "Integration configuration — Sync settings: how often and how much each flow syncs"
    )
    fields = ["flow", "enabled", "interval_minutes", "batch_size", "runs", "vendor_limits"]
    readonly_fields = ["flow", "runs", "vendor_limits"]
    extra = 0
    can_delete = False
    max_num = len(Flow)

    def has_add_permission(self, request, obj=None):
        return False  # one row per flow, created with the channel

    @admin.display(description=_("runs"))
    def runs(self, setting: SyncSetting) -> str:
        """ "On change" (sync.services.events) or "every N min"; the interval is the safety net
        of a flow that runs on change."""
        connector = setting.channel.vendor
        if setting.flow in connector.unsupported_flows:
            return "—"
        if connector.runs_on_change(setting.flow):
            return gettext("On change, and every %(minutes)s min as a safety net") % {
                "minutes": setting.interval_minutes
            }
        minimum = connector.limits.for_flow(setting.flow).min_interval_minutes
        if minimum > 1:
            return gettext(
                "Every %(minutes)s min (%(vendor)s allows this flow at most every %(minimum)s "
                "min: not on change)"
            ) % {"minutes": setting.interval_minutes, "vendor": connector.label, "minimum": minimum}
        return gettext("Every %(minutes)s min") % {"minutes": setting.interval_minutes}

    @admin.display(description=_("vendor limits"))
    def vendor_limits(self, setting: SyncSetting) -> str:
        connector = setting.channel.vendor
        reason = connector.unsupported_flows.get(setting.flow)
        if reason:
            return gettext("Not supported by %(vendor)s: %(reason)s") % {
                "vendor": connector.label,
                "reason": reason,
            }
        limits = connector.limits.for_flow(setting.flow)
        text = gettext(
            "≤ %(batch)s items per run, ≤ %(per_request)s per request, at most every "
            "%(minutes)s min; %(rate)s requests/s"
        ) % {
            "batch": limits.max_batch_size,
            "per_request": limits.max_items_per_request,
            "minutes": limits.min_interval_minutes,
            "rate": f"{connector.limits.requests_per_second:g}",
        }
        if setting.flow == Flow.ORDERS:
            if Capability.NOTIFICATIONS in connector.capabilities:
                text += gettext("; sends order notifications")
            else:
                text += gettext("; sends no notifications: orders are read on the interval")
        learned = setting.learned_request_size
        if learned and learned < limits.max_items_per_request:
            text += gettext("; the vendor refused larger batches: %(size)s per request") % {
                "size": learned
            }
        return text

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel")


class AccessChangeInline(admin.TabularInline):
    """Who changed the credentials or the API address, and when (names and hosts only)."""

    model = AccessChange
    verbose_name = _("access change")
    verbose_name_plural = _("Changes of authentication and API address")
    fields = ["at", "user", "credential_fields", "address_change"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("API address"))
    def address_change(self, change: AccessChange) -> str:
        if not (change.old_host or change.new_host):
            return "—"
        default = gettext("vendor default")
        return f"{change.old_host or default} → {change.new_host or default}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(SalesChannel)
class SalesChannelAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """Company-scoped (erp.admin_scoping): the changelist, its actions and every per-channel
    page other apps add (test connection, activation, run now) load the channel through
    get_queryset / get_object, so another company's channel is a 404."""

    form = SalesChannelForm
    list_display = [
        "name",
        "connector",
        "category",
        "company",
        "environment",
        "status_badge",
        "external_account_id",
        "updated_at",
    ]
    list_filter = ["status", "connector", "category", "environment", "company"]
    search_fields = ["name", "company__legal_name", "company__trade_name", "external_account_id"]
    list_select_related = ["company"]
    filter_horizontal = ["warehouses"]
    autocomplete_fields = ["company", "price_list"]

    STATUS_COLORS = {
        "draft": "#777",
        "ready": "#2a6ebb",
        "active": "#1a7f37",
        "paused": "#9a6700",
        "suspended": "#cf222e",
    }

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, channel: SalesChannel):
        return format_html(
            '<strong style="color:{}">{}</strong>',
            self.STATUS_COLORS.get(channel.status, "#000"),
            channel.get_status_display(),
        )

    def can_edit_credentials(self, request) -> bool:
        return request.user.has_perm("channels.change_credentials")

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Credential fields are added by the form itself, not declared in fieldsets'
        # model-field scan, so keep Django from validating them against the model.
        if obj is None or self.has_change_permission(request, obj):
            kwargs["fields"] = None
        else:
            # View-only users: Django excludes every listed field; list the model fields.
            kwargs["fields"] = list(SalesChannelForm.Meta.fields)
        base = super().get_form(request, obj, change=change, **kwargs)
        return type(
            base.__name__, (base,), {"credentials_editable": self.can_edit_credentials(request)}
        )

    actions = ["regenerate_notification_url"]

    @admin.display(description=_("notification URL"))
    def notification_url(self, channel: SalesChannel) -> str:
        if channel.pk is None or Capability.NOTIFICATIONS not in channel.vendor.capabilities:
            return gettext("%(vendor)s sends no notifications.") % {
                "vendor": channel.vendor.label if channel.connector else "—"
            }
        return channel_notification_url(channel=channel)

    @admin.action(
        description=_("Regenerate the notification URL (paste the new one at the vendor)"),
        permissions=["change_credentials"],
    )
    def regenerate_notification_url(self, request, queryset):
        count = channel_regenerate_notification_token(
            channel_ids=queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d channel has a new notification URL; the old one answers 404 now.",
                "%(count)d channels have a new notification URL; the old ones answer 404 now.",
                count,
            )
            % {"count": count},
        )

    def has_change_credentials_permission(self, request) -> bool:
        return self.can_edit_credentials(request)

    def get_readonly_fields(self, request, obj=None):
        fields = ["status", "status_reason", "external_account_id", "verified_at"]
        if obj is not None and self.can_edit_credentials(request):
            fields.append("notification_url")
        if obj is not None:
            fields = ["connector", "category", "company", *fields]
        if not self.can_edit_credentials(request):
            fields.append("api_base_url")  # where credentials go is a credentials change
        return fields

    def get_fieldsets(self, request, obj=None):
        general = ["name", "connector", "category", "company", "environment"]
        state = ["status", "status_reason", "external_account_id", "verified_at"]
        stock_price = ["price_list", "warehouses", "safety_stock"]
        integration = ["api_base_url"]
        if self.can_edit_credentials(request):
            integration += self._credential_field_names(obj)
        description = (
            _(
                "Authentication: keys are stored encrypted and never shown again. "
                "A key belongs to one company and one environment. Changing a key or the API "
                "address of an Active channel moves it back to Ready: test the connection and "
                "activate again."
            )
            if self.can_edit_credentials(request)
            else _("Authentication is visible only to users allowed to change credentials.")
        )
        orders = ["order_sweep_days", "order_sweep_interval_minutes"]
        notifications = []
        if obj is not None and self.can_edit_credentials(request):
            notifications = [
                (
                    _("Vendor notifications"),
                    {
                        "fields": ["notification_url"],
                        "description": _(
                            "Paste this URL at the vendor (README: Vendor notifications) so "
                            "orders come in within seconds. Keep it private: whoever has it "
                            "can make the channel check its orders sooner (never import "
                            "anything: the engine re-reads the vendor). VTEX's hook is "
                            "registered by the connector on activation."
                        ),
                    },
                )
            ]
        return [
            (None, {"fields": general}),
            (_("State"), {"fields": state}),
            (_("Stock and prices sent to the channel"), {"fields": stock_price}),
            (_("Orders received from the channel"), {"fields": orders}),
            (
                _("Stock reconciliation"),
                {
                    "fields": ["reconcile_interval_minutes", "reconcile_pages_per_run"],
                    "description": _(
                        "Low priority: the vendor's stock is read back within the channel's "
                        "rate limit and SKUs whose stock differs from the ERP's are sent "
                        "again. The health page shows the last run and the drift it found."
                    ),
                },
            ),
            # Before the authentication, which the sync settings inline follows directly.
            *notifications,
            (
                _("Integration configuration — Authentication"),
                {"fields": integration, "description": description},
            ),
        ]

    def _credential_field_names(self, obj) -> list[str]:
        form = self.form  # names depend only on the connector(s) shown
        from vendors.registry import (
            VENDORS,
            get_spec,
        )

        keys = [obj.connector] if obj is not None else list(VENDORS)
        return (
            [
                f"{CREDENTIAL_PREFIX}{key}__{spec.name}"
                for key in keys
                for spec in get_spec(key).user_credential_fields()
            ]
            if form
            else []
        )

    def get_inlines(self, request, obj):
        if obj is None:
            return []  # rows are created with the connector's defaults on first save
        return [SyncSettingInline, *CHANNEL_INLINES, AccessChangeInline]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        old_base_url = (
            SalesChannel.objects.filter(pk=obj.pk).values_list("api_base_url", flat=True).first()
            if change
            else ""
        ) or ""
        super().save_model(request, obj, form, change)
        channel_ensure_sync_settings(channel=obj)
        written: list[str] = []
        if form.credentials_editable:
            written = channel_set_credentials(channel=obj, values=form.credential_values())
            if written:
                # Names only, never values, in the admin history.
                form.changed_data.append(f"credentials ({', '.join(written)})")
        channel_record_access_change(
            channel=obj,
            user=request.user,
            credential_fields=written,
            old_base_url=old_base_url,
            new_base_url=obj.api_base_url,
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in CHANNEL_ACTIONS:
            name = action.__name__
            # @admin.action(permissions=[...]) is honoured like for the admin's own actions.
            perms = getattr(action, "allowed_permissions", ())
            if all(getattr(self, f"has_{p}_permission")(request) for p in perms):
                actions[name] = (action, name, getattr(action, "short_description", name))
        return actions

    def has_activate_permission(self, request) -> bool:
        return request.user.has_perm("channels.activate_integration")

    def get_urls(self):
        extra = [pattern for factory in CHANNEL_URLS for pattern in factory(self)]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        channel = self.get_object(request, object_id)
        if channel is not None:
            extra_context["channel_panels"] = [panel(channel, request) for panel in CHANNEL_PANELS]
            extra_context["channel_tools"] = [
                tool for factory in CHANNEL_OBJECT_TOOLS for tool in factory(channel, request)
            ]
        response = super().change_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None)  # None for a redirect
        if context is not None:
            # The inline the panels follow; "" (none shown to this user): under the fieldsets.
            prefixes = {f.formset.prefix for f in context.get("inline_admin_formsets", [])}
            context["panels_after"] = (
                SYNC_SETTINGS_PREFIX if SYNC_SETTINGS_PREFIX in prefixes else ""
            )
        return response

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Sync settings may have changed: the engine reconciles the channel's schedules.
        channel_announce_changed(channel=form.instance)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company", "price_list")
