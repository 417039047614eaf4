"""The ERP's own records: our side of every de-para.

This app imports none of the integration apps. Changes that matter to sync (stock, price,
catalog) are made through `erp.services`, which announce the changed SKU ids.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from erp.validators import (
    format_cnpj,
    image_kind,
    normalize_ncm,
    normalize_sku_code,
    only_digits,
    read_head,
    validate_cnpj,
    validate_gtin,
    validate_image_file,
    validate_image_url,
    validate_ncm,
    validate_nfe_access_key,
)


class Company(models.Model):
    legal_name = models.CharField(_("legal name (razão social)"), max_length=200)
    trade_name = models.CharField(_("trade name (nome fantasia)"), max_length=200, blank=True)
    cnpj = models.CharField(
        _("CNPJ"),
        max_length=18,  # accepts the formatted input; digits only are stored
        unique=True,
        validators=[validate_cnpj],
        help_text=_("14 digits; dots, slash and dash are accepted and removed."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="CompanyMembership",
        related_name="companies",
        blank=True,
        verbose_name=_("members"),
        help_text=_("Users who see and edit this company's data in the admin."),
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
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

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("company")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="company_memberships",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("company member")
        verbose_name_plural = _("company members")
        ordering = ["company", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "user"],
                name="company_membership_once",
                violation_error_message=_("This user is already a member of this company."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"


class Warehouse(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="warehouses", verbose_name=_("company")
    )
    code = models.CharField(
        _("code"), max_length=40, help_text=_("Short code used by the ERP, e.g. CD-SP.")
    )
    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["company", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="warehouse_code_per_company")
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Brand(models.Model):
    """A brand of the company's products (the target of the brand de-para)."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="brands", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"],
                name="brand_name_per_company",
                violation_error_message=_("This company already has a brand with this name."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A node of the company's category tree ("Roupas › Camisetas"); the target of the
    category de-para."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="categories", verbose_name=_("company")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
        verbose_name=_("parent category"),
        help_text=_("Empty for a top-level category."),
    )
    name = models.CharField(_("name"), max_length=120)
    # The names from the root, joined by " › ": what the admin and the de-para show, kept
    # on the row so a list of categories costs no query per row.
    path = models.CharField(_("full name"), max_length=600, editable=False, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "parent", "name"],
                name="category_name_per_parent",
                violation_error_message=_(
                    "This parent category already has a subcategory with this name."
                ),
            ),
            models.UniqueConstraint(
                fields=["company", "name"],
                condition=Q(parent__isnull=True),
                name="category_top_level_name_per_company",
                violation_error_message=_(
                    "This company already has a top-level category with this name."
                ),
            ),
        ]

    PATH_SEPARATOR = " › "
    MAX_DEPTH = 10

    def __str__(self) -> str:
        return self.path or self.name

    def save(self, *args, **kwargs):
        names = [node.name for node in self.ancestors()] + [self.name]
        self.path = self.PATH_SEPARATOR.join(names)[:600]
        super().save(*args, **kwargs)
        # A renamed or moved node renames its subtree (rare: a back-office edit).
        for child in self.children.all():
            child.save()

    def ancestors(self) -> list["Category"]:
        """From the root down to the parent (a query per level; trees are shallow)."""
        chain, node, seen = [], self.parent, set()
        while node is not None:
            if node.pk in seen or (self.pk is not None and node.pk == self.pk):
                raise ValidationError(
                    {
                        "parent": ValidationError(
                            _("A category cannot be placed under itself or its subcategories."),
                            code="category_cycle",
                        )
                    }
                )
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    def clean(self):
        super().clean()
        self.name = " ".join(str(self.name).split())
        if self.parent_id is None:
            return
        if self.company_id and self.parent.company_id != self.company_id:
            raise ValidationError(
                {
                    "parent": ValidationError(
                        _("The parent category belongs to another company."),
                        code="other_company",
                    )
                }
            )
        if len(self.ancestors()) >= self.MAX_DEPTH:
            raise ValidationError(
                {
                    "parent": ValidationError(
                        _("Categories go at most %(depth)s levels deep."),
                        code="category_depth",
                        params={"depth": self.MAX_DEPTH},
                    )
                }
            )


