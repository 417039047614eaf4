"""De-para tables (channel value → ERP value), product bindings and the unmapped-value queue.

Every de-para kind is a concrete model on `ChannelMapping`. A row maps one channel code
(compared through `normalize_code`) to one ERP value of the channel's company; one row per
channel and kind may be the explicit fallback ("★ anything else"), used only for codes that
have no row of their own.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.models import SalesChannel
from erp.models import (
    Attribute,
    AttributeValue,
    Brand,
    CarrierService,
    Category,
    OrderStatus,
    PaymentMethod,
    Sku,
    Warehouse,
)
from mappings.normalize import normalize_code
from vendors.types import ExternalRef

FALLBACK_LABEL = _("★ anything else")


class MappingKind(models.TextChoices):
    # The `kind` strings of vendors.types.ReferenceValue, which adapters report.
    CARRIER_SERVICE = "carrier_service", _("Carrier + service")
    PAYMENT_METHOD = "payment_method", _("Payment method")
    ORDER_STATUS = "order_status", _("Order status")
    STOCK_LOCATION = "stock_location", _("Stock location")
    # Catalog de-para (issue 15): the other direction — an ERP value is published as the
    # channel's value. One row per ERP value and channel; no "anything else" row (a product
    # whose category, brand or attribute has no row waits for it).
    CATEGORY = "category", _("Category")
    BRAND = "brand", _("Brand")
    ATTRIBUTE = "attribute", _("Attribute and value")


# Kinds whose channel values come in two levels, as vendors.types.ReferenceValue reports them:
# `parent_code` is the carrier (of a service) or the attribute (of a value), `code` the
# service or value; a row's `code` is the parent and its second key the child.
PARENT_CODE_KINDS = frozenset({MappingKind.CARRIER_SERVICE, MappingKind.ATTRIBUTE})
# Kinds that publish ERP values to the channel (the catalog): unique per ERP value.
CATALOG_KINDS = frozenset({MappingKind.CATEGORY, MappingKind.BRAND, MappingKind.ATTRIBUTE})


def _mapping_constraints(model_name: str, key_fields: list[str]) -> list:
    """The database side of the rules `ChannelMapping.clean()` explains to the user."""
    blank_keys = Q(**{field: "" for field in key_fields})
    return [
        models.UniqueConstraint(
            fields=["channel", *key_fields],
            condition=Q(is_fallback=False),
            name=f"{model_name}_code_unique_per_channel",
            violation_error_message=_("This channel already maps this code."),
        ),
        models.UniqueConstraint(
            fields=["channel"],
            condition=Q(is_fallback=True),
            name=f"{model_name}_one_fallback_per_channel",
            violation_error_message=_("This channel already has an “anything else” row."),
        ),
        models.CheckConstraint(
            condition=(Q(is_fallback=True) & blank_keys) | (Q(is_fallback=False) & ~Q(code_key="")),
            name=f"{model_name}_fallback_has_no_code",
            violation_error_message=_(
                "The “anything else” row has no code; every other row has one."
            ),
        ),
    ]


class ChannelMapping(models.Model):
    """One de-para row of a channel. Subclasses add `target` and declare their kind."""

    kind: ClassVar[str]
    # Normalized key fields, in lookup order (carrier, then service).
    key_fields: ClassVar[tuple[str, ...]] = ("code_key",)
    # Joins needed to print the target without a query per row (admin, translation).
    target_select_related: ClassVar[tuple[str, ...]] = ()

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        verbose_name=_("sales channel"),
        help_text=_("The sales channel this row belongs to."),
    )
    code = models.CharField(
        _("channel code"),
        max_length=120,
        blank=True,
        help_text=_(
            "The value exactly as the channel sends it. Case, accents and surrounding "
            "spaces are ignored when comparing (“ECT”, “ ect ” and “Ect” are one value)."
        ),
    )
    code_key = models.CharField(
        max_length=200, editable=False, help_text="Normalized code used for matching."
    )
    label = models.CharField(
        _("channel label"),
        max_length=200,
        blank=True,
        help_text=_("The channel's description, if any."),
    )
    is_fallback = models.BooleanField(
        _("anything else"),
        default=False,
        help_text=_(
            "Tick on one row per table (code left blank) to map every value that has "
            "no row of its own. Without it, unknown values hold the order until mapped."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(FALLBACK_LABEL) if self.is_fallback else self.code

    def save(self, *args, **kwargs):
        self.normalize_keys()
        super().save(*args, **kwargs)
        self._loaded_key_state = self.key_state()

    # --- keys -------------------------------------------------------------------------------

    def normalize_keys(self) -> None:
        self.code = (self.code or "").strip()
        self.label = (self.label or "").strip()
        self.code_key = normalize_code(self.code)

    def key_state(self) -> tuple:
        return (self.is_fallback, *(self.__dict__.get(f) for f in self.key_fields))

    def key_filter(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in self.key_fields}

    def second_key(self) -> str:
        """The child's key of a two-level kind (carrier's service, attribute's value)."""
        return getattr(self, self.key_fields[1]) if len(self.key_fields) > 1 else ""

    def key_changed(self) -> bool:
        """True for a new row or a row whose code/fallback changed since it was loaded:
        the moment it starts matching values it did not match before."""
        return self._state.adding or getattr(self, "_loaded_key_state", None) != self.key_state()

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_key_state = instance.key_state()
        return instance

    # --- targets ----------------------------------------------------------------------------

    def target_company_id(self) -> int | None:
        """Company of the ERP target, or None when the kind's target has no company."""
        return None

    def has_target(self) -> bool:
        return getattr(self, "target_id", None) is not None

    def target_display(self) -> str:
        return str(self.target) if self.has_target() else ""

    # --- validation -------------------------------------------------------------------------

    def clean(self) -> None:
        super().clean()
        self.normalize_keys()
        errors: dict[str, str] = {}
        kind_label = MappingKind(self.kind).label.lower()
        if self.is_fallback:
            if any(getattr(self, f) for f in self.key_fields):
                errors["code"] = gettext(
                    "Leave the channel code blank on the “anything else” row: it applies to "
                    "every value that has no row of its own."
                )
        elif not self.code_key:
            errors["code"] = gettext(
                "Type the code the channel sends, or tick “anything else” for the fallback row."
            )
        channel = self.channel if self.channel_id is not None else None
        company_id = self.target_company_id() if self.has_target() else None
        if channel is not None and company_id is not None and company_id != channel.company_id:
            errors["target"] = gettext(
                "This ERP %(kind)s belongs to another company; pick one of %(company)s's."
            ) % {"kind": kind_label, "company": channel.company}
        if not errors and channel is not None and self.key_changed():
            clash = type(self)._default_manager.filter(channel_id=self.channel_id)
            if self.is_fallback:
                clash = clash.filter(is_fallback=True)
            else:
                clash = clash.filter(is_fallback=False, **self.key_filter())
            if self.pk is not None:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                errors["is_fallback" if self.is_fallback else "code"] = (
                    gettext("This channel already has an “anything else” row for %(kind)s.")
                    % {"kind": kind_label}
                    if self.is_fallback
                    else gettext(
                        "This channel already maps %(code)s (codes are compared ignoring "
                        "case, accents and surrounding spaces)."
                    )
                    % {"code": self.describe_code()}
                )
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        # clean() checks every constraint of these tables with a message naming the code;
        # Django's generic constraint check would only repeat it less clearly.
        return None

    # --- display ----------------------------------------------------------------------------

    def describe_code(self) -> str:
        return f"“{self.code}”"

    @property
    def rule(self) -> str:
        return str(FALLBACK_LABEL) if self.is_fallback else gettext("exact code")


