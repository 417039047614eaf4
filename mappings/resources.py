"""CSV import/export of a channel's de-para tables (django-import-export resources).

One resource per kind. The channel is never read from the file: the admin passes the one
channel the user chose, so a file cannot write into another channel. ERP values are named
(carrier + service names, payment method name, status, warehouse code) and looked up only
among the channel's company's records. Rows are matched to existing rows by normalized code,
so re-importing an exported file updates in place. Every save goes through
`mappings.services.mapping_save` (hook included).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from import_export import resources, widgets
from import_export.fields import Field

from erp.models import (
    Attribute,
    AttributeValue,
    Brand,
    CarrierService,
    Category,
    OrderStatus,
    PaymentMethod,
    Warehouse,
)
from erpintegr.csvsafe import escape_formula, unescape_formula
from mappings.models import (
    AttributeMapping,
    BrandMapping,
    CarrierServiceMapping,
    CategoryMapping,
    ChannelMapping,
    OrderStatusMapping,
    PaymentMethodMapping,
    StockLocationMapping,
)
from mappings.normalize import normalize_code
from mappings.services import mapping_save

_YES = {"1", "yes", "y", "true", "x", "sim", "s", "★"}
_NO = {"", "0", "no", "n", "false", "nao", "não"}


class YesNoWidget(widgets.Widget):
    """ "yes" / blank in files; accepts the usual spellings (1/0, true/false, sim/não, x)."""

    def clean(self, value, row=None, **kwargs) -> bool:
        text = normalize_code(value)
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise ValueError(gettext("write “yes” or leave blank (got “%(value)s”)") % {"value": value})

    def render(self, value, obj=None, **kwargs) -> str:
        # "yes" / "sim": the import reads both (_YES) whatever the user's language.
        return gettext("yes") if value else ""


# The file's columns: each has a canonical name (the file format: "carrier_code"…, what an
# English export writes) and a label in each language (pgettext context "CSV column"). An
# export writes the labels of the user's language ("Código da transportadora" in pt-BR); an
# import reads a header in any of the product's languages, or the canonical name, so a file
# exported by a Brazilian user imports for an English one and back.
CSV_COLUMN = "CSV column"


# For makemessages (which only reads literals): every column of the files.
_COLUMN_MESSAGES = (
    pgettext_lazy("CSV column", "carrier_code"),
    pgettext_lazy("CSV column", "carrier_label"),
    pgettext_lazy("CSV column", "service_code"),
    pgettext_lazy("CSV column", "service_label"),
    pgettext_lazy("CSV column", "erp_carrier"),
    pgettext_lazy("CSV column", "erp_service"),
    pgettext_lazy("CSV column", "code"),
    pgettext_lazy("CSV column", "label"),
    pgettext_lazy("CSV column", "erp_payment_method"),
    pgettext_lazy("CSV column", "erp_status"),
    pgettext_lazy("CSV column", "erp_warehouse"),
    pgettext_lazy("CSV column", "anything_else"),
    pgettext_lazy("CSV column", "erp_category"),
    pgettext_lazy("CSV column", "erp_brand"),
    pgettext_lazy("CSV column", "attribute_code"),
    pgettext_lazy("CSV column", "attribute_label"),
    pgettext_lazy("CSV column", "value_code"),
    pgettext_lazy("CSV column", "value_label"),
    pgettext_lazy("CSV column", "erp_attribute"),
    pgettext_lazy("CSV column", "erp_value"),
)


def column_label(column: str) -> str:
    return pgettext(CSV_COLUMN, column)


def _header_key(header: str) -> str:
    return " ".join(str(header).replace("_", " ").split()).casefold()


def canonical_headers(headers, columns) -> list:
    """`headers` of a file with every known label (any language) or canonical name replaced
    by the canonical column name; unknown headers are kept as they are."""
    known: dict[str, str] = {}
    for column in columns:
        known[_header_key(column)] = column
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                known.setdefault(_header_key(column_label(column)), column)
    return [known.get(_header_key(h), h) if h is not None else h for h in headers]


def _text(row, column: str) -> str:
    value = row.get(column)
    # Our exports prefix formula-like cells with an apostrophe (erpintegr.csvsafe); take it
    # off so an exported file imports back to the same codes.
    return "" if value is None else unescape_formula(str(value)).strip()


class MappingResource(resources.ModelResource):
    """Shared import logic; subclasses declare columns and how targets are named."""

    # (column, model attribute) of the channel-side values, in key order first.
    code_columns: ClassVar[tuple[tuple[str, str], ...]] = (("code", "code"), ("label", "label"))
    key_columns: ClassVar[tuple[str, ...]] = ("code",)
    target_columns: ClassVar[tuple[str, ...]] = ()

    anything_else = Field(
        attribute="is_fallback", column_name="anything_else", widget=YesNoWidget()
    )

    def __init__(self, channel=None, **kwargs):
        super().__init__(**kwargs)
        self.channel = channel

    def export(self, *args, **kwargs):
        dataset = super().export(*args, **kwargs)
        dataset.headers = [column_label(h) for h in dataset.headers]
        return dataset

    def export_field(self, field, instance, **kwargs):
        # Codes and labels come from vendors and users: never a live formula in a spreadsheet.
        return escape_formula(super().export_field(field, instance, **kwargs))

    # --- what subclasses provide ------------------------------------------------------------

    def load_targets(self) -> dict:
        raise NotImplementedError

    def resolve_target(self, row):
        """The ERP value a row names, or raise ValidationError({"target": reason})."""
        raise NotImplementedError

    # --- import workflow --------------------------------------------------------------------

    @property
    def model(self) -> type[ChannelMapping]:
        return self._meta.model

    def instance_key(self, instance: ChannelMapping) -> tuple:
        """What identifies a stored row, as `row_key` reads it from a file line."""
        return instance.key_state()

    def row_key(self, row, is_fallback: bool) -> tuple:
        if is_fallback:
            return (True, *("" for _ in self.key_columns))
        return (False, *(normalize_code(_text(row, c)) for c in self.key_columns))

    def _fallback_flag(self, row) -> bool:
        try:
            return YesNoWidget().clean(row.get("anything_else"))
        except ValueError:
            return False  # reported by import_instance

    def before_import(self, dataset, **kwargs):
        if dataset.headers:
            dataset.headers = canonical_headers(
                dataset.headers, [field.column_name for field in self.get_import_fields()]
            )
        if self.channel is None:
            raise ValueError(gettext("Choose the sales channel to import into."))
        # Loaded once: matching and target lookups cost no query per row.
        existing = self.model._default_manager.filter(channel=self.channel).select_related(
            *self.model.target_select_related
        )
        self._existing = {self.instance_key(row): row for row in existing}
        self._targets = self.load_targets()
        self._lines: dict[tuple, int] = {}

    def get_instance(self, instance_loader, row):
        return self._existing.get(self.row_key(row, self._fallback_flag(row)))

    def init_instance(self, row=None):
        return self.model(channel=self.channel)

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        for column, attribute in self.code_columns:
            setattr(instance, attribute, _text(row, column))
        try:
            instance.is_fallback = YesNoWidget().clean(row.get("anything_else"))
        except ValueError as exc:
            errors["is_fallback"] = [str(exc)]
        key = self.row_key(row, instance.is_fallback)
        line = kwargs.get("row_number")
        if key in self._lines:
            errors.setdefault("code", []).append(
                (
                    gettext("Line %(line)s is already the “anything else” row.")
                    if instance.is_fallback
                    else gettext(
                        "Line %(line)s already maps this code (codes are compared ignoring "
                        "case, accents and surrounding spaces)."
                    )
                )
                % {"line": self._lines[key]}
            )
        else:
            self._lines[key] = line
        try:
            instance.target = self.resolve_target(row)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=list(errors))
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            # Name the file's columns, not the model's fields.
            columns = {
                "target": " / ".join(column_label(c) for c in self.target_columns),
                "is_fallback": column_label("anything_else"),
            }
            columns.update({attr: column_label(col) for col, attr in self.code_columns})
            raise ValidationError(
                {(k if k == NON_FIELD_ERRORS else columns.get(k, k)): v for k, v in errors.items()}
            )

    def do_instance_save(self, instance, is_create):
        mapping_save(mapping=instance, validated=True)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return False  # unchanged rows are listed as updates, never hidden


class _Meta:
    use_transactions = True
    skip_unchanged = False
    report_skipped = True
    clean_model_instances = True


class CarrierServiceMappingResource(MappingResource):
    code_columns = (
        ("carrier_code", "code"),
        ("service_code", "service_code"),
        ("carrier_label", "label"),
        ("service_label", "service_label"),
    )
    key_columns = ("carrier_code", "service_code")
    target_columns = ("erp_carrier", "erp_service")

    carrier_code = Field(attribute="code", column_name="carrier_code")
    carrier_label = Field(attribute="label", column_name="carrier_label")
    service_code = Field(attribute="service_code", column_name="service_code")
    service_label = Field(attribute="service_label", column_name="service_label")
    erp_carrier = Field(attribute="target__carrier__name", column_name="erp_carrier")
    erp_service = Field(attribute="target__name", column_name="erp_service")

    class Meta(_Meta):
        model = CarrierServiceMapping
        name = "Carrier + service de-para"
        fields = (
            "carrier_code",
            "carrier_label",
            "service_code",
            "service_label",
            "anything_else",
            "erp_carrier",
            "erp_service",
        )
        export_order = fields
        import_id_fields = ("carrier_code", "service_code")

    def load_targets(self) -> dict:
        targets: dict[tuple[str, str], list[CarrierService]] = {}
        for service in CarrierService.objects.filter(
            carrier__company_id=self.channel.company_id
        ).select_related("carrier"):
            key = (normalize_code(service.carrier.name), normalize_code(service.name))
            targets.setdefault(key, []).append(service)
        return targets

    def resolve_target(self, row):
        carrier, service = _text(row, "erp_carrier"), _text(row, "erp_service")
        if not carrier or not service:
            raise ValidationError(
                {
                    "target": gettext(
                        "Required: the ERP carrier (erp_carrier) and its service (erp_service)."
                    )
                }
            )
        found = self._targets.get((normalize_code(carrier), normalize_code(service)), [])
        if len(found) != 1:
            raise ValidationError(
                {
                    "target": gettext("%(company)s has no ERP carrier service “%(name)s”.")
                    % {"company": self.channel.company, "name": f"{carrier} / {service}"}
                    if not found
                    else gettext("“%(name)s” matches several ERP services; rename one.")
                    % {"name": f"{carrier} / {service}"}
                }
            )
        return found[0]


class _CompanyTargetResource(MappingResource):
    """A resource whose ERP value is a row of the channel's company, named in one column."""

    target_model: type
    target_key: str  # attribute of the ERP row that the CSV names it by
    target_column: str
    # "%(company)s has no …“%(name)s”." and "“%(name)s” matches several …; rename one."
    target_missing: str
    target_ambiguous: str

    def load_targets(self) -> dict:
        targets: dict[str, list] = {}
        for row in self.target_model.objects.filter(company_id=self.channel.company_id):
            targets.setdefault(normalize_code(getattr(row, self.target_key)), []).append(row)
        return targets

    def resolve_target(self, row):
        name = _text(row, self.target_column)
        if not name:
            raise ValidationError(
                {
                    "target": gettext("Required: column %(column)s.")
                    % {"column": column_label(self.target_column)}
                }
            )
        found = self._targets.get(normalize_code(name), [])
        if len(found) != 1:
            raise ValidationError(
                {
                    "target": str(self.target_missing)
                    % {"company": self.channel.company, "name": name}
                    if not found
                    else str(self.target_ambiguous) % {"name": name}
                }
            )
        return found[0]


