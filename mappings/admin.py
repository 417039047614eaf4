"""De-para screens: inline tables on the sales channel page, one list per kind (with CSV
import/export scoped to one channel), the unmapped-value queue and the product bindings.

Thin: display and forms here; every write goes through mappings.services.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from import_export.admin import ImportExportMixin

from channels.admin import register_channel_inline, register_channel_object_tool
from channels.models import SalesChannel
from erp.admin_scoping import CompanyScopedAdminMixin
from erp.models import CarrierService, OrderStatus
from erp.selectors import scope_to_companies
from erpintegr.admin_utils import OpenResolvedFilter, ReadOnlyAdminMixin
from mappings.forms import (
    EXPORT_CHANNELS,
    TARGET_FIELDS,
    ChannelConfirmImportForm,
    ChannelExportForm,
    ChannelImportForm,
    MappingInlineForm,
    MappingInlineFormSet,
    PreloadedAutocompleteSelect,
    PreloadedModelChoiceField,
)
from mappings.imports import (
    IMPORT_DATA_OPTIONS,
    import_result_errors,
    mapping_import_queue,
    runs_in_background,
)
from mappings.models import (
    MAPPING_MODELS,
    AttributeMapping,
    BrandMapping,
    CarrierServiceMapping,
    CategoryMapping,
    ChannelMapping,
    Listing,
    MappingImport,
    MappingKind,
    OrderStatusMapping,
    PaymentMethodMapping,
    StockLocationMapping,
    UnmappedValue,
)
from mappings.resources import RESOURCES
from mappings.selectors import item_erp_prices
from mappings.services import listing_save, mapping_save, unmapped_apply_suggestions
from mappings.suggestions import suggestions_for_unmapped
from vendors.spec import Capability


def _target_formfield(model_admin, db_field, request, kwargs):
    """Autocomplete for the ERP target that renders and validates the row's loaded target
    without a query per row."""
    if db_field.name in TARGET_FIELDS:
        widget = PreloadedAutocompleteSelect(
            db_field, model_admin.admin_site, using=kwargs.get("using")
        )
        kwargs.setdefault("widget", widget)
        kwargs.setdefault("form_class", PreloadedModelChoiceField)
        if db_field.related_model is CarrierService:
            # clean() reads service.carrier.company_id: join it for rows typed in.
            kwargs.setdefault("queryset", CarrierService.objects.select_related("carrier"))
    return kwargs


# --- inlines on the sales channel page ------------------------------------------------------


class MappingInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "channel__company"
    form = MappingInlineForm
    formset = MappingInlineFormSet
    extra = 0
    readonly_fields = ["rule"]
    autocomplete_fields = ["target"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.model.target_select_related)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = _target_formfield(self, db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CarrierServiceMappingInline(MappingInline):
    model = CarrierServiceMapping
    fields = [
        "code",
        "label",
        "service_code",
        "service_label",
        "target",
        "is_fallback",
        "rule",
    ]
    verbose_name = gettext_lazy("carrier + service")
    verbose_name_plural = gettext_lazy(
        "De-para: carrier + service (blank service code = any service of that carrier)"
    )


class PaymentMethodMappingInline(MappingInline):
    model = PaymentMethodMapping
    fields = ["code", "label", "target", "is_fallback", "rule"]
    verbose_name = gettext_lazy("payment method")
    verbose_name_plural = gettext_lazy("De-para: payment methods")


class OrderStatusMappingInline(MappingInline):
    model = OrderStatusMapping
    fields = ["code", "label", "target", "is_fallback", "rule"]
    autocomplete_fields = []  # a fixed list of statuses: a plain select
    verbose_name = gettext_lazy("order status")
    verbose_name_plural = gettext_lazy("De-para: order statuses")


class StockLocationMappingInline(MappingInline):
    model = StockLocationMapping
    fields = ["code", "label", "target", "is_fallback", "rule"]
    verbose_name = gettext_lazy("stock location")
    verbose_name_plural = gettext_lazy("De-para: stock locations → ERP warehouses")


class CategoryMappingInline(MappingInline):
    model = CategoryMapping
    fields = ["target", "code", "label"]
    verbose_name = gettext_lazy("category")
    verbose_name_plural = gettext_lazy("De-para: category (ERP category → channel category)")


class BrandMappingInline(MappingInline):
    model = BrandMapping
    fields = ["target", "code", "label"]
    verbose_name = gettext_lazy("brand")
    verbose_name_plural = gettext_lazy("De-para: brand (ERP brand → channel brand)")


class AttributeMappingInline(MappingInline):
    model = AttributeMapping
    fields = ["target", "target_value", "code", "label", "value_code", "value_label", "rule"]
    autocomplete_fields = ["target", "target_value"]
    verbose_name = gettext_lazy("attribute or value")
    verbose_name_plural = gettext_lazy(
        "De-para: attribute and value (ERP value blank = the attribute itself)"
    )


# --- one list per kind, with CSV import/export ----------------------------------------------


class MappingAdmin(CompanyScopedAdminMixin, ImportExportMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = ["__str__", "label", "target_column", "channel", "fallback_marker", "updated_at"]
    list_filter = ["channel", "is_fallback"]
    search_fields = ["code", "code_key", "label"]
    autocomplete_fields = ["channel", "target"]
    fields = ["channel", "code", "label", "target", "is_fallback"]
    import_form_class = ChannelImportForm
    confirm_form_class = ChannelConfirmImportForm
    export_form_class = ChannelExportForm
    import_error_display = ("message", "row")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("channel", *self.model.target_select_related)
        )

    def get_list_select_related(self, request):
        return ["channel", *self.model.target_select_related]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = _target_formfield(self, db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("ERP value"), ordering="target")
    def target_column(self, mapping: ChannelMapping) -> str:
        return mapping.target_display()

    @admin.display(description=gettext_lazy("rule"), ordering="is_fallback")
    def fallback_marker(self, mapping: ChannelMapping) -> str:
        return mapping.rule

    def save_model(self, request, obj, form, change):
        mapping_save(mapping=obj, validated=True)

    # CSV: one channel per import, chosen on the form, never read from the file.

    def channels_for(self, request):
        """Channels this user may import de-para into or export from: their companies'."""
        return scope_to_companies(
            SalesChannel.objects.select_related("company").order_by("name"),
            user=request.user,
            company_field="company",
        )

    def export_action(self, request):
        # import-export builds the export form without the request: hand it this user's
        # channels for the length of the request, before the form validates the choice.
        token = EXPORT_CHANNELS.set(self.channels_for(request))
        try:
            return super().export_action(request)
        finally:
            EXPORT_CHANNELS.reset(token)

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_form_initial(self, request):
        initial = super().get_import_form_initial(request)
        channel = request.GET.get("channel") or request.GET.get("channel__id__exact")
        if channel:
            initial["channel"] = channel
        return initial

    def create_import_form(self, request):
        form = super().create_import_form(request)
        form.fields["channel"].queryset = self.channels_for(request)
        return form

    def create_confirm_form(self, request, import_form=None):
        form = super().create_confirm_form(request, import_form)
        form.fields["channel"].queryset = self.channels_for(request)
        return form

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["channel"] = import_form.cleaned_data["channel"].pk
        return initial

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        cleaned = getattr(form, "cleaned_data", None) or {}
        return {"channel": cleaned.get("channel")}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # A file with any bad row writes nothing, also at the confirm step (and in a worker:
        # mappings.imports runs the same resource with the same options).
        kwargs.update(IMPORT_DATA_OPTIONS)
        return kwargs

    def import_action(self, request, **kwargs):
        # A file too large to preview and import inside the request goes to a worker; the
        # user follows it on its own page. Smaller ones take import-export's usual steps.
        if request.method == "POST" and self.has_import_permission(request):
            form = self.create_import_form(request)
            if form.is_valid() and runs_in_background(form.rows_estimate):
                return self._import_in_background(request, form)
        return super().import_action(request, **kwargs)

    def _import_in_background(self, request, form):
        upload = form.cleaned_data["import_file"]
        file_format = self.get_import_formats()[int(form.cleaned_data["format"])]()
        record = mapping_import_queue(
            channel=form.cleaned_data["channel"],
            kind=self.model.kind,
            user=request.user,
            file_name=upload.name or "",
            file_format=file_format.get_title(),
            content=b"".join(upload.chunks()),
            rows=form.rows_estimate,
        )
        messages.info(
            request,
            _(
                "The file has about %(rows)s rows: it is imported in the background, without "
                "a preview. Any row with an error imports nothing; this page shows the result."
            )
            % {"rows": number_format(form.rows_estimate, force_grouping=True)},
        )
        return HttpResponseRedirect(
            reverse("admin:mappings_mappingimport_change", args=[record.pk])
        )

    def get_resource_classes(self, request):
        return [RESOURCES[self.model]]

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # The data changed between the preview and the confirmation (an ERP value was
            # removed, a row was mapped meanwhile): the import was rolled back entirely.
            messages.error(request, _("Nothing was imported: the file no longer validates."))
            for error in import_result_errors(result):
                if error.line is None:
                    messages.error(request, error.message)
                else:
                    messages.error(
                        request,
                        _("Line %(line)s: %(message)s")
                        % {"line": error.line, "message": error.message},
                    )
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_import"))
        return super().process_result(result, request)

    def get_data_for_export(self, request, queryset, **kwargs):
        form = kwargs.get("export_form")
        channel = (getattr(form, "cleaned_data", None) or {}).get("channel")
        if channel is not None:
            queryset = queryset.filter(channel=channel)
        return super().get_data_for_export(request, queryset, **kwargs)


