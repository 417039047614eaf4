"""Small explicit builders for test data (no opaque fixtures)."""

from decimal import Decimal
from itertools import count

from channels.models import SalesChannel
from channels.services import channel_ensure_sync_settings, channel_set_credentials
from erp.models import (
    Carrier,
    CarrierService,
    Company,
    CompanyMembership,
    PaymentMethod,
    PriceList,
    Product,
    Sku,
    Warehouse,
)

_seq = count(1)

# Valid CNPJs (check digits correct), used in turn.
VALID_CNPJS = ["11222333000181", "11444777000161", "45723174000110", "60701190000104"]


def make_company(**kwargs) -> Company:
    n = next(_seq)
    defaults = {
        "legal_name": f"Empresa {n} Ltda",
        "cnpj": VALID_CNPJS[n % len(VALID_CNPJS)] if "cnpj" not in kwargs else kwargs["cnpj"],
    }
    defaults.update(kwargs)
    existing = Company.objects.filter(cnpj=defaults["cnpj"]).first()
    if existing and "cnpj" not in kwargs:
        # Pick an unused valid CNPJ.
        for cnpj in VALID_CNPJS:
            if not Company.objects.filter(cnpj=cnpj).exists():
                defaults["cnpj"] = cnpj
                break
        else:
            raise RuntimeError("tests ran out of valid CNPJs; add more to VALID_CNPJS")
    return Company.objects.create(**defaults)


def make_member(user, *companies: Company) -> None:
    """Make `user` a member of `companies`: without it a staff user who is neither a superuser
    nor in a COMPANY_SCOPE_ALL_GROUPS group sees no company's data in the admin."""
    for company in companies:
        CompanyMembership.objects.get_or_create(user=user, company=company)


def make_warehouse(company: Company, code: str = "CD-SP", **kwargs) -> Warehouse:
    return Warehouse.objects.create(
        company=company, code=code, name=kwargs.pop("name", code), **kwargs
    )


def make_sku(company: Company, code: str | None = None, **kwargs) -> Sku:
    product = kwargs.pop("product", None) or Product.objects.create(
        company=company, name=f"Produto {next(_seq)}"
    )
    return Sku.objects.create(
        company=company, product=product, code=code or f"SKU-{next(_seq)}", **kwargs
    )


def make_price_list(company: Company, name: str = "Varejo") -> PriceList:
    return PriceList.objects.create(company=company, name=name)


def make_carrier_service(company: Company, carrier: str = "Correios", service: str = "SEDEX 10"):
    c, _ = Carrier.objects.get_or_create(company=company, name=carrier)
    return CarrierService.objects.get_or_create(carrier=c, name=service)[0]


def make_payment_method(company: Company, name: str = "Pix", kind: str = "pix") -> PaymentMethod:
    return PaymentMethod.objects.get_or_create(company=company, name=name, defaults={"kind": kind})[
        0
    ]


def make_channel(
    company: Company | None = None,
    connector: str = "vtex",
    credentials: dict | None = None,
    **kwargs,
) -> SalesChannel:
    company = company or make_company()
    channel = SalesChannel(
        company=company,
        connector=connector,
        name=kwargs.pop("name", f"Canal {next(_seq)}"),
        **kwargs,
    )
    channel.full_clean()
    channel.save()
    channel_ensure_sync_settings(channel=channel)
    if credentials:
        channel_set_credentials(channel=channel, values=credentials)
    return channel


def price(value: str) -> Decimal:
    return Decimal(value)