class PaymentMethodMappingResource(_CompanyTargetResource):
    target_columns = ("erp_payment_method",)
    target_model = PaymentMethod
    target_key = "name"
    target_column = "erp_payment_method"
    target_missing = _("%(company)s has no ERP payment method “%(name)s”.")
    target_ambiguous = _("“%(name)s” matches several ERP payment methods; rename one.")

    code = Field(attribute="code", column_name="code")
    label = Field(attribute="label", column_name="label")
    erp_payment_method = Field(attribute="target__name", column_name="erp_payment_method")

    class Meta(_Meta):
        model = PaymentMethodMapping
        name = "Payment method de-para"
        fields = ("code", "label", "anything_else", "erp_payment_method")
        export_order = fields
        import_id_fields = ("code",)


class OrderStatusMappingResource(MappingResource):
    target_columns = ("erp_status",)

    code = Field(attribute="code", column_name="code")
    label = Field(attribute="label", column_name="label")
    erp_status = Field(attribute="target", column_name="erp_status")

    class Meta(_Meta):
        model = OrderStatusMapping
        name = "Order status de-para"
        fields = ("code", "label", "anything_else", "erp_status")
        export_order = fields
        import_id_fields = ("code",)

    def load_targets(self) -> dict:
        targets = {}
        for value, text in OrderStatus.choices:
            targets[normalize_code(value)] = value
            targets[normalize_code(text)] = value
        return targets

    def resolve_target(self, row):
        name = _text(row, "erp_status")
        if not name:
            raise ValidationError({"target": gettext("Required: the ERP order status.")})
        value = self._targets.get(normalize_code(name))
        if value is None:
            allowed = ", ".join(OrderStatus.values)
            raise ValidationError(
                {
                    "target": gettext(
                        "“%(name)s” is not an ERP order status; use one of: %(allowed)s."
                    )
                    % {"name": name, "allowed": allowed}
                }
            )
        return value