class CarrierServiceMapping(ChannelMapping):
    """Channel carrier + service → ERP carrier service ("ECT" / "40215" → Correios / SEDEX 10).

    A row with a blank service code matches every service of that carrier that has no row
    of its own ("ECT / any service").
    """

    kind = MappingKind.CARRIER_SERVICE
    key_fields = ("code_key", "service_key")
    target_select_related = ("target__carrier",)

    code = models.CharField(
        _("channel carrier code"),
        max_length=120,
        blank=True,
        help_text=_(
            "The carrier as the channel sends it, e.g. ECT. Case, accents and "
            "surrounding spaces are ignored."
        ),
    )
    label = models.CharField(_("channel carrier label"), max_length=200, blank=True)
    service_code = models.CharField(
        _("channel service code"),
        max_length=120,
        blank=True,
        help_text=_(
            "The channel's service code. Leave blank to match any service of this "
            "carrier that has no row of its own."
        ),
    )
    service_key = models.CharField(max_length=200, editable=False, blank=True)
    service_label = models.CharField(_("channel service label"), max_length=200, blank=True)
    target = models.ForeignKey(
        CarrierService,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        verbose_name=_("ERP carrier / service"),
    )

    class Meta:
        verbose_name = _("carrier + service de-para")
        verbose_name_plural = _("carrier + service de-para")
        ordering = ["channel_id", "is_fallback", "code_key", "service_key"]
        constraints = _mapping_constraints("carrier_mapping", ["code_key", "service_key"])

    def __str__(self) -> str:
        if self.is_fallback:
            return str(FALLBACK_LABEL)
        service = self.service_code or gettext("(any service)")
        return f"{self.code} / {service}"

    def normalize_keys(self) -> None:
        super().normalize_keys()
        self.service_code = (self.service_code or "").strip()
        self.service_label = (self.service_label or "").strip()
        self.service_key = normalize_code(self.service_code)

    def target_company_id(self) -> int | None:
        return self.target.carrier.company_id

    def describe_code(self) -> str:
        service = self.service_code or gettext("any service")
        return f"“{self.code} / {service}”"

    @property
    def rule(self) -> str:
        if self.is_fallback:
            return str(FALLBACK_LABEL)
        return gettext("exact code") if self.service_key else gettext("any service of this carrier")


