"""Fetching quarantined orders again: when the vendor may not be asked (the flows through the
emulators are in test_orders_invalid_data.py)."""

import pytest

from channels.services import channel_set_status
from sync.models import QuarantinedOrder
from sync.services.lease import lease_claim
from sync.services.quarantine import quarantined_orders_refetch
from tests.factories import make_channel

CREDENTIALS = {
    "account_name": "lojaquarentena",
    "app_key": "appkey-quarantine-1",
    "app_token": "VTEX-APPTOKEN-quarantine-1a2b3c4d",
}


def quarantined(channel, external_id="1400000000001-01") -> QuarantinedOrder:
    return QuarantinedOrder.objects.create(
        channel=channel,
        external_id=external_id,
        payload={"orderId": external_id},
        reason=f"VTEX order {external_id}: items[0].quantity is 0, less than 1",
        field_path="items[0].quantity",
    )


@pytest.fixture
def channel(db):
    # Points at an address nothing answers: any request would fail the test loudly.
    channel = make_channel(
        connector="vtex",
        credentials=CREDENTIALS,
        api_base_url="http://127.0.0.1:9",
        environment="sandbox",
    )
    channel_set_status(channel=channel, status="active")
    return channel


@pytest.mark.django_db
def test_nothing_is_fetched_while_a_run_of_the_channel_holds_its_lease(channel):
    row = quarantined(channel)
    assert lease_claim(channel_id=channel.pk, flow="orders") is not None

    result = quarantined_orders_refetch(channel_id=channel.pk)

    assert "in progress" in result.error and result.left == 1 and result.problems
    row.refresh_from_db()
    assert (row.times_seen, row.resolved_at) == (1, None)


@pytest.mark.django_db
def test_a_paused_channel_does_not_talk_to_the_vendor(channel):
    quarantined(channel)
    channel_set_status(channel=channel, status="paused")

    result = quarantined_orders_refetch(channel_id=channel.pk)

    assert result.error.startswith("The channel is paused") and result.left == 1


@pytest.mark.django_db
def test_only_the_selected_open_rows_of_the_channel_are_considered(channel):
    quarantined(channel, "A-01")
    unreadable = quarantined(channel, "unreadable-" + "0" * 40)

    result = quarantined_orders_refetch(channel_id=channel.pk, quarantined_ids=[unreadable.pk])

    assert (result.unfetchable, result.imported, result.error) == (1, 0, "")
    assert result.summary() == "0 imported, 1 with an unreadable id (cannot be fetched by id)."
    assert quarantined_orders_refetch(channel_id=channel.pk, quarantined_ids=[]).summary() == (
        "0 imported."
    )