class StockLocationMappingResource(_CompanyTargetResource):
    target_columns = ("erp_warehouse",)
    target_model = Warehouse
    target_key = "code"
    target_column = "erp_warehouse"
    target_missing = _("%(company)s has no ERP warehouse with code “%(name)s”.")
    target_ambiguous = _("“%(name)s” matches several ERP warehouses; rename one.")

    code = Field(attribute="code", column_name="code")
    label = Field(attribute="label", column_name="label")
    erp_warehouse = Field(attribute="target__code", column_name="erp_warehouse")

    class Meta(_Meta):
        model = StockLocationMapping
        name = "Stock location de-para"
        fields = ("code", "label", "anything_else", "erp_warehouse")
        export_order = fields
        import_id_fields = ("code",)


# --- catalog de-para: one row per ERP value ------------------------------------------------


class _CatalogResource(MappingResource):
    """A catalog de-para file: one line per ERP value (rows are matched by it, so several
    ERP values may name the same channel code); no “anything else” column."""

    def instance_key(self, instance) -> tuple:
        return (False, self.target_key_of(instance))

    def row_key(self, row, is_fallback: bool) -> tuple:
        return (False, tuple(normalize_code(_text(row, c)) for c in self.target_columns))

    def target_key_of(self, instance) -> tuple:
        raise NotImplementedError