class PaymentMethodMapping(ChannelMapping):
    kind = MappingKind.PAYMENT_METHOD
    target_select_related = ("target",)

    target = models.ForeignKey(
        PaymentMethod,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        verbose_name=_("ERP payment method"),
    )

    class Meta:
        verbose_name = _("payment method de-para")
        verbose_name_plural = _("payment method de-para")
        ordering = ["channel_id", "is_fallback", "code_key"]
        constraints = _mapping_constraints("payment_mapping", ["code_key"])

    def target_company_id(self) -> int | None:
        return self.target.company_id


class OrderStatusMapping(ChannelMapping):
    kind = MappingKind.ORDER_STATUS

    target = models.CharField(_("ERP order status"), max_length=20, choices=OrderStatus.choices)

    class Meta:
        verbose_name = _("order status de-para")
        verbose_name_plural = _("order status de-para")
        ordering = ["channel_id", "is_fallback", "code_key"]
        constraints = _mapping_constraints("status_mapping", ["code_key"])

    def has_target(self) -> bool:
        return bool(self.target)

    def target_display(self) -> str:
        return self.get_target_display() if self.target else ""


class StockLocationMapping(ChannelMapping):
    kind = MappingKind.STOCK_LOCATION
    target_select_related = ("target",)

    target = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        verbose_name=_("ERP warehouse"),
    )

    class Meta:
        verbose_name = _("stock location de-para")
        verbose_name_plural = _("stock location de-para")
        ordering = ["channel_id", "is_fallback", "code_key"]
        constraints = _mapping_constraints("location_mapping", ["code_key"])

    def target_company_id(self) -> int | None:
        return self.target.company_id


# --- catalog de-para: ERP value → channel value --------------------------------------------


def _catalog_constraints(model_name: str) -> list:
    return [
        models.UniqueConstraint(
            fields=["channel", "target"],
            name=f"{model_name}_one_row_per_erp_value",
            violation_error_message="This channel already maps this ERP value.",
        ),
        models.CheckConstraint(
            condition=Q(is_fallback=False) & ~Q(code_key=""),
            name=f"{model_name}_has_a_code",
            violation_error_message="Every row names the channel's code.",
        ),
    ]


