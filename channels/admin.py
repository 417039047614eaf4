"""The "Sales channel" screen (CRM → Canais de venda). Thin: forms, display, service calls."""

from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html

from channels.forms import CREDENTIAL_PREFIX, SalesChannelForm
from channels.models import SalesChannel, SyncSetting
from channels.services import channel_ensure_sync_settings, channel_set_credentials
from sync.connectors.base import Flow

# Other apps add their inlines to the channel page here (mappings: de-para tables), keeping
# the dependency direction sync → mappings → channels.
CHANNEL_INLINES: list[type[admin.options.InlineModelAdmin]] = []


def register_channel_inline(inline: type[admin.options.InlineModelAdmin]) -> None:
    if inline not in CHANNEL_INLINES:
        CHANNEL_INLINES.append(inline)


class SyncSettingInline(admin.TabularInline):
    model = SyncSetting
    verbose_name = "sync setting"
    verbose_name_plural = "Integration configuration — how often and how much each flow syncs"
    fields = ["flow", "enabled", "interval_minutes", "batch_size", "vendor_limits"]
    readonly_fields = ["flow", "vendor_limits"]
    extra = 0
    can_delete = False
    max_num = len(Flow)

    def has_add_permission(self, request, obj=None):
        return False  # one row per flow, created with the channel

    @admin.display(description="vendor limits")
    def vendor_limits(self, setting: SyncSetting) -> str:
        connector = setting.channel.connector_class
        reason = connector.unsupported_flows.get(setting.flow)
        if reason:
            return f"Not supported by {connector.label}: {reason}"
        limits = connector.limits.for_flow(setting.flow)
        return (
            f"≤ {limits.max_batch_size} items per run, ≤ {limits.max_items_per_request} per "
            f"request, at most every {limits.min_interval_minutes} min; "
            f"{connector.limits.requests_per_second:g} requests/s"
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel")


@admin.register(SalesChannel)
class SalesChannelAdmin(admin.ModelAdmin):
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

    @admin.display(description="status", ordering="status")
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
        kwargs["fields"] = None
        base = super().get_form(request, obj, change=change, **kwargs)
        return type(
            base.__name__, (base,), {"credentials_editable": self.can_edit_credentials(request)}
        )

    def get_readonly_fields(self, request, obj=None):
        fields = ["status", "status_reason", "external_account_id", "verified_at"]
        if obj is not None:
            fields = ["connector", "category", "company", *fields]
        return fields

    def get_fieldsets(self, request, obj=None):
        general = ["name", "connector", "category", "company", "environment"]
        state = ["status", "status_reason", "external_account_id", "verified_at"]
        stock_price = ["price_list", "warehouses", "safety_stock"]
        integration = ["api_base_url"]
        if self.can_edit_credentials(request):
            integration += self._credential_field_names(obj)
        description = (
            "Authentication: keys are stored encrypted and never shown again. "
            "A key belongs to one company and one environment."
            if self.can_edit_credentials(request)
            else "Authentication is visible only to users allowed to change credentials."
        )
        return [
            (None, {"fields": general}),
            ("State", {"fields": state}),
            ("Stock and prices sent to the channel", {"fields": stock_price}),
            ("Integration configuration", {"fields": integration, "description": description}),
        ]

    def _credential_field_names(self, obj) -> list[str]:
        form = self.form  # names depend only on the connector(s) shown
        from sync.connectors.registry import CONNECTORS, get_connector_class

        keys = [obj.connector] if obj is not None else list(CONNECTORS)
        return (
            [
                f"{CREDENTIAL_PREFIX}{key}__{spec.name}"
                for key in keys
                for spec in get_connector_class(key).user_credential_fields()
            ]
            if form
            else []
        )

    def get_inlines(self, request, obj):
        if obj is None:
            return []  # rows are created with the connector's defaults on first save
        return [SyncSettingInline, *CHANNEL_INLINES]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        channel_ensure_sync_settings(channel=obj)
        if form.credentials_editable:
            written = channel_set_credentials(channel=obj, values=form.credential_values())
            if written:
                # Names only, never values, in the admin history.
                form.changed_data.append(f"credentials ({', '.join(written)})")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company", "price_list")
