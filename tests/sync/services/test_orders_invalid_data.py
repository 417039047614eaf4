"""An order the vendor sends with a value that cannot be read (vendors/parsing.py), through the
real orders flow against each vendor's emulator: the run fails naming the field, nothing of
its page is stored, the cursor or feed stays before it, and once the vendor's data is right
the next run imports everything.

The emulators have no hook for injecting a raw order payload, so each test adds a normal
order through the emulator's API and then overwrites one value in the emulator's order store
(`emulator.orders`, under `emulator.lock`), which is what its order endpoint serves.
"""

from dataclasses import dataclass, field

import pytest

from erp.models import Order, OrderStatus
from sync.models import OrderCursor, RunState
from sync.services.connectors import build_connector
from sync.services.runs import run_flow
from tests.sync.engine import active_channel, bind, declared_rate, make_skus, map_defaults
from vendors.registry import get_adapter_class

RATE, BURST = 200, 50
BAD_PRICE = "12,3x"


@dataclass
class Shop:
    """A channel on a running emulator with one bound SKU and complete de-para; what differs
    between vendors is how an order is added, where its price lives and what 'unread' means."""

    vendor: str
    emulator: object
    channel: object
    remote: dict = field(default_factory=dict)

    # --- per vendor ------------------------------------------------------------------------
    def add_order(self) -> str:
        em = self.emulator
        if self.vendor == "mercadolivre":
            return em.add_order(lines=[{"item_id": self.remote["item_id"], "quantity": 1}])
        if self.vendor == "vtex":
            return em.add_order(items=[(self.remote["sku_id"], 1, 5990)])
        placed = em.add_order(lines=[("CAM-P", 1, "59.90")], carrier="ECT", service="SEDEX 10")
        return str(placed["id"])

    def set_unit_price(self, order_id: str, value) -> None:
        em = self.emulator
        with em.lock:
            if self.vendor == "mercadolivre":
                em.orders[order_id]["order_items"][0]["unit_price"] = value
            elif self.vendor == "vtex":
                em.orders[order_id]["items"][0]["sellingPrice"] = value
            else:
                em.orders[int(order_id)]["items"][0]["unit"] = value

    def good_price(self):
        return {"mercadolivre": 59.9, "vtex": 5990, "anymarket": 59.9}[self.vendor]

    def expected_error(self, order_id: str) -> str:
        label, path = {
            "mercadolivre": ("Mercado Livre", "order_items[0].unit_price"),
            "vtex": ("VTEX", "items[0].sellingPrice"),
            "anymarket": ("ANYMARKET", "items[0].unit"),
        }[self.vendor]
        return f'{label} order {order_id}: {path} is "{BAD_PRICE}", not an amount'

    def unacknowledged(self) -> set[str]:
        """Orders the vendor still holds for us: feed items not acknowledged (feed vendors)."""
        em = self.emulator
        if self.vendor == "vtex":
            return {event.order_id for feed in em.feeds.values() for event in feed.queue}
        if self.vendor == "anymarket":
            return {str(order_id) for order_id in em.feed}
        return set()  # Mercado Livre is a search: the cursor is what must not move

    def cursor(self) -> str | None:
        return (
            OrderCursor.objects.filter(channel=self.channel).values_list("value", flat=True).first()
        )


def open_shop(vendor: str, emulator) -> Shop:
    em = emulator(vendor, rate=RATE, burst=BURST)
    channel = active_channel(vendor, em, batch_sizes={"orders": 100})
    (sku,) = make_skus(channel.company, ["CAM-P"])
    shop = Shop(vendor, em, channel)
    if vendor == "mercadolivre":
        item_id = em.add_listing(seller_sku="CAM-P", price=59.9)
        bind(channel, sku, external_item_id=item_id, seller_sku="CAM-P")
        shop.remote["item_id"] = item_id
        map_defaults(
            channel,
            statuses=[("paid", OrderStatus.PAID)],
            carriers=[("Correios", "510245", "Correios", "PAC")],
            payments=[("pix", "Pix")],
        )
    elif vendor == "vtex":
        remote = em.add_sku(ref_id="CAM-P", name="Camiseta P")
        bind(
            channel,
            sku,
            external_item_id=str(remote.product_id),
            external_sku_id=str(remote.id),
            seller_sku="CAM-P",
        )
        shop.remote["sku_id"] = remote.id
        map_defaults(
            channel,
            statuses=[("ready-for-handling", OrderStatus.PAID)],
            carriers=[("Correios", "SEDEX 10", "Correios", "SEDEX 10")],
            payments=[("Pix", "Pix")],
        )
        # What activation does; events come back at once when not acknowledged.
        build_connector(channel).configure_feed(visibility_timeout_seconds=0)
    else:
        product = em.add_product("Camiseta", [{"partnerId": "CAM-P", "amount": 10}])
        bind(
            channel,
            sku,
            external_item_id=str(product["id"]),
            external_sku_id=str(em.sku_ids_by_partner["CAM-P"]),
            seller_sku="CAM-P",
        )
        map_defaults(
            channel,
            statuses=[("PAID_WAITING_SHIP", OrderStatus.PAID)],
            carriers=[("ECT", "SEDEX 10", "Correios", "SEDEX 10")],
            payments=[("pix", "Pix")],
        )
    return shop


def imported(channel) -> set[str]:
    return set(Order.objects.filter(channel=channel).values_list("external_id", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vendor", ["mercadolivre", "vtex", "anymarket"])
def test_an_order_with_an_unreadable_price_fails_the_run_naming_the_field_and_loses_nothing(
    vendor, emulator
):
    with declared_rate(get_adapter_class(vendor), rate=RATE, burst=BURST):
        shop = open_shop(vendor, emulator)
        first = shop.add_order()
        run = run_flow(channel_id=shop.channel.pk, flow="orders")
        assert run.state == RunState.SUCCEEDED, run.error
        assert imported(shop.channel) == {first}
        cursor = shop.cursor()

        # A good order and, after it in the same page, one whose price cannot be read.
        good = shop.add_order()
        bad = shop.add_order()
        shop.set_unit_price(bad, BAD_PRICE)
        run = run_flow(channel_id=shop.channel.pk, flow="orders")

        assert run.state == RunState.FAILED
        assert shop.expected_error(bad) in run.error  # the run log names order and field
        assert run.retries == 0  # not mistaken for a transient fault
        assert imported(shop.channel) == {first}  # the page was not stored…
        assert shop.cursor() == cursor  # …the cursor did not move past it…
        if vendor != "mercadolivre":  # …and the feed still holds both (a search has none)
            assert {good, bad} <= shop.unacknowledged()
        shop.channel.refresh_from_db()
        assert shop.channel.status == "active"  # bad data is not a refused access

        # The next run stops at the same field: nothing was skipped in between.
        again = run_flow(channel_id=shop.channel.pk, flow="orders")
        assert again.state == RunState.FAILED
        assert shop.expected_error(bad) in again.error
        assert imported(shop.channel) == {first}

        # Once the vendor's data is right, both orders come in.
        shop.set_unit_price(bad, shop.good_price())
        run = run_flow(channel_id=shop.channel.pk, flow="orders")
        assert run.state == RunState.SUCCEEDED, run.error
        assert imported(shop.channel) == {first, good, bad}
        assert not ({good, bad} & shop.unacknowledged())