class CatalogMapping(ChannelMapping):
    """A catalog de-para row: an ERP value (category, brand, attribute/value) and the
    channel's value it is published as. Several ERP values may share one channel value
    ("Regatas" and "Camisetas" → the channel's T-shirts), so the row is unique per ERP value,
    not per channel code; every row names a code, and there is no fallback row."""

    target_select_related: ClassVar[tuple[str, ...]] = ("target",)

    class Meta:
        abstract = True

    def target_company_id(self) -> int | None:
        return self.target.company_id

    def target_clash_filter(self) -> dict:
        return {"target_id": self.target_id}

    def describe_target(self) -> str:
        return f"“{self.target_display()}”"

    def clean(self) -> None:
        self.normalize_keys()
        errors: dict[str, str] = {}
        if self.is_fallback:
            errors["is_fallback"] = gettext(
                "The catalog de-para has no “anything else” row: map each ERP value."
            )
        if not self.code_key:
            errors["code"] = gettext("Type the channel's code for this ERP value.")
        channel = self.channel if self.channel_id is not None else None
        company_id = self.target_company_id() if self.has_target() else None
        if channel is not None and company_id is not None and company_id != channel.company_id:
            errors["target"] = gettext(
                "This ERP value belongs to another company; pick one of %(company)s's."
            ) % {"company": channel.company}
        if not errors and channel is not None and self.has_target():
            clash = type(self)._default_manager.filter(
                channel_id=self.channel_id, **self.target_clash_filter()
            )
            if self.pk is not None:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                errors["target"] = gettext(
                    "This channel already maps %(value)s; edit that row instead."
                ) % {"value": self.describe_target()}
        if errors:
            raise ValidationError(errors)

    @property
    def rule(self) -> str:
        return gettext("published as this code")


class CategoryMapping(CatalogMapping):
    """ERP category → the channel's category (its id and name)."""

    kind = MappingKind.CATEGORY

    code = models.CharField(
        _("channel category code"),
        max_length=120,
        help_text=_("The channel's category id, e.g. MLB1234 or 52."),
    )
    label = models.CharField(_("channel category name"), max_length=200, blank=True)
    target = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        verbose_name=_("ERP category"),
    )

    class Meta:
        verbose_name = _("category de-para")
        verbose_name_plural = _("category de-para")
        ordering = ["channel_id", "code_key"]
        constraints = _catalog_constraints("category_mapping")


class BrandMapping(CatalogMapping):
    """ERP brand → the channel's brand (its id and name)."""

    kind = MappingKind.BRAND

    code = models.CharField(
        _("channel brand code"), max_length=120, help_text=_("The channel's brand id or name.")
    )
    label = models.CharField(_("channel brand name"), max_length=200, blank=True)
    target = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        verbose_name=_("ERP brand"),
    )

    class Meta:
        verbose_name = _("brand de-para")
        verbose_name_plural = _("brand de-para")
        ordering = ["channel_id", "code_key"]
        constraints = _catalog_constraints("brand_mapping")