class ProductOrigin(models.TextChoices):
    """The NF-e's "origem da mercadoria" (ICMS tag `orig`): Tabela A of the Convênio SINIEF
    s/nº de 1970 as amended (Ajustes SINIEF 20/2012 and 15/2013). Descriptions as the
    official table words them, checked against the code lists ERPs publish
    (fhonline.freshdesk.com article 47001260027 "Origem da Mercadoria"; Oracle JD Edwards
    "Item Origin (76/IO)", docs.oracle.com …/eoabz/item-origin-76-io.html)."""

    NATIONAL = "0", _("0 - Nacional, exceto as indicadas nos códigos 3, 4, 5 e 8")
    FOREIGN_DIRECT_IMPORT = (
        "1",
        _("1 - Estrangeira - Importação direta, exceto a indicada no código 6"),
    )
    FOREIGN_DOMESTIC_MARKET = (
        "2",
        _("2 - Estrangeira - Adquirida no mercado interno, exceto a indicada no código 7"),
    )
    NATIONAL_IMPORT_40_70 = (
        "3",
        _(
            "3 - Nacional, mercadoria ou bem com Conteúdo de Importação superior a 40% e "
            "inferior ou igual a 70%"
        ),
    )
    NATIONAL_PPB = (
        "4",
        _(
            "4 - Nacional, cuja produção tenha sido feita em conformidade com os processos "
            "produtivos básicos de que tratam as legislações citadas nos Ajustes"
        ),
    )
    NATIONAL_IMPORT_UP_TO_40 = (
        "5",
        _("5 - Nacional, mercadoria ou bem com Conteúdo de Importação inferior ou igual a 40%"),
    )
    FOREIGN_DIRECT_IMPORT_NO_SIMILAR = (
        "6",
        _(
            "6 - Estrangeira - Importação direta, sem similar nacional, constante em lista da "
            "CAMEX e gás natural"
        ),
    )
    FOREIGN_DOMESTIC_NO_SIMILAR = (
        "7",
        _(
            "7 - Estrangeira - Adquirida no mercado interno, sem similar nacional, constante em "
            "lista da CAMEX e gás natural"
        ),
    )
    NATIONAL_IMPORT_OVER_70 = (
        "8",
        _("8 - Nacional, mercadoria ou bem com Conteúdo de Importação superior a 70%"),
    )


