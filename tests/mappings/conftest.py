import pytest

from erp.models import PaymentMethod
from mappings.signals import mapping_created
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_company,
    make_payment_method,
    make_warehouse,
)


class Erp:
    """The ERP side of one company, as the tests need it."""

    def __init__(self, company):
        self.company = company
        self.sedex10 = make_carrier_service(company, "Correios", "SEDEX 10")
        self.sedex = make_carrier_service(company, "Correios", "SEDEX")
        self.pac = make_carrier_service(company, "Correios", "PAC")
        self.jadlog = make_carrier_service(company, "Jadlog", ".Package")
        self.pix = make_payment_method(company, "Pix", PaymentMethod.Kind.PIX)
        self.credit = make_payment_method(
            company, "Cartão de crédito", PaymentMethod.Kind.CREDIT_CARD
        )
        self.boleto = make_payment_method(company, "Boleto", PaymentMethod.Kind.BOLETO)
        self.cd_sp = make_warehouse(company, "CD-SP", name="Centro de distribuição SP")
        self.cd_rj = make_warehouse(company, "CD-RJ", name="Centro de distribuição RJ")


@pytest.fixture
def erp(db):
    return Erp(make_company(legal_name="Loja Azul Ltda"))


@pytest.fixture
def other_erp(db):
    return Erp(make_company(legal_name="Outra Empresa Ltda"))


@pytest.fixture
def channel(erp):
    return make_channel(erp.company, "mercadolivre", name="Mercado Livre")


@pytest.fixture
def hooks():
    """Every mapping_created the code sends, as (channel_id, kind, mapping)."""
    sent = []

    def receiver(sender, channel_id, kind, mapping, **kwargs):
        sent.append((channel_id, kind, mapping))

    mapping_created.connect(receiver, weak=False)
    yield sent
    mapping_created.disconnect(receiver)