class AttributeMapping(CatalogMapping):
    """ERP attribute (Cor) → the channel's attribute (COLOR), or ERP attribute value
    (Cor = Azul) → the channel's value of that attribute (COLOR / 52049). A value row names
    both levels, as vendors.types.ReferenceValue does (`parent_code` = the attribute)."""

    kind = MappingKind.ATTRIBUTE
    key_fields = ("code_key", "value_key")
    target_select_related = ("target", "target_value__attribute")

    code = models.CharField(
        _("channel attribute code"),
        max_length=120,
        help_text=_("The channel's attribute id, e.g. COLOR."),
    )
    label = models.CharField(_("channel attribute name"), max_length=200, blank=True)
    value_code = models.CharField(
        _("channel value code"),
        max_length=120,
        blank=True,
        help_text=_("The channel's value id, e.g. 52049. Blank on the attribute's own row."),
    )
    value_key = models.CharField(max_length=200, editable=False, blank=True)
    value_label = models.CharField(_("channel value name"), max_length=200, blank=True)
    target = models.ForeignKey(
        Attribute,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        verbose_name=_("ERP attribute"),
    )
    target_value = models.ForeignKey(
        AttributeValue,
        on_delete=models.PROTECT,
        related_name="channel_mappings",
        null=True,
        blank=True,
        verbose_name=_("ERP value"),
        help_text=_("Blank on the attribute's own row."),
    )

    class Meta:
        verbose_name = _("attribute and value de-para")
        verbose_name_plural = _("attribute and value de-para")
        ordering = ["channel_id", "code_key", "value_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "target"],
                condition=Q(target_value__isnull=True),
                name="attribute_mapping_one_row_per_erp_attribute",
                violation_error_message="This channel already maps this ERP attribute.",
            ),
            models.UniqueConstraint(
                fields=["channel", "target_value"],
                name="attribute_mapping_one_row_per_erp_value",
                violation_error_message="This channel already maps this ERP value.",
            ),
            models.CheckConstraint(
                condition=Q(is_fallback=False) & ~Q(code_key=""),
                name="attribute_mapping_has_a_code",
                violation_error_message="Every row names the channel's attribute code.",
            ),
            models.CheckConstraint(
                condition=(Q(value_key="") & Q(target_value__isnull=True))
                | (~Q(value_key="") & Q(target_value__isnull=False)),
                name="attribute_mapping_value_rows_name_both_values",
                violation_error_message="A value row names the channel's and the ERP's value.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} / {self.value_code}" if self.value_code else self.code

    def normalize_keys(self) -> None:
        super().normalize_keys()
        self.value_code = (self.value_code or "").strip()
        self.value_label = (self.value_label or "").strip()
        self.value_key = normalize_code(self.value_code)

    def target_clash_filter(self) -> dict:
        if self.target_value_id is not None:
            return {"target_value_id": self.target_value_id}
        return {"target_id": self.target_id, "target_value__isnull": True}

    def target_display(self) -> str:
        if getattr(self, "target_value_id", None) is not None:
            return str(self.target_value)
        return super().target_display()

    def describe_code(self) -> str:
        return f"“{self}”"

    def clean(self) -> None:
        self.normalize_keys()
        errors: dict[str, str] = {}
        if self.value_key and self.target_value_id is None:
            errors["target_value"] = gettext(
                "Pick the ERP value that the channel's value %(value)s stands for."
            ) % {"value": f"“{self.value_code}”"}
        elif not self.value_key and self.target_value_id is not None:
            errors["value_code"] = gettext(
                "Type the channel's code of this value, or leave the ERP value blank to map "
                "the attribute itself."
            )
        elif (
            self.target_value_id is not None
            and self.target_id is not None
            and self.target_value.attribute_id != self.target_id
        ):
            errors["target_value"] = gettext(
                "%(value)s is not a value of the ERP attribute %(attribute)s."
            ) % {"value": self.target_value, "attribute": self.target}
        if errors:
            raise ValidationError(errors)
        super().clean()

    @property
    def rule(self) -> str:
        return gettext("value") if self.value_key else gettext("attribute")


MAPPING_MODELS: dict[str, type[ChannelMapping]] = {
    MappingKind.CARRIER_SERVICE: CarrierServiceMapping,
    MappingKind.PAYMENT_METHOD: PaymentMethodMapping,
    MappingKind.ORDER_STATUS: OrderStatusMapping,
    MappingKind.STOCK_LOCATION: StockLocationMapping,
    MappingKind.CATEGORY: CategoryMapping,
    MappingKind.BRAND: BrandMapping,
    MappingKind.ATTRIBUTE: AttributeMapping,
}


def mapping_model_for(kind: str) -> type[ChannelMapping]:
    try:
        return MAPPING_MODELS[kind]
    except KeyError:
        raise ValueError(f"Unknown de-para kind {kind!r}.") from None


class UnmappedValue(models.Model):
    """A value seen in channel data with no de-para row and no fallback.

    One row per channel + kind + normalized code (for carrier + service: carrier and
    service). For carrier + service, `parent_code` is the carrier and `code` the service,
    as in `vendors.types.ReferenceValue`.
    """

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="unmapped_values",
        verbose_name=_("sales channel"),
    )
    kind = models.CharField(_("de-para"), max_length=20, choices=MappingKind.choices)
    code = models.CharField(
        _("channel code"),
        max_length=120,
        blank=True,
        help_text=_("As first seen (the service, for carriers)."),
    )
    code_key = models.CharField(max_length=200, editable=False, blank=True)
    label = models.CharField(_("channel label"), max_length=200, blank=True)
    parent_code = models.CharField(
        _("channel carrier code"),
        max_length=120,
        blank=True,
        help_text=_("Carrier of a service."),
    )
    parent_key = models.CharField(max_length=200, editable=False, blank=True)
    parent_label = models.CharField(_("channel carrier label"), max_length=200, blank=True)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    count = models.PositiveIntegerField(
        _("times seen"),
        default=0,
        help_text=_("How many times channel data carried this value."),
    )
    resolved_at = models.DateTimeField(
        _("resolved at"),
        null=True,
        blank=True,
        help_text=_("When a de-para row (or fallback) started covering it."),
    )

    class Meta:
        verbose_name = _("unmapped value")
        verbose_name_plural = _("unmapped values")
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "parent_key", "code_key"],
                name="unmapped_value_once_per_channel",
            )
        ]
        indexes = [models.Index(fields=["channel", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.display_code}"

    @property
    def display_code(self) -> str:
        if self.kind == MappingKind.CARRIER_SERVICE:
            service = self.code or gettext("(no service)")
            return f"{self.parent_code} / {service}"
        if self.kind == MappingKind.ATTRIBUTE:
            return f"{self.parent_code} / {self.code}" if self.code else self.parent_code
        return self.code or gettext("(blank)")


class MappingImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    IMPORTED = "imported", _("Imported")
    REFUSED = "refused", _("Refused: nothing imported")
    FAILED = "failed", _("Failed: nothing imported")


class MappingImport(models.Model):
    """A de-para file too large to import inside the web request, imported by a worker.

    Holds the uploaded file (de-para codes and ERP names: no credentials), who sent it and
    when, then the outcome: rows created and updated, or the rows refused with their errors
    (a file with any bad row imports nothing, as in the admin's own import)."""

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="mapping_imports",
        verbose_name=_("sales channel"),
        help_text=_("The rows are written to this channel only."),
    )
    kind = models.CharField(_("de-para"), max_length=20, choices=MappingKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    file_format = models.CharField(
        _("format"), max_length=20, help_text=_("The format chosen on the import page.")
    )
    content = models.BinaryField(_("file content"), editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=MappingImportStatus.choices,
        default=MappingImportStatus.QUEUED,
    )
    rows_total = models.PositiveIntegerField(
        _("rows"), default=0, help_text=_("Data rows in the file (the header not counted).")
    )
    created_count = models.PositiveIntegerField(_("rows created"), default=0)
    updated_count = models.PositiveIntegerField(_("rows updated"), default=0)
    refused_count = models.PositiveIntegerField(
        _("rows refused"), default=0, help_text=_("Rows with an error; any one imports nothing.")
    )
    message = models.TextField(_("result"), blank=True)
    errors = models.JSONField(
        _("errors"),
        default=list,
        blank=True,
        help_text=_("Each refused row: its line in the file and why."),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        _("attempts"),
        default=0,
        help_text=_("Times a worker started it (more than one: a worker stopped midway)."),
    )

    class Meta:
        verbose_name = _("de-para import")
        verbose_name_plural = _("de-para imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MappingImportStatus.values),
                name="mapping_import_status_known",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MappingKind.values), name="mapping_import_kind_known"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ← {self.file_name or '?'} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status not in (MappingImportStatus.QUEUED, MappingImportStatus.RUNNING)


EXTERNAL_KEY_SEPARATOR = "\x1f"  # ASCII unit separator: never part of a vendor id


def listing_external_key(item_id: str, variation_id: str, sku_id: str) -> str:
    return EXTERNAL_KEY_SEPARATOR.join(part.strip() for part in (item_id, variation_id, sku_id))


class Listing(models.Model):
    """Product binding: an ERP SKU ↔ where it lives on one channel.

    Unique both ways: a SKU has one listing per channel, and a vendor identity (item,
    variation, SKU id) belongs to one SKU. Which id parts are used depends on the vendor
    (ML: item + variation; VTEX: SKU id; ANYMARKET: product + SKU id).
    """

    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.CASCADE,
        related_name="listings",
        verbose_name=_("sales channel"),
    )
    sku = models.ForeignKey(
        Sku, on_delete=models.PROTECT, related_name="listings", verbose_name=_("ERP SKU")
    )
    external_item_id = models.CharField(
        _("channel item id"),
        max_length=80,
        blank=True,
        help_text=_("ML item (MLB…), product id."),
    )
    external_variation_id = models.CharField(
        _("channel variation id"), max_length=80, blank=True, help_text=_("ML variation id.")
    )
    external_sku_id = models.CharField(
        _("channel SKU id"), max_length=80, blank=True, help_text=_("VTEX / ANYMARKET SKU id.")
    )
    external_key = models.CharField(max_length=260, editable=False)
    seller_sku = models.CharField(
        _("seller SKU"),
        max_length=80,
        blank=True,
        help_text=_("The ERP code as the channel stores it (SELLER_SKU / RefId / partnerId)."),
    )
    last_pushed_stock = models.IntegerField(_("last stock sent"), null=True, blank=True)
    last_pushed_stock_at = models.DateTimeField(_("stock sent at"), null=True, blank=True)
    last_pushed_price = models.DecimalField(
        _("last price sent"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    last_pushed_price_at = models.DateTimeField(_("price sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product binding (listing)")
        verbose_name_plural = _("product bindings (listings)")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "sku"],
                name="listing_one_per_sku_and_channel",
                violation_error_message=_("This SKU is already bound on this channel."),
            ),
            models.UniqueConstraint(
                fields=["channel", "external_key"],
                name="listing_external_identity_unique",
                violation_error_message=_("These channel ids are already bound to another SKU."),
            ),
            models.CheckConstraint(
                condition=~Q(external_item_id="", external_variation_id="", external_sku_id=""),
                name="listing_has_an_external_id",
                violation_error_message=_("Give at least one channel id (item, variation or SKU)."),
            ),
        ]
        indexes = [
            # Changelist searches ("=" lookups) and order-line matching by a single id.
            models.Index(fields=["external_item_id"], name="listing_item_id_idx"),
            models.Index(fields=["external_sku_id"], name="listing_sku_id_idx"),
            models.Index(fields=["channel", "seller_sku"], name="listing_seller_sku_idx"),
            # Order-line matching within one channel (sync.services.orders).
            models.Index(fields=["channel", "external_item_id"], name="listing_channel_item_idx"),
            models.Index(fields=["channel", "external_sku_id"], name="listing_channel_sku_idx"),
        ]

    def __str__(self) -> str:
        parts = (self.external_item_id, self.external_variation_id, self.external_sku_id)
        return " / ".join(p for p in parts if p) or f"Listing #{self.pk}"

    def save(self, *args, **kwargs):
        self.normalize_keys()
        super().save(*args, **kwargs)

    @property
    def external_ref(self) -> ExternalRef:
        """Where the SKU lives on the channel, as the vendor adapters take it."""
        return ExternalRef(
            item_id=self.external_item_id or "",
            variation_id=self.external_variation_id or "",
            sku_id=self.external_sku_id or "",
            seller_sku=self.seller_sku or "",
        )

    def validate_constraints(self, exclude=None):
        # clean() checks the external identity with a clearer message.
        super().validate_constraints(exclude={*(exclude or ()), "external_key"})

    def normalize_keys(self) -> None:
        self.external_item_id = (self.external_item_id or "").strip()
        self.external_variation_id = (self.external_variation_id or "").strip()
        self.external_sku_id = (self.external_sku_id or "").strip()
        self.seller_sku = (self.seller_sku or "").strip()
        self.external_key = listing_external_key(
            self.external_item_id, self.external_variation_id, self.external_sku_id
        )

    def clean(self) -> None:
        super().clean()
        self.normalize_keys()
        errors = {}
        if self.channel_id is not None and self.sku_id is not None:
            if self.sku.company_id != self.channel.company_id:
                errors["sku"] = gettext("This SKU belongs to another company than the channel's.")
        # external_key is not a form field, so Django's constraint check skips it there.
        if self.channel_id is not None and self.external_key.strip(EXTERNAL_KEY_SEPARATOR):
            clash = Listing.objects.filter(
                channel_id=self.channel_id, external_key=self.external_key
            )
            if self.pk is not None:
                clash = clash.exclude(pk=self.pk)
            if clash.exists():
                errors["external_item_id"] = gettext(
                    "These channel ids are already bound to another SKU on this channel."
                )
        if errors:
            raise ValidationError(errors)
