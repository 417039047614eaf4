"""The ERP's own records: our side of every de-para.

This app imports none of the integration apps. Changes that matter to sync (stock, price,
catalog) are made through `erp.services`, which announce the changed SKU ids.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from erp.validators import (
    format_cnpj,
    normalize_sku_code,
    only_digits,
    validate_cnpj,
    validate_gtin,
)


class Company(models.Model):
    legal_name = models.CharField("legal name (razão social)", max_length=200)
    trade_name = models.CharField("trade name (nome fantasia)", max_length=200, blank=True)
    cnpj = models.CharField(
        "CNPJ",
        max_length=18,  # accepts the formatted input; digits only are stored
        unique=True,
        validators=[validate_cnpj],
        help_text="14 digits; dots, slash and dash are accepted and removed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="CompanyMembership",
        related_name="companies",
        blank=True,
        help_text="Users who see and edit this company's data in the admin.",
    )

    class Meta:
        verbose_name = "company"
        verbose_name_plural = "companies"
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.trade_name or self.legal_name

    def save(self, *args, **kwargs):
        self.cnpj = only_digits(self.cnpj)
        super().save(*args, **kwargs)

    @property
    def cnpj_formatted(self) -> str:
        return format_cnpj(self.cnpj)

    def clean_fields(self, exclude=None):
        self.cnpj = only_digits(self.cnpj) if self.cnpj else self.cnpj
        super().clean_fields(exclude=exclude)


class CompanyMembership(models.Model):
    """A user belongs to a company: the admin shows them that company's data only.

    Superusers and the groups in settings.COMPANY_SCOPE_ALL_GROUPS see every company and need
    no membership (erp.selectors.visible_company_ids)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "company member"
        ordering = ["company", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "user"],
                name="company_membership_once",
                violation_error_message="This user is already a member of this company.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"


class Warehouse(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="warehouses")
    code = models.CharField(max_length=40, help_text="Short code used by the ERP, e.g. CD-SP.")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["company", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="warehouse_code_per_company")
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Product(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=120, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="skus")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(
        "SKU code",
        max_length=60,
        help_text='Unique per company, ignoring case and spaces ("ab 12" is "AB12").',
    )
    code_key = models.CharField(
        max_length=60,
        editable=False,
        help_text="Normalized code (upper case, no spaces) that the uniqueness rule uses.",
    )
    name = models.CharField(max_length=200, blank=True, help_text="Variation name, e.g. Blue / M.")
    ean = models.CharField(
        "EAN/GTIN", max_length=14, blank=True, validators=[validate_gtin], db_index=True
    )
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SKU"
        verbose_name_plural = "SKUs"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code_key"],
                name="sku_code_unique_per_company",
                violation_error_message="Another SKU of this company already has this code "
                "(codes are compared ignoring case and spaces).",
            )
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code_key = normalize_sku_code(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.product_id and self.company_id and self.product.company_id != self.company_id:
            raise ValidationError({"product": "The product belongs to another company."})
        self.code = " ".join(str(self.code).split())
        self.code_key = normalize_sku_code(self.code)


class StockBalance(models.Model):
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="stock_balances")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="balances")
    on_hand = models.IntegerField(default=0, help_text="Physical units in the warehouse.")
    reserved = models.IntegerField(default=0, help_text="Units promised to open orders.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku", "warehouse"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "warehouse"], name="stock_balance_per_warehouse"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0),
                name="stock_on_hand_not_negative",
                violation_error_message="Stock on hand can never be negative.",
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0),
                name="stock_reserved_not_negative",
                violation_error_message="Reserved stock can never be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class PriceList(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="price_lists")
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="BRL")

    class Meta:
        ordering = ["company", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="price_list_name_per_company")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class Price(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="prices")
    amount = models.DecimalField(
        "sale price", max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    list_amount = models.DecimalField(
        'list price ("de")',
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text='Optional crossed-out price shown as "de R$ X por R$ Y".',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price_list", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "sku"], name="price_per_list_and_sku"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.amount}"


class Carrier(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="carriers")
    name = models.CharField(max_length=120, help_text="e.g. Correios, Jadlog, Loggi.")
    cnpj = models.CharField("CNPJ", max_length=18, blank=True, validators=[validate_cnpj])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="carrier_name_per_company")
        ]

    def __str__(self) -> str:
        return self.name


class CarrierService(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=120, help_text="e.g. PAC, SEDEX, SEDEX 10.")
    code = models.CharField(max_length=40, blank=True, help_text="ERP's own service code.")

    class Meta:
        verbose_name = "carrier service"
        ordering = ["carrier__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "name"], name="service_name_per_carrier")
        ]

    def __str__(self) -> str:
        return f"{self.carrier.name} / {self.name}"


class PaymentMethod(models.Model):
    class Kind(models.TextChoices):
        PIX = "pix", "Pix"
        CREDIT_CARD = "credit_card", "Credit card"
        DEBIT_CARD = "debit_card", "Debit card"
        BOLETO = "boleto", "Boleto"
        WALLET = "wallet", "Digital wallet / account balance"
        OTHER = "other", "Other"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="payment_methods")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="payment_name_per_company")
        ]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    """The ERP's order statuses: the target of the order-status de-para."""

    NEW = "new", "New"
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    PAID = "paid", "Paid"
    INVOICED = "invoiced", "Invoiced"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELED = "canceled", "Canceled"


class Order(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="orders")
    # A string reference, not an import: erp does not depend on the channels app in code.
    channel = models.ForeignKey(
        "channels.SalesChannel",
        on_delete=models.PROTECT,
        related_name="orders",
        null=True,
        blank=True,
        help_text="Sales channel the order came from; empty for orders typed in the ERP.",
    )
    external_id = models.CharField(
        "channel order id", max_length=80, blank=True, help_text="The order id on the channel."
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.NEW)
    placed_at = models.DateTimeField(null=True, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_document = models.CharField("customer CPF/CNPJ", max_length=14, blank=True)
    customer_email = models.EmailField(blank=True)
    carrier_service = models.ForeignKey(
        CarrierService, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    items_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    shipping_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(channel__isnull=False),
                name="order_unique_per_channel_external_id",
                violation_error_message="This channel already has an order with this id.",
            )
        ]
        indexes = [models.Index(fields=["company", "status"])]

    def __str__(self) -> str:
        return self.external_id or f"Order #{self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    line = models.PositiveIntegerField(default=1)
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    reserved_warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Warehouse whose stock this line reserved.",
    )

    class Meta:
        ordering = ["order", "line"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line"], name="order_item_line_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="order_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"