class _CatalogCompanyResource(_CatalogResource, _CompanyTargetResource):
    def target_key_of(self, instance) -> tuple:
        return (normalize_code(getattr(instance.target, self.target_key)),)


class CategoryMappingResource(_CatalogCompanyResource):
    target_columns = ("erp_category",)
    target_model = Category
    target_key = "path"  # "Roupas › Camisetas": names are unique per parent only
    target_column = "erp_category"
    target_noun = "ERP category"

    code = Field(attribute="code", column_name="code")
    label = Field(attribute="label", column_name="label")
    erp_category = Field(attribute="target__path", column_name="erp_category")

    class Meta(_Meta):
        model = CategoryMapping
        name = "Category de-para"
        fields = ("code", "label", "erp_category")
        export_order = fields
        import_id_fields = ("erp_category",)


class BrandMappingResource(_CatalogCompanyResource):
    target_columns = ("erp_brand",)
    target_model = Brand
    target_key = "name"
    target_column = "erp_brand"
    target_noun = "ERP brand"

    code = Field(attribute="code", column_name="code")
    label = Field(attribute="label", column_name="label")
    erp_brand = Field(attribute="target__name", column_name="erp_brand")

    class Meta(_Meta):
        model = BrandMapping
        name = "Brand de-para"
        fields = ("code", "label", "erp_brand")
        export_order = fields
        import_id_fields = ("erp_brand",)