@admin.register(CarrierServiceMapping)
class CarrierServiceMappingAdmin(MappingAdmin):
    list_display = [
        "__str__",
        "label",
        "service_label",
        "target_column",
        "channel",
        "fallback_marker",
        "updated_at",
    ]
    search_fields = ["code", "code_key", "label", "service_code", "service_key", "service_label"]
    fields = ["channel", "code", "label", "service_code", "service_label", "target", "is_fallback"]


@admin.register(PaymentMethodMapping)
class PaymentMethodMappingAdmin(MappingAdmin):
    pass


@admin.register(OrderStatusMapping)
class OrderStatusMappingAdmin(MappingAdmin):
    autocomplete_fields = ["channel"]


@admin.register(StockLocationMapping)
class StockLocationMappingAdmin(MappingAdmin):
    pass


class CatalogMappingAdmin(MappingAdmin):
    list_display = ["target_column", "__str__", "label", "channel", "updated_at"]
    list_filter = ["channel"]
    fields = ["channel", "target", "code", "label"]


@admin.register(CategoryMapping)
class CategoryMappingAdmin(CatalogMappingAdmin):
    search_fields = ["code", "code_key", "label", "target__path"]


@admin.register(BrandMapping)
class BrandMappingAdmin(CatalogMappingAdmin):
    search_fields = ["code", "code_key", "label", "target__name"]