class Product(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="products", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        related_name="products",
        null=True,
        blank=True,
        verbose_name=_("brand"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="products",
        null=True,
        blank=True,
        verbose_name=_("category"),
    )
    ncm = models.CharField(
        _("NCM"),
        max_length=10,  # accepts "6109.10.00"; the 8 digits are stored
        blank=True,
        validators=[validate_ncm],
        help_text=_("Mercosul tax classification: 8 digits, e.g. 6109.10.00."),
    )
    origin = models.CharField(
        _("origin"),
        max_length=1,
        choices=ProductOrigin.choices,
        blank=True,
        help_text=_("The NF-e's origem da mercadoria (ICMS)."),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ncm="") | Q(ncm__regex=r"^[0-9]{8}$"),
                name="product_ncm_eight_digits",
                violation_error_message=_("An NCM has 8 digits."),
            ),
            models.CheckConstraint(
                condition=Q(origin="") | Q(origin__in=[c for c, _label in ProductOrigin.choices]),
                name="product_origin_known",
                violation_error_message=_("Unknown origin code."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if self.ncm and normalize_ncm(self.ncm).isdigit():
            self.ncm = normalize_ncm(self.ncm)
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None):
        if self.ncm:
            text = normalize_ncm(self.ncm)
            # Normalized only when it becomes valid: a bad value is reported as typed.
            if text.isdigit():
                self.ncm = text
        super().clean_fields(exclude=exclude)

    def clean(self):
        super().clean()
        errors = {}
        messages = {
            "brand": _("This brand belongs to another company."),
            "category": _("This category belongs to another company."),
        }
        for field, message in messages.items():
            related = getattr(self, field) if getattr(self, f"{field}_id") else None
            if related is not None and self.company_id and related.company_id != self.company_id:
                errors[field] = ValidationError(message, code="other_company")
        if errors:
            raise ValidationError(errors)


PACKAGE_DIMENSION = {
    "max_digits": 7,
    "decimal_places": 2,
    "null": True,
    "blank": True,
    "validators": [MinValueValidator(Decimal("0.01"))],
}


class Sku(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="skus", verbose_name=_("company")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="skus", verbose_name=_("product")
    )
    code = models.CharField(
        _("SKU code"),
        max_length=60,
        help_text=_('Unique per company, ignoring case and spaces ("ab 12" is "AB12").'),
    )
    code_key = models.CharField(
        _("code key"),
        max_length=60,
        editable=False,
        help_text=_("Normalized code (upper case, no spaces) that the uniqueness rule uses."),
    )
    name = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("Variation name, e.g. Blue / M.")
    )
    ean = models.CharField(
        _("EAN/GTIN"), max_length=14, blank=True, validators=[validate_gtin], db_index=True
    )
    weight_grams = models.PositiveIntegerField(
        _("package weight (g)"),
        null=True,
        blank=True,
        help_text=_("Weight of the packed item in grams, as carriers quote it."),
    )
    height_cm = models.DecimalField(
        _("package height (cm)"), **PACKAGE_DIMENSION, help_text=_("Packed item, in cm.")
    )
    width_cm = models.DecimalField(
        _("package width (cm)"), **PACKAGE_DIMENSION, help_text=_("Packed item, in cm.")
    )
    length_cm = models.DecimalField(
        _("package length (cm)"), **PACKAGE_DIMENSION, help_text=_("Packed item, in cm.")
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code_key"],
                name="sku_code_unique_per_company",
                violation_error_message=_(
                    "Another SKU of this company already has this code "
                    "(codes are compared ignoring case and spaces)."
                ),
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gt": 0}),
                    name=f"sku_{name}_positive",
                    violation_error_message=_("Package dimensions must be greater than zero."),
                )
                for name in ("height_cm", "width_cm", "length_cm")
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code_key = normalize_sku_code(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.product_id and self.company_id and self.product.company_id != self.company_id:
            raise ValidationError(
                {
                    "product": ValidationError(
                        _("The product belongs to another company."), code="other_company"
                    )
                }
            )
        self.code = " ".join(str(self.code).split())
        self.code_key = normalize_sku_code(self.code)


PRODUCT_IMAGE_DIR = "products"  # under MEDIA_ROOT; the only folder erp.views serves


def product_image_path(image: "ProductImage", filename: str) -> str:
    """products/<company>/<random>.<type>: the name is unguessable (the files are served
    publicly, by this name only) and the extension is the type read from the content, never
    the uploaded name."""
    kind = image_kind(read_head(image.file)) or "bin"
    return f"{PRODUCT_IMAGE_DIR}/{image.product.company_id}/{secrets.token_urlsafe(24)}.{kind}"


class ProductImage(models.Model):
    """An image of a product in display order, optionally of one SKU (a colour's photos):
    an address (`url`) or a file uploaded here (`file`), exactly one of them. Channels
    download the file from `public_url()`."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product")
    )
    sku = models.ForeignKey(
        Sku,
        on_delete=models.CASCADE,
        related_name="images",
        null=True,
        blank=True,
        verbose_name=_("SKU"),
        help_text=_("Empty: an image of the product, shown for every SKU."),
    )
    url = models.CharField(
        _("image URL"), max_length=500, blank=True, validators=[validate_image_url]
    )
    file = models.FileField(
        _("image file"),
        upload_to=product_image_path,
        max_length=200,
        blank=True,
        db_index=True,  # the public view finds the row by the file's name
        validators=[validate_image_file],
        help_text=_("JPEG, PNG, WebP or GIF. Give a file or a URL, not both."),
    )
    position = models.PositiveIntegerField(
        _("position"), default=0, help_text=_("Display order: the lowest is the main image.")
    )

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "sku", "url"],
                condition=~Q(url=""),
                name="product_image_once",
                nulls_distinct=False,
                violation_error_message=_("This image is already listed."),
            ),
            models.CheckConstraint(
                condition=(Q(url="") & ~Q(file="")) | (~Q(url="") & Q(file="")),
                name="product_image_url_or_file",
                violation_error_message=_("Give an image URL or an image file, one of them."),
            ),
        ]

    def __str__(self) -> str:
        return self.url or self.file.name

    def path(self) -> str:
        """Where this server serves the uploaded file ("" for an image by URL)."""
        if not self.file:
            return ""
        company_id, name = self.file.name.split("/")[-2:]
        return reverse("product_image_file", args=[int(company_id), name])

    def public_url(self) -> str:
        """The address a channel downloads the image from: the URL given, or the uploaded
        file's absolute address under settings.ERPINTEGR_PUBLIC_URL. "" when the file has
        no public address (ERPINTEGR_PUBLIC_URL unset): never a relative URL."""
        if self.url:
            return self.url
        if not self.file or not settings.ERPINTEGR_PUBLIC_URL:
            return ""
        return settings.ERPINTEGR_PUBLIC_URL + self.path()

    def validate_constraints(self, exclude=None):
        if bool(self.url) == bool(self.file):
            # clean() says so already: the check constraint would repeat the message.
            exclude = {*(exclude or ()), "file"}
        super().validate_constraints(exclude=exclude)

    def clean(self):
        super().clean()
        if bool(self.url) == bool(self.file):
            raise ValidationError(
                _("Give an image URL or an image file, one of them."), code="url_or_file"
            )
        if self.sku_id and self.product_id and self.sku.product_id != self.product_id:
            raise ValidationError(
                {
                    "sku": ValidationError(
                        _("SKU %(sku)s is not a SKU of this product."),
                        code="other_product",
                        params={"sku": self.sku.code},
                    )
                }
            )


class Attribute(models.Model):
    """A variation attribute of the company's SKUs (Cor, Tamanho), with its values."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="attributes", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=120, help_text=_("e.g. Cor, Tamanho."))

    class Meta:
        verbose_name = _("variation attribute")
        verbose_name_plural = _("variation attributes")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"],
                name="attribute_name_per_company",
                violation_error_message=_("This company already has an attribute with this name."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class AttributeValue(models.Model):
    attribute = models.ForeignKey(
        Attribute, on_delete=models.CASCADE, related_name="values", verbose_name=_("attribute")
    )
    value = models.CharField(_("value"), max_length=120, help_text=_("e.g. Azul, M."))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("attribute value")
        verbose_name_plural = _("attribute values")
        ordering = ["attribute__name", "position", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["attribute", "value"],
                name="attribute_value_once",
                violation_error_message=_("This attribute already has this value."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.attribute.name} = {self.value}"


class SkuAttributeValue(models.Model):
    """What a SKU is within its product (Cor = Azul): one value per attribute per SKU."""

    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="attribute_values", verbose_name=_("SKU")
    )
    # The value's attribute, kept on the row so the database holds one value per attribute.
    attribute = models.ForeignKey(
        Attribute, on_delete=models.PROTECT, related_name="+", verbose_name=_("attribute")
    )
    value = models.ForeignKey(
        AttributeValue,
        on_delete=models.PROTECT,
        related_name="sku_values",
        verbose_name=_("attribute value"),
    )

    class Meta:
        verbose_name = _("SKU attribute")
        verbose_name_plural = _("SKU attributes")
        ordering = ["sku", "attribute__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "attribute"],
                name="sku_one_value_per_attribute",
                violation_error_message=_("This SKU already has a value for this attribute."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.value}"


class ProductAttributeValue(models.Model):
    """What the product is as a whole, the same for every SKU of it (Marca = Acme, Modelo =
    Básica, Gênero = Masculino): the item-level attributes a channel's category requires
    (Mercado Livre's MODEL, GENDER), as opposed to a SKU's variation attributes."""

    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="attribute_values",
        verbose_name=_("product"),
    )
    # The value's attribute, kept on the row so the database holds one value per attribute.
    attribute = models.ForeignKey(
        Attribute, on_delete=models.PROTECT, related_name="+", verbose_name=_("attribute")
    )
    value = models.ForeignKey(
        AttributeValue,
        on_delete=models.PROTECT,
        related_name="product_values",
        verbose_name=_("attribute value"),
    )

    class Meta:
        verbose_name = _("product attribute")
        verbose_name_plural = _("product attributes")
        ordering = ["product", "attribute__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "attribute"],
                name="product_one_value_per_attribute",
                violation_error_message=_("This product already has a value for this attribute."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.value}"


class StockBalance(models.Model):
    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="stock_balances", verbose_name=_("SKU")
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="balances", verbose_name=_("warehouse")
    )
    on_hand = models.IntegerField(
        _("on hand"), default=0, help_text=_("Physical units in the warehouse.")
    )
    reserved = models.IntegerField(
        _("reserved"), default=0, help_text=_("Units promised to open orders.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        ordering = ["sku", "warehouse"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "warehouse"], name="stock_balance_per_warehouse"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0),
                name="stock_on_hand_not_negative",
                violation_error_message=_("Stock on hand can never be negative."),
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0),
                name="stock_reserved_not_negative",
                violation_error_message=_("Reserved stock can never be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class PriceList(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="price_lists", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, default="BRL")

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["company", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="price_list_name_per_company")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class Price(models.Model):
    price_list = models.ForeignKey(
        PriceList, on_delete=models.CASCADE, related_name="prices", verbose_name=_("price list")
    )
    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="prices", verbose_name=_("SKU")
    )
    amount = models.DecimalField(
        _("sale price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    list_amount = models.DecimalField(
        _('list price ("de")'),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_('Optional crossed-out price shown as "de R$ X por R$ Y".'),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["price_list", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "sku"], name="price_per_list_and_sku"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.amount}"


class Carrier(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="carriers", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=120, help_text=_("e.g. Correios, Jadlog, Loggi."))
    cnpj = models.CharField(_("CNPJ"), max_length=18, blank=True, validators=[validate_cnpj])

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="carrier_name_per_company")
        ]

    def __str__(self) -> str:
        return self.name


class CarrierService(models.Model):
    carrier = models.ForeignKey(
        Carrier, on_delete=models.CASCADE, related_name="services", verbose_name=_("carrier")
    )
    name = models.CharField(_("name"), max_length=120, help_text=_("e.g. PAC, SEDEX, SEDEX 10."))
    code = models.CharField(
        _("code"), max_length=40, blank=True, help_text=_("ERP's own service code.")
    )

    class Meta:
        verbose_name = _("carrier service")
        verbose_name_plural = _("carrier services")
        ordering = ["carrier__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "name"], name="service_name_per_carrier")
        ]

    def __str__(self) -> str:
        return f"{self.carrier.name} / {self.name}"


class PaymentMethod(models.Model):
    class Kind(models.TextChoices):
        PIX = "pix", _("Pix")
        CREDIT_CARD = "credit_card", _("Credit card")
        DEBIT_CARD = "debit_card", _("Debit card")
        BOLETO = "boleto", _("Boleto")
        WALLET = "wallet", _("Digital wallet / account balance")
        OTHER = "other", _("Other")

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="payment_methods", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="payment_name_per_company")
        ]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    """The ERP's order statuses: the target of the order-status de-para."""

    NEW = "new", _("New")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    INVOICED = "invoiced", _("Invoiced")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELED = "canceled", _("Canceled")