class AttributeMappingResource(_CatalogResource):
    """attribute_code, attribute_label, value_code, value_label, erp_attribute, erp_value:
    a line with no value maps the attribute itself."""

    code_columns = (
        ("attribute_code", "code"),
        ("value_code", "value_code"),
        ("attribute_label", "label"),
        ("value_label", "value_label"),
    )
    target_columns = ("erp_attribute", "erp_value")

    attribute_code = Field(attribute="code", column_name="attribute_code")
    attribute_label = Field(attribute="label", column_name="attribute_label")
    value_code = Field(attribute="value_code", column_name="value_code")
    value_label = Field(attribute="value_label", column_name="value_label")
    erp_attribute = Field(attribute="target__name", column_name="erp_attribute")
    erp_value = Field(attribute="target_value__value", column_name="erp_value")

    class Meta(_Meta):
        model = AttributeMapping
        name = "Attribute and value de-para"
        fields = (
            "attribute_code",
            "attribute_label",
            "value_code",
            "value_label",
            "erp_attribute",
            "erp_value",
        )
        export_order = fields
        import_id_fields = ("erp_attribute", "erp_value")

    def target_key_of(self, instance) -> tuple:
        value = instance.target_value.value if instance.target_value_id else ""
        return (normalize_code(instance.target.name), normalize_code(value))

    def load_targets(self) -> dict:
        attributes = {}
        for attribute in Attribute.objects.filter(company_id=self.channel.company_id):
            attributes[normalize_code(attribute.name)] = (attribute, {})
        for value in AttributeValue.objects.filter(
            attribute__company_id=self.channel.company_id
        ).select_related("attribute"):
            attributes[normalize_code(value.attribute.name)][1][normalize_code(value.value)] = value
        return attributes

    def resolve_target(self, row):
        """The ERP attribute; a value line's ERP value is kept for `import_instance`."""
        name, value_name = _text(row, "erp_attribute"), _text(row, "erp_value")
        if not name:
            raise ValidationError(
                {
                    "target": gettext("Required: column %(column)s.")
                    % {"column": column_label("erp_attribute")}
                }
            )
        found = self._targets.get(normalize_code(name))
        if found is None:
            raise ValidationError(
                {
                    "target": gettext("%(company)s has no ERP attribute “%(name)s”.")
                    % {"company": self.channel.company, "name": name}
                }
            )
        attribute, values = found
        if value_name:
            value = values.get(normalize_code(value_name))
            if value is None:
                raise ValidationError(
                    {
                        "target": gettext("ERP attribute “%(name)s” has no value “%(value)s”.")
                        % {"name": name, "value": value_name}
                    }
                )
            self._resolved_value = value
        return attribute

    def import_instance(self, instance, row, **kwargs):
        self._resolved_value = None
        try:
            super().import_instance(instance, row, **kwargs)
        finally:
            instance.target_value = self._resolved_value


RESOURCES: dict[type[ChannelMapping], type[MappingResource]] = {
    CarrierServiceMapping: CarrierServiceMappingResource,
    PaymentMethodMapping: PaymentMethodMappingResource,
    OrderStatusMapping: OrderStatusMappingResource,
    StockLocationMapping: StockLocationMappingResource,
    CategoryMapping: CategoryMappingResource,
    BrandMapping: BrandMappingResource,
    AttributeMapping: AttributeMappingResource,
}
