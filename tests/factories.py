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


def make_order(company: Company, channel: SalesChannel | None = None, **kwargs):
    """An order with lines: `lines` is a list of (sku, quantity, unit price, reserved warehouse
    or None). The total is the lines' sum unless given."""
    from erp.models import Order, OrderItem

    lines = kwargs.pop("lines", [])
    items_total = sum((Decimal(price) * qty for _sku, qty, price, _wh in lines), Decimal("0"))
    kwargs.setdefault("total", items_total)
    kwargs.setdefault("items_total", items_total)
    order = Order.objects.create(
        company=company,
        channel=channel,
        external_id=kwargs.pop("external_id", f"ORD-{next(_seq)}" if channel else ""),
        status=kwargs.pop("status", "paid"),
        **kwargs,
    )
    for line, (sku, quantity, unit_price, warehouse) in enumerate(lines, start=1):
        OrderItem.objects.create(
            order=order,
            line=line,
            sku=sku,
            quantity=quantity,
            unit_price=Decimal(unit_price),
            reserved_warehouse=warehouse,
        )
    return order


def nfe_access_key(
    cnpj: str,
    *,
    series: int = 1,
    number: int = 1234,
    year_month: str = "2612",
    state: str = "35",
    model: str = "55",
    random_code: str = "12345678",
) -> str:
    """A well-formed NF-e access key (correct check digit) with these fields."""
    from erp.validators import nfe_access_key_check_digit

    first_43 = f"{state}{year_month}{cnpj}{model}{series:03d}{number:09d}1{random_code}"
    return first_43 + str(nfe_access_key_check_digit(first_43))
