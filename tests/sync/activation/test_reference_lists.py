"""Mercado Livre's site lists (payment and shipping methods) failing to read: a warning with
the reason, and the de-para is checked against what the seller's recent orders carry and the
fallback rows — never a block for a list that says nothing about the account."""

import pytest

from mappings.models import MappingKind
from mappings.services import mapping_create
from sync.activation.activate import activation_activate
from sync.activation.checks import CheckStatus
from sync.activation.preflight import activation_preflight
from tests.factories import make_payment_method
from tests.sync.activation.builders import add_fallbacks, ready_channel


def check_of(report, key):
    return next(check for check in report.checks if check.key == key)


@pytest.mark.django_db
def test_unreadable_site_lists_warn_with_the_reason_and_do_not_block(ml, support_user):
    channel = ready_channel(ml, "mercadolivre")  # fallbacks for every kind
    ml.site_lists_status = 503

    outcome = activation_activate(channel=channel, user=support_user)

    assert outcome.ok, outcome.message
    de_para = check_of(outcome.report, "de_para")
    assert de_para.status == CheckStatus.WARN
    assert "could not be read" in de_para.message
    assert any("/sites/MLB/payment_methods failed" in line for line in de_para.details)
    assert any("/sites/MLB/shipping_methods failed" in line for line in de_para.details)
    assert all("“anything else” row" in line for line in de_para.details)


@pytest.mark.django_db
def test_with_the_lists_unreadable_the_values_of_recent_orders_are_checked(ml, support_user):
    channel = ready_channel(ml, "mercadolivre", de_para=False)
    add_fallbacks(
        channel,
        [MappingKind.CARRIER_SERVICE, MappingKind.ORDER_STATUS, MappingKind.STOCK_LOCATION],
    )
    ml.add_listing(seller_sku="CAM-1", title="Camiseta")
    ml.add_order([("CAM-1", 1)], payment="pix")
    ml.site_lists_status = 503

    report = activation_preflight(channel=channel)

    # The order's payment method has no row and payments no fallback: that blocks, named.
    de_para = check_of(report, "de_para")
    assert de_para.blocks
    assert any(line.startswith("Payment method: pix") for line in de_para.details)
    assert any("hold its order until it is mapped" in line for line in de_para.details)

    mapping_create(
        channel=channel,
        kind=MappingKind.PAYMENT_METHOD,
        code="pix",
        target=make_payment_method(channel.company, "Pix"),
    )
    report = activation_preflight(channel=channel)
    assert check_of(report, "de_para").status == CheckStatus.WARN