class Order(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="orders", verbose_name=_("company")
    )
    # A string reference, not an import: erp does not depend on the channels app in code.
    channel = models.ForeignKey(
        "channels.SalesChannel",
        on_delete=models.PROTECT,
        related_name="orders",
        null=True,
        blank=True,
        verbose_name=_("channel"),
        help_text=_("Sales channel the order came from; empty for orders typed in the ERP."),
    )
    external_id = models.CharField(
        _("channel order id"),
        max_length=80,
        blank=True,
        help_text=_("The order id on the channel."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.NEW
    )
    placed_at = models.DateTimeField(_("placed at"), null=True, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_document = models.CharField(_("customer CPF/CNPJ"), max_length=14, blank=True)
    customer_email = models.EmailField(_("customer email"), blank=True)
    # The delivery address as the channel sent it (vendors.types.Address): what the warehouse
    # prints on the label and the NF-e carries. Empty for orders without delivery.
    delivery_recipient = models.CharField(_("recipient"), max_length=120, blank=True)
    delivery_street = models.CharField(_("street"), max_length=120, blank=True)
    delivery_number = models.CharField(_("number"), max_length=120, blank=True)
    delivery_complement = models.CharField(_("complement"), max_length=120, blank=True)
    delivery_district = models.CharField(_("district"), max_length=120, blank=True)
    delivery_city = models.CharField(_("city"), max_length=120, blank=True)
    delivery_state = models.CharField(
        _("state"), max_length=120, blank=True, help_text=_("UF, e.g. SP.")
    )
    delivery_postal_code = models.CharField(
        _("CEP"), max_length=8, blank=True, help_text=_("Eight digits.")
    )
    delivery_phone = models.CharField(_("phone"), max_length=120, blank=True)
    # What the channel's fulfilment calls need to know of the order, as the import read it
    # (vendors.types.NormalizedOrder.fulfilment_refs; Mercado Livre: shipment id, logistic
    # mode and type, pack id). Revised on a re-read like the delivery address. Empty for
    # orders typed in the ERP, orders of vendors that need none, and orders imported before
    # this field existed (the adapter then reads the order first, as it did before).
    fulfilment_refs = models.JSONField(
        _("fulfilment references"),
        default=dict,
        blank=True,
        help_text=_("The channel's shipment and pack of this order, as imported."),
    )
    channel_canceled_at = models.DateTimeField(
        _("canceled on the channel at"),
        null=True,
        blank=True,
        help_text=_(
            "The channel canceled this order after it was invoiced. Cancel the NF-e, then "
            "cancel the order in the ERP: until then it keeps its status and reserved stock."
        ),
    )
    carrier_service = models.ForeignKey(
        CarrierService,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("carrier service"),
    )
    payment_method = models.ForeignKey(
        PaymentMethod,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("payment method"),
    )
    items_total = models.DecimalField(
        _("items total"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    shipping_total = models.DecimalField(
        _("shipping total"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=Decimal("0"))
    # Cancellation: written only by erp.services.order_cancel.
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    cancel_reason = models.TextField(
        _("cancellation reason"),
        blank=True,
        help_text=_("Why the order was canceled; required when it had been invoiced."),
    )
    nfe_cancel_required = models.BooleanField(
        _("NF-e must be canceled"),
        default=False,
        help_text=_(
            "The order was canceled after it was invoiced: the NF-e must be canceled in the "
            "ERP's fiscal module (or a return NF-e issued)."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(channel__isnull=False),
                name="order_unique_per_channel_external_id",
                violation_error_message=_("This channel already has an order with this id."),
            )
        ]
        indexes = [models.Index(fields=["company", "status"])]

    DELIVERY_FIELDS = (
        "delivery_recipient",
        "delivery_street",
        "delivery_number",
        "delivery_complement",
        "delivery_district",
        "delivery_city",
        "delivery_state",
        "delivery_postal_code",
        "delivery_phone",
    )

    def __str__(self) -> str:
        if self.external_id:
            return self.external_id
        return _("Order #%(number)s") % {"number": self.pk}

    @property
    def delivery_postal_code_display(self) -> str:
        code = self.delivery_postal_code
        return f"{code[:5]}-{code[5:]}" if len(code) == 8 else code


class OrderItem(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order")
    )
    line = models.PositiveIntegerField(_("line"), default=1)
    sku = models.ForeignKey(
        Sku, on_delete=models.PROTECT, related_name="order_items", verbose_name=_("SKU")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    reserved_warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("reserved warehouse"),
        help_text=_("Warehouse whose stock this line reserved."),
    )

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["order", "line"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line"], name="order_item_line_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="order_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


def invoice_xml_path(invoice: "Invoice", filename: str) -> str:
    # The access key names the file: unique, and what a fiscal auditor searches by.
    return f"nfe/{invoice.order.company_id}/{invoice.access_key}.xml"


class Invoice(models.Model):
    """The order's NF-e, as issued by the ERP's fiscal module. Written only by
    erp.services.order_invoice, which checks the access key against the company's CNPJ, the
    series and the number (erp.validators.validate_nfe_access_key_for)."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="invoice", verbose_name=_("order")
    )
    number = models.PositiveIntegerField(
        _("NF-e number"), validators=[MinValueValidator(1)], help_text=_("nNF, up to 9 digits.")
    )
    series = models.PositiveSmallIntegerField(
        _("series"), help_text=_("Série of the NF-e, 0 to 999.")
    )
    access_key = models.CharField(
        _("access key"),
        max_length=44,
        unique=True,
        validators=[validate_nfe_access_key],
        help_text=_("Chave de acesso: the 44 digits printed under the DANFE's barcode."),
    )
    issued_at = models.DateTimeField(_("issue date"))
    total = models.DecimalField(
        _("NF-e total"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("vNF: the total value of the NF-e."),
    )
    xml_file = models.FileField(
        _("NF-e XML"),
        upload_to=invoice_xml_path,
        blank=True,
        help_text=_("The authorized NF-e XML; some channels need it (Mercado Livre)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice (NF-e)")
        verbose_name_plural = _("invoices (NF-e)")
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=999_999_999), name="invoice_number_range"
            ),
            models.CheckConstraint(condition=Q(series__lte=999), name="invoice_series_range"),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
        ]

    def __str__(self) -> str:
        return _("NF-e %(number)s series %(series)s") % {
            "number": self.number,
            "series": self.series,
        }


class Shipment(models.Model):
    """How the order left the warehouse. Written only by erp.services.order_ship and
    order_deliver."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="shipment", verbose_name=_("order")
    )
    carrier_service = models.ForeignKey(
        CarrierService,
        on_delete=models.PROTECT,
        related_name="shipments",
        verbose_name=_("carrier service"),
    )
    tracking_code = models.CharField(_("tracking code"), max_length=80, blank=True)
    tracking_url = models.URLField(_("tracking URL"), max_length=500, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"))
    estimated_delivery = models.DateField(
        _("estimated delivery"),
        null=True,
        blank=True,
        help_text=_("The date the carrier promises; some channels need it (ANYMARKET)."),
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True) | Q(delivered_at__gte=F("shipped_at")),
                name="shipment_delivered_after_shipped",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_code or str(self.carrier_service)