@admin.register(AttributeMapping)
class AttributeMappingAdmin(CatalogMappingAdmin):
    list_display = ["target_column", "__str__", "label", "value_label", "channel", "updated_at"]
    search_fields = ["code", "code_key", "label", "value_code", "value_label", "target__name"]
    autocomplete_fields = ["channel", "target", "target_value"]
    fields = [
        "channel",
        "target",
        "target_value",
        "code",
        "label",
        "value_code",
        "value_label",
    ]


# --- large files imported by a worker --------------------------------------------------------


@admin.register(MappingImport)
class MappingImportAdmin(CompanyScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Large de-para files imported in the background: their progress and result. Read-only:
    written by the import page and the worker. Seen by whoever sees the de-para of that kind
    (and the channel's company)."""

    company_field = "channel__company"
    list_display = [
        "created_at",
        "channel",
        "kind",
        "file_name",
        "user",
        "status",
        "rows_total",
        "created_count",
        "updated_count",
        "refused_count",
    ]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["channel", "user"]
    date_hierarchy = "created_at"
    fields = [
        "channel",
        "kind",
        "file_name",
        "file_format",
        "user",
        "created_at",
        "status",
        "message",
        "rows_total",
        "created_count",
        "updated_count",
        "refused_count",
        "error_table",
        "started_at",
        "finished_at",
        "attempts",
    ]
    readonly_fields = fields

    def _viewable_kinds(self, request) -> list[str]:
        return [
            kind
            for kind, model in MAPPING_MODELS.items()
            if request.user.has_perm(f"mappings.view_{model._meta.model_name}")
            or request.user.has_perm(f"mappings.change_{model._meta.model_name}")
        ]

    def has_view_permission(self, request, obj=None):
        if super().has_view_permission(request, obj):
            return True
        kinds = self._viewable_kinds(request)
        return bool(kinds) if obj is None else obj.kind in kinds

    def get_queryset(self, request):
        queryset = super().get_queryset(request).defer("content")
        if not request.user.has_perm("mappings.view_mappingimport"):
            queryset = queryset.filter(kind__in=self._viewable_kinds(request))
        return queryset

    @admin.display(description=gettext_lazy("errors"))
    def error_table(self, record: MappingImport):
        if not record.errors:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((e.get("line") or _("file"), e.get("message", "")) for e in record.errors),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("line"),
            _("error"),
            rows,
        )


# --- the unmapped-value queue ---------------------------------------------------------------


class UnmappedChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One query per ERP table for the whole page, not one per row.
        suggestions = suggestions_for_unmapped(self.result_list)
        for entry in self.result_list:
            entry.suggested_target = suggestions.get(entry.pk)


def _display_target(target) -> str:
    if target is None:
        return "—"
    if isinstance(target, str):
        return OrderStatus(target).label
    return str(target)


@admin.register(UnmappedValue)
class UnmappedValueAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = [
        "value",
        "kind",
        "labels",
        "channel",
        "count",
        "first_seen",
        "last_seen",
        "state",
        "suggestion",
        "map_by_hand",
    ]
    list_filter = [OpenResolvedFilter, "kind", "channel"]
    search_fields = ["code", "parent_code", "label", "parent_label"]
    list_select_related = ["channel"]
    show_full_result_count = False
    actions = ["create_mapping_from_suggestion"]
    readonly_fields = [
        "channel",
        "kind",
        "parent_code",
        "parent_label",
        "code",
        "label",
        "count",
        "first_seen",
        "last_seen",
        "resolved_at",
        "suggestion",
    ]
    fields = readonly_fields

    def get_changelist(self, request, **kwargs):
        return UnmappedChangeList

    def has_add_permission(self, request):
        return False  # recorded by the sync engine only

    def has_change_permission(self, request, obj=None):
        return False  # a queue: read it, map it, or delete noise

    def has_create_mapping_permission(self, request) -> bool:
        return bool(self._allowed_kinds(request))

    def _allowed_kinds(self, request) -> set[str]:
        return {
            kind
            for kind, model in MAPPING_MODELS.items()
            if request.user.has_perm(f"mappings.add_{model._meta.model_name}")
        }

    @admin.display(description=gettext_lazy("channel value"), ordering="code_key")
    def value(self, entry: UnmappedValue) -> str:
        return entry.display_code

    @admin.display(description=gettext_lazy("channel label"))
    def labels(self, entry: UnmappedValue) -> str:
        return " / ".join(v for v in (entry.parent_label, entry.label) if v)

    @admin.display(description=gettext_lazy("state"), ordering="resolved_at")
    def state(self, entry: UnmappedValue) -> str:
        return _("resolved") if entry.resolved_at else _("open")

    @admin.display(description=gettext_lazy("suggested ERP value"))
    def suggestion(self, entry: UnmappedValue) -> str:
        if not hasattr(entry, "suggested_target"):  # detail page: a single entry
            entry.suggested_target = suggestions_for_unmapped([entry]).get(entry.pk)
        return _display_target(entry.suggested_target)

    @admin.display(description="")
    def map_by_hand(self, entry: UnmappedValue):
        if entry.resolved_at:
            return ""
        model = MAPPING_MODELS[entry.kind]
        if entry.kind == MappingKind.CARRIER_SERVICE:
            initial = {
                "code": entry.parent_code,
                "label": entry.parent_label,
                "service_code": entry.code,
                "service_label": entry.label,
            }
        elif entry.kind == MappingKind.ATTRIBUTE:
            initial = {
                "code": entry.parent_code,
                "label": entry.parent_label,
                "value_code": entry.code,
                "value_label": entry.label,
            }
        else:
            initial = {"code": entry.code, "label": entry.label}
        initial["channel"] = entry.channel_id
        url = reverse(f"admin:mappings_{model._meta.model_name}_add")
        return format_html('<a href="{}?{}">{}</a>', url, urlencode(initial), _("Map…"))

    @admin.action(
        description=gettext_lazy("Create mapping from suggestion"), permissions=["create_mapping"]
    )
    def create_mapping_from_suggestion(self, request, queryset):
        outcome = unmapped_apply_suggestions(
            entries=queryset.select_related("channel"), allowed_kinds=self._allowed_kinds(request)
        )
        if outcome.created:
            self.message_user(
                request,
                _("%(count)s mapping(s) created.") % {"count": len(outcome.created)},
            )
        if outcome.without_suggestion:
            values = ", ".join(e.display_code for e in outcome.without_suggestion)
            self.message_user(
                request,
                _("No suggestion for %(values)s: map them by hand.") % {"values": values},
                messages.WARNING,
            )
        for entry, reason in outcome.failed:
            self.message_user(request, f"{entry.display_code}: {reason}", messages.ERROR)


# --- product bindings -----------------------------------------------------------------------


@admin.register(Listing)
class ListingAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "channel__company"
    list_display = [
        "sku",
        "channel",
        "external_item_id",
        "external_variation_id",
        "external_sku_id",
        "seller_sku",
        "last_pushed_stock",
        "last_pushed_stock_at",
        "last_pushed_price",
        "last_pushed_price_at",
    ]
    list_filter = ["channel"]
    # Exact matches: prefix/contains scans do not scale to 100k bindings per channel.
    search_fields = [
        "=sku__code",
        "=seller_sku",
        "=external_item_id",
        "=external_variation_id",
        "=external_sku_id",
    ]
    search_help_text = gettext_lazy(
        "Exact SKU code, seller SKU or channel id (item, variation, SKU)."
    )
    list_select_related = ["channel", "sku"]
    show_full_result_count = False
    autocomplete_fields = ["channel", "sku"]
    fields = [
        "channel",
        "sku",
        "external_item_id",
        "external_variation_id",
        "external_sku_id",
        "seller_sku",
        "last_pushed_stock",
        "last_pushed_stock_at",
        "last_pushed_price",
        "last_pushed_price_at",
        "item_price",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "last_pushed_stock",
        "last_pushed_stock_at",
        "last_pushed_price",
        "last_pushed_price_at",
        "item_price",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request, obj, form, change):
        listing_save(listing=obj, validated=True)

    @admin.display(description=gettext_lazy("Item price"))
    def item_price(self, obj: Listing) -> str:
        """The rule for vendors that charge one price per item, and a warning when the ERP
        prices of the item's bound SKUs differ (one query, on the change page only)."""
        if obj.pk is None or not obj.channel_id:
            return "—"
        if Capability.ONE_PRICE_PER_ITEM not in obj.channel.vendor.capabilities:
            return gettext("Each SKU gets its own price on %(vendor)s.") % {
                "vendor": obj.channel.vendor.label
            }
        rule = gettext(
            "%(vendor)s charges one price for every variation of an item (the highest, at "
            "checkout). erpintegr sends the highest ERP price among the SKUs bound to item "
            "%(item)s to all of its variations."
        ) % {"vendor": obj.channel.vendor.label, "item": obj.external_item_id or "—"}
        prices = item_erp_prices(obj)
        if len({amount for _code, amount in prices}) < 2:
            return rule
        highest = max(amount for _code, amount in prices)
        return format_html(
            "{}<br><strong>⚠ {}</strong> {}",
            rule,
            gettext("The ERP prices of this item's SKUs differ; %(price)s is sent to every one:")
            % {"price": brl(highest)},
            format_html_join(", ", "{} {}", ((code, brl(amount)) for code, amount in prices)),
        )


def brl(amount) -> str:
    """A price in reais, with the user's language's separators (R$ 1.234,50 in pt-BR)."""
    return _("R$ %(amount)s") % {"amount": number_format(amount, 2, force_grouping=True)}


def bindings_tool(channel: SalesChannel, request) -> list[tuple[str, str]]:
    """“Product bindings” button on the channel page: the channel's own changelist, since
    bindings (up to 100k per channel) are never an inline."""
    if not request.user.has_perm("mappings.view_listing"):
        return []
    url = reverse("admin:mappings_listing_changelist")
    return [(_("Product bindings"), f"{url}?{urlencode({'channel__id__exact': channel.pk})}")]


def register_channel_hooks() -> None:
    """What the de-para adds to the sales channel page; called by MappingsConfig.ready()
    (the order is documented in channels/admin.py)."""
    for inline in (
        CarrierServiceMappingInline,
        PaymentMethodMappingInline,
        OrderStatusMappingInline,
        StockLocationMappingInline,
        CategoryMappingInline,
        BrandMappingInline,
        AttributeMappingInline,
    ):
        register_channel_inline(inline)
    register_channel_object_tool(bindings_tool)
