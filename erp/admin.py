from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from erp.admin_scoping import AllCompaniesOnlyAdminMixin, CompanyScopedAdminMixin
from erp.forms import FULFILMENT_FORMS
from erp.models import (
    Attribute,
    AttributeValue,
    Brand,
    Carrier,
    CarrierService,
    Category,
    Company,
    CompanyMembership,
    Invoice,
    Order,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    Price,
    PriceList,
    Product,
    ProductAttributeValue,
    ProductImage,
    Shipment,
    Sku,
    SkuAttributeValue,
    StockBalance,
    Warehouse,
)
from erp.selectors import user_sees_all_companies
from erp.services import (
    CATALOG_FIELDS,
    PRODUCT_CATALOG_FIELDS,
    ImageSpec,
    announce_sku_changes,
    order_deliver,
    price_set,
    product_attributes_set,
    product_images_set,
    product_update,
    sku_attributes_set,
    sku_update,
    stock_set,
)
from erp.signals import ChangeKind


class MembershipGrantInlineMixin:
    """Membership grants access to a company's data: only users who see every company
    (superusers, the groups in settings.COMPANY_SCOPE_ALL_GROUPS) add or remove members.
    Others may look at who shares their company."""

    def has_add_permission(self, request, obj=None):
        return user_sees_all_companies(request.user) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return user_sees_all_companies(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return user_sees_all_companies(request.user) and super().has_delete_permission(request, obj)


class CompanyMembersInline(MembershipGrantInlineMixin, admin.TabularInline):
    model = CompanyMembership
    fields = ["user", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name = _("member")
    verbose_name_plural = _("Members — users who see this company's data in the admin")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Company)
class CompanyAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "pk"
    list_display = ["legal_name", "trade_name", "cnpj_formatted", "created_at"]
    search_fields = ["legal_name", "trade_name", "cnpj"]
    inlines = [CompanyMembersInline]

    def has_add_permission(self, request):
        # A new company has no member yet: it would vanish from its creator's own lists.
        # Companies are created by whoever sees every company, who then adds the members.
        return user_sees_all_companies(request.user) and super().has_add_permission(request)

    @admin.display(description=_("CNPJ"), ordering="cnpj")
    def cnpj_formatted(self, company: Company) -> str:
        return company.cnpj_formatted


@admin.register(Warehouse)
class WarehouseAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "company", "active"]
    list_filter = ["active", "company"]
    search_fields = ["code", "name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]


# --- catalog: brands, categories, variation attributes, products and SKUs ------------------


@admin.register(Brand)
class BrandAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "company"]
    list_filter = ["company"]
    search_fields = ["name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]


@admin.register(Category)
class CategoryAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["path", "company"]
    list_filter = ["company"]
    search_fields = ["name", "path"]
    list_select_related = ["company"]
    autocomplete_fields = ["company", "parent"]
    fields = ["company", "parent", "name", "path"]
    readonly_fields = ["path"]


class AttributeValueInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "attribute__company"
    model = AttributeValue
    fields = ["value", "position"]
    extra = 1


@admin.register(Attribute)
class AttributeAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "company"]
    list_filter = ["company"]
    search_fields = ["name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    inlines = [AttributeValueInline]


@admin.register(AttributeValue)
class AttributeValueAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """The values list: what the SKU page's autocomplete searches ("Cor = Azul")."""

    company_field = "attribute__company"
    list_display = ["__str__", "attribute", "position"]
    list_filter = ["attribute__company", "attribute"]
    search_fields = ["value", "attribute__name"]
    list_select_related = ["attribute"]
    autocomplete_fields = ["attribute"]


class SkuInline(CompanyScopedAdminMixin, admin.TabularInline):
    model = Sku
    fields = ["code", "name", "ean", "weight_grams", "height_cm", "width_cm", "length_cm", "active"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company")


class ProductImageInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "product__company"
    model = ProductImage
    fields = ["position", "url", "file", "preview", "sku"]
    readonly_fields = ["preview"]
    extra = 1
    verbose_name = _("image")
    verbose_name_plural = _("Images (in display order; the lowest position is the main image)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku")

    def get_fields(self, request, obj=None):
        # A product being added has no SKU yet: its images are the product's.
        return self.fields if obj is not None else ["position", "url", "file"]

    @admin.display(description=_("preview"))
    def preview(self, image):
        address = image.url or image.path()
        if not address:
            return "-"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">'
            '<img src="{}" alt="{}" style="max-height:60px;max-width:90px"></a>',
            address,
            address,
            _("image %(position)s") % {"position": image.position},
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "sku":
            # Only the SKUs of the product on the page.
            object_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Sku.objects.filter(product_id=object_id or 0)
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            # Listed once for the page, not once per image row.
            field.choices = [("", "---------"), *((s.pk, str(s)) for s in kwargs["queryset"])]
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ProductAttributeValueInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "product__company"
    model = ProductAttributeValue
    fields = ["value"]
    autocomplete_fields = ["value"]
    extra = 1
    verbose_name = _("product attribute")
    verbose_name_plural = _(
        "Product attributes, the same for every SKU (e.g. Marca = Acme, Modelo = Básica)"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("value__attribute")


def _image_file_of(value):
    if isinstance(value, FieldFile):
        return value.name or None
    return value or None


def _saved_by_service(formset) -> None:
    """The service replaced the rows as a whole: tell the change message nothing per row."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def _changed_values(form, allowed: frozenset[str]) -> dict:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in allowed}


@admin.register(Product)
class ProductAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "brand", "category", "company", "active", "updated_at"]
    list_filter = ["active", "company"]
    search_fields = ["name", "brand__name", "skus__code"]
    list_select_related = ["company", "brand", "category"]
    autocomplete_fields = ["company", "brand", "category"]
    fields = ["company", "name", "description", "brand", "category", "ncm", "origin", "active"]
    inlines = [SkuInline, ProductAttributeValueInline, ProductImageInline]

    def get_readonly_fields(self, request, obj=None):
        # A product's SKUs, prices and bindings belong to its company: it never moves.
        return ["company"] if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()  # no SKU yet: nothing to announce
            return
        # Through erp.services so every channel selling the product learns about it.
        stored = Product.objects.get(pk=obj.pk)
        product_update(product=stored, **_changed_values(form, PRODUCT_CATALOG_FIELDS))

    def save_formset(self, request, form, formset, change):
        if formset.model is ProductAttributeValue:
            values = [
                f.cleaned_data["value"]
                for f in formset.forms
                if getattr(f, "cleaned_data", None)
                and not f.cleaned_data.get("DELETE")
                and f.cleaned_data.get("value")
            ]
            product_attributes_set(product=form.instance, values=values)
            _saved_by_service(formset)
            return
        if formset.model is ProductImage:
            kept = [
                f
                for f in formset.forms
                if getattr(f, "cleaned_data", None)
                and not f.cleaned_data.get("DELETE")
                and (f.cleaned_data.get("url") or f.cleaned_data.get("file"))
            ]
            kept.sort(key=lambda f: f.cleaned_data.get("position") or 0)
            product_images_set(
                product=form.instance,
                images=[
                    ImageSpec(
                        url=f.cleaned_data.get("url") or "",
                        sku=f.cleaned_data.get("sku"),
                        # A stored file stays by its name; a new upload is stored.
                        file=_image_file_of(f.cleaned_data.get("file")),
                    )
                    for f in kept
                ],
            )
            _saved_by_service(formset)
            return
        if formset.model is Sku:
            announce_after_save = []
            for sku_form in formset.initial_forms:
                if sku_form in formset.deleted_forms or not sku_form.has_changed():
                    continue
                catalog = _changed_values(sku_form, CATALOG_FIELDS)
                if not catalog:
                    continue
                if len(catalog) == len(sku_form.changed_data):
                    stored = Sku.objects.get(pk=sku_form.instance.pk)
                    sku_update(sku=stored, **catalog)
                    # Saved and announced: the formset's own save skips an unchanged form.
                    sku_form.changed_data.clear()
                else:  # the code changed too: saved by the formset, announced after
                    announce_after_save.append(sku_form.instance.pk)
            formset.save()
            if announce_after_save:
                announce_sku_changes(
                    company_id=form.instance.company_id,
                    kind=ChangeKind.CATALOG,
                    sku_ids=announce_after_save,
                )
            return
        super().save_formset(request, form, formset, change)


class SkuAttributeValueInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "sku__company"
    model = SkuAttributeValue
    fields = ["value"]
    autocomplete_fields = ["value"]
    extra = 1
    verbose_name = _("variation attribute")
    verbose_name_plural = _("Variation attributes (e.g. Cor = Azul, Tamanho = M)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("value__attribute")


@admin.register(Sku)
class SkuAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "product", "ean", "company", "active"]
    list_filter = ["active", "company"]
    search_fields = ["code", "code_key", "ean", "name", "product__name"]
    list_select_related = ["product", "company"]
    autocomplete_fields = ["company", "product"]
    show_full_result_count = False
    fields = [
        "company",
        "product",
        "code",
        "name",
        "ean",
        "weight_grams",
        ("height_cm", "width_cm", "length_cm"),
        "active",
    ]
    inlines = [SkuAttributeValueInline]

    def get_readonly_fields(self, request, obj=None):
        return ["company", "product"] if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        stored = Sku.objects.get(pk=obj.pk)
        other = [name for name in form.changed_data if name not in CATALOG_FIELDS]
        if other:  # the code: not catalog data the channels receive
            for name in other:
                setattr(stored, name, form.cleaned_data[name])
            stored.save(update_fields=[*other, "code_key", "updated_at"])
        sku_update(sku=stored, **_changed_values(form, CATALOG_FIELDS))

    def save_formset(self, request, form, formset, change):
        if formset.model is SkuAttributeValue:
            values = [
                f.cleaned_data["value"]
                for f in formset.forms
                if getattr(f, "cleaned_data", None)
                and not f.cleaned_data.get("DELETE")
                and f.cleaned_data.get("value")
            ]
            sku_attributes_set(sku=form.instance, values=values)
            _saved_by_service(formset)
            return
        super().save_formset(request, form, formset, change)


@admin.register(StockBalance)
class StockBalanceAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "sku__company"
    list_display = ["sku", "warehouse", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["sku__code", "sku__ean"]
    list_select_related = ["sku", "warehouse"]
    autocomplete_fields = ["sku", "warehouse"]
    show_full_result_count = False
    fields = ["sku", "warehouse", "on_hand", "reserved"]
    # Reservations belong to orders; on hand is edited here and saved through erp.services
    # so every integration learns about the change.
    readonly_fields = ["reserved"]

    def get_readonly_fields(self, request, obj=None):
        return ["sku", "warehouse", "reserved"] if obj else ["reserved"]

    @admin.display(description=_("available"))
    def available(self, balance: StockBalance) -> int:
        return balance.available

    def save_model(self, request, obj, form, change):
        stock_set(sku=obj.sku, warehouse=obj.warehouse, on_hand=obj.on_hand)
        obj.pk = StockBalance.objects.get(sku=obj.sku, warehouse=obj.warehouse).pk


class PriceInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "price_list__company"
    model = Price
    fields = ["sku", "amount", "list_amount", "updated_at"]
    readonly_fields = ["sku", "amount", "list_amount", "updated_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku")


@admin.register(PriceList)
class PriceListAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "currency", "company"]
    list_filter = ["company", "currency"]
    search_fields = ["name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]


@admin.register(Price)
class PriceAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "price_list__company"
    list_display = ["sku", "price_list", "amount", "list_amount", "updated_at"]
    list_filter = ["price_list"]
    search_fields = ["sku__code"]
    list_select_related = ["sku", "price_list"]
    autocomplete_fields = ["sku", "price_list"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return ["price_list", "sku"] if obj else []

    def save_model(self, request, obj, form, change):
        # Through erp.services so every integration learns about the change.
        price_set(
            price_list=obj.price_list, sku=obj.sku, amount=obj.amount, list_amount=obj.list_amount
        )
        obj.pk = Price.objects.get(price_list=obj.price_list, sku=obj.sku).pk


class CarrierServiceInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "carrier__company"
    model = CarrierService
    fields = ["name", "code"]
    extra = 1


@admin.register(Carrier)
class CarrierAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "company", "cnpj"]
    list_filter = ["company"]
    search_fields = ["name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    inlines = [CarrierServiceInline]


@admin.register(CarrierService)
class CarrierServiceAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "carrier__company"
    list_display = ["name", "carrier", "code"]
    list_filter = ["carrier__company", "carrier"]
    search_fields = ["name", "code", "carrier__name"]
    list_select_related = ["carrier"]
    autocomplete_fields = ["carrier"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "company"]
    list_filter = ["kind", "company"]
    search_fields = ["name"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]


class OrderItemInline(CompanyScopedAdminMixin, admin.TabularInline):
    company_field = "order__company"
    model = OrderItem
    fields = ["line", "sku", "quantity", "unit_price", "reserved_warehouse"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku", "reserved_warehouse")


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else "—"


@admin.register(Order)
class OrderAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """Orders arrive from channels (the engine owns their data). The back office invoices,
    ships, delivers and cancels them here: one page per step, each a form that calls the
    erp.services function (the only writer) — see erp/forms.py."""

    change_form_template = "admin/erp/order/change_form.html"
    list_display = [
        "__str__",
        "channel",
        "status",
        "customer_name",
        "total",
        "carrier_service",
        "payment_method",
        "placed_at",
    ]
    list_filter = [
        "status",
        ("channel_canceled_at", admin.EmptyFieldListFilter),
        "nfe_cancel_required",
        "channel",
        "company",
    ]
    search_fields = [
        "external_id",
        "customer_name",
        "customer_document",
        "customer_email",
        "invoice__access_key",
        "shipment__tracking_code",
    ]
    list_select_related = ["channel", "carrier_service__carrier", "payment_method"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline]
    show_full_result_count = False
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "company",
                    "channel",
                    "external_id",
                    "status",
                    "channel_canceled_at",
                    "placed_at",
                ]
            },
        ),
        (_("Buyer"), {"fields": ["customer_name", "customer_document", "customer_email"]}),
        (
            _("Delivery address"),
            {
                "fields": [
                    "delivery_recipient",
                    ("delivery_street", "delivery_number"),
                    "delivery_complement",
                    "delivery_district",
                    ("delivery_city", "delivery_state"),
                    "delivery_cep",
                    "delivery_phone",
                ]
            },
        ),
        (_("Shipping and payment"), {"fields": ["carrier_service", "payment_method"]}),
        (_("Totals"), {"fields": ["items_total", "shipping_total", "total"]}),
        (
            _("Fulfilment"),
            {"fields": ["invoice_summary", "shipment_summary", "cancellation_summary"]},
        ),
    ]
    actions = ["deliver_selected"]
    # Orders arrive from channels; the engine owns them.
    readonly_fields = [
        "company",
        "channel",
        "external_id",
        "status",
        "channel_canceled_at",
        "placed_at",
        "customer_name",
        "customer_document",
        "customer_email",
        *(name for name in Order.DELIVERY_FIELDS if name != "delivery_postal_code"),
        "delivery_cep",
        "carrier_service",
        "payment_method",
        "items_total",
        "shipping_total",
        "total",
        "invoice_summary",
        "shipment_summary",
        "cancellation_summary",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("CEP"))
    def delivery_cep(self, obj: Order) -> str:
        return obj.delivery_postal_code_display

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("invoice", "shipment__carrier_service__carrier")
        )

    @admin.display(description=_("invoice (NF-e)"))
    def invoice_summary(self, order: Order) -> str:
        invoice = _related(order, "invoice")
        if invoice is None:
            return gettext("Not invoiced.")
        return format_html(
            "{} · {} {} · {} {} · {} {}{}",
            invoice,
            gettext("access key"),
            invoice.access_key,
            gettext("issued"),
            _when(invoice.issued_at),
            gettext("total"),
            invoice.total,
            gettext(" · XML attached") if invoice.xml_file else "",
        )

    @admin.display(description=_("shipment"))
    def shipment_summary(self, order: Order) -> str:
        shipment = _related(order, "shipment")
        if shipment is None:
            return gettext("Not shipped.")
        delivered = (
            gettext("delivered %(when)s") % {"when": _when(shipment.delivered_at)}
            if shipment.delivered_at
            else gettext("not delivered yet")
        )
        return format_html(
            "{} · {} {} {} · {} {} · {}",
            shipment.carrier_service,
            gettext("tracking"),
            shipment.tracking_code or "—",
            shipment.tracking_url,
            gettext("shipped"),
            _when(shipment.shipped_at),
            delivered,
        )

    @admin.display(description=_("cancellation"))
    def cancellation_summary(self, order: Order) -> str:
        if order.status != OrderStatus.CANCELED or order.canceled_at is None:
            return gettext("Not canceled.")
        text = gettext("Canceled %(when)s: %(reason)s") % {
            "when": _when(order.canceled_at),
            "reason": order.cancel_reason or "—",
        }
        if order.nfe_cancel_required:
            return format_html(
                '{} <strong class="errornote">{}</strong>',
                text,
                gettext("The NF-e must be canceled in the ERP."),
            )
        return text

    # --- invoice, ship, deliver, cancel -------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/fulfilment/<slug:step>/",
                self.admin_site.admin_view(self.fulfilment_view),
                name="erp_order_fulfilment",
            ),
            *super().get_urls(),
        ]

    def available_steps(self, order: Order) -> list[str]:
        """The buttons worth showing; the services decide what is allowed."""
        if order.status == OrderStatus.CANCELED:
            return []
        invoiced = _related(order, "invoice") is not None
        shipment = _related(order, "shipment")
        steps = [] if invoiced else ["invoice"]
        if shipment is None:
            steps.append("ship")
        elif shipment.delivered_at is None:
            steps.append("deliver")
        if order.status != OrderStatus.DELIVERED:
            steps.append("cancel")
        return steps

    def fulfilment_view(self, request, object_id, step):
        form_class = FULFILMENT_FORMS.get(step)
        if form_class is None:
            raise Http404(gettext("No such step."))
        order = self.get_object(request, object_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        change_url = reverse(
            "admin:erp_order_change",
            args=[order.pk],
            current_app=self.admin_site.name,
        )
        if request.method == "POST":
            form = form_class(request.POST, request.FILES, order=order)
            if form.apply():
                message = form.success_message % {"order": order}
                self.log_change(request, order, [{"changed": {"fields": [str(form.title)]}}])
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
            self.message_user(
                request, gettext("Nothing was saved: see the errors below."), messages.ERROR
            )
        else:
            form = form_class(order=order)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": order,
            "title": form.title,
            "subtitle": str(order),
            "form": form,
            "change_url": change_url,
            "has_view_permission": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/erp/order/fulfilment_form.html", context)

    # Links other apps add to the order page's tools (the engine adds the shipping label
    # downloads): callables (model_admin, request, order) -> [(label, url), …], called only
    # for users who may change the order.
    order_tool_hooks: list = []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        order = self.get_object(request, object_id)
        if self.has_change_permission(request, order):
            extra_context["order_tools"] = [
                tool for hook in self.order_tool_hooks for tool in hook(self, request, order)
            ]
            labels = {name: form.title for name, form in FULFILMENT_FORMS.items()}
            extra_context["fulfilment_steps"] = [
                (
                    labels[step],
                    reverse(
                        "admin:erp_order_fulfilment",
                        args=[order.pk, step],
                        current_app=self.admin_site.name,
                    ),
                )
                for step in self.available_steps(order)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Mark the selected orders delivered"), permissions=["change"])
    def deliver_selected(self, request, queryset):
        done, refused = 0, []
        for order in queryset.select_related(None).only("pk", "external_id", "status"):
            try:
                order_deliver(order=order)
                done += 1
            except ValidationError as error:
                refused.extend(error.messages)
        if done:
            self.message_user(
                request,
                gettext("%(count)s orders marked as delivered.") % {"count": done},
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)


def _related(order: Order, name: str):
    """The order's invoice / shipment, or None (a reverse one-to-one raises when missing)."""
    try:
        return getattr(order, name)
    except (Invoice.DoesNotExist, Shipment.DoesNotExist):
        return None


# --- users: their companies on the user page ------------------------------------------------


class UserCompaniesInline(admin.TabularInline):
    model = CompanyMembership
    fields = ["company", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["company"]
    extra = 0
    verbose_name = _("company")
    verbose_name_plural = _("Companies — this user sees these companies' data in the admin")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company")


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AllCompaniesOnlyAdminMixin, DjangoUserAdmin):
    """Django's user page plus the user's companies. Users belong to no company: only those
    who see every company manage them (editing users grants any permission anyway)."""

    inlines = [*DjangoUserAdmin.inlines, UserCompaniesInline]
