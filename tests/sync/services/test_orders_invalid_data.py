"""One bad order must not stop a channel: an order the vendor sends with a value that cannot be
read (vendors/parsing.py) is quarantined, the rest of its page is imported, the cursor / feed
moves past it, and it comes in once the vendor corrects it — through a later page or by
fetching it again — never twice. Through the real orders flow against each vendor's emulator.

The emulators have no hook for injecting a raw order payload, so each test adds normal orders
through the emulator's API and then overwrites values in the emulator's order store
(`emulator.orders`, under `emulator.lock`), which is what its order endpoints serve.
"""

import copy
import json
from dataclasses import dataclass, field

import pytest

from erp.models import Order, OrderItem, OrderStatus
from sandbox.mercadolivre import MercadoLivreEmulator
from sync.models import OrderCursor, QuarantinedOrder, QuarantineResolution, RunState
from sync.services.connectors import build_connector
from sync.services.quarantine import quarantined_orders_refetch
from sync.services.runs import run_flow
from tests.sync.engine import active_channel, bind, declared_rate, make_skus, map_defaults
from vendors.registry import get_adapter_class

RATE, BURST = 200, 50
VENDORS = ["mercadolivre", "vtex", "anymarket"]
LONG_ID = "9" * 81  # one more than the order id column holds

# Where each vendor keeps the values a shape poisons: (lines, quantity, unit price, order id).
FIELDS = {
    "mercadolivre": ("order_items", "quantity", "unit_price", "id"),
    "vtex": ("items", "quantity", "sellingPrice", "orderId"),
    "anymarket": ("items", "amount", "unit", "id"),
}


def poison(document: dict, vendor: str, shape: str) -> str:
    """Break one value of an order document; return the field path the reason must name."""
    lines, quantity, price, order_id = FIELDS[vendor]
    if shape == "quantity 0":
        document[lines][0][quantity] = 0
        return f"{lines}[0].{quantity}"
    if shape == "price NaN":
        document[lines][0][price] = float("nan")
        return f"{lines}[0].{price}"
    if shape == "price 1e20":
        document[lines][0][price] = 1e20
        return f"{lines}[0].{price}"
    if shape == "item not an object":
        document[lines][0] = "CAM-P"
        return f"{lines}[0]"
    if shape == "id too long":
        document[order_id] = LONG_ID
        return order_id
    raise ValueError(shape)


SHAPES = ["quantity 0", "price NaN", "price 1e20", "item not an object", "id too long"]


@dataclass
class Shop:
    """A channel on a running emulator with one bound SKU and complete de-para."""

    vendor: str
    emulator: object = field(repr=False)
    channel: object
    remote: dict = field(default_factory=dict, repr=False)
    originals: dict = field(default_factory=dict, repr=False)

    def add_order(self) -> str:
        # The emulators' one control interface: SKUs by seller code, the vendor's defaults.
        carrier = ("ECT", "SEDEX 10") if self.vendor == "anymarket" else None  # its de-para
        return str(self.emulator.add_order([("CAM-P", 1, "59.90")], carrier=carrier))

    def _key(self, order_id: str):
        return int(order_id) if self.vendor == "anymarket" else order_id

    def poison(self, order_id: str, shape: str) -> str:
        with self.emulator.lock:
            document = self.emulator.orders[self._key(order_id)]
            self.originals.setdefault(order_id, copy.deepcopy(document))
            return poison(document, self.vendor, shape)

    def fix(self, order_id: str) -> None:
        """The vendor corrects the order (silently: nothing tells the feed or the search)."""
        with self.emulator.lock:
            self.emulator.orders[self._key(order_id)] = self.originals.pop(order_id)

    def touch(self, order_id: str) -> None:
        """The vendor changes the order, so its feed / search brings it again."""
        em = self.emulator
        if self.vendor == "mercadolivre":
            em.set_order_status(order_id, "paid")
        elif self.vendor == "vtex":
            em.set_order_status(order_id, "ready-for-handling")
        else:
            em.set_order_status(int(order_id), "PAID_WAITING_SHIP")

    def unacknowledged(self) -> set[str]:
        """Orders the vendor still holds for us: feed items not acknowledged (feed vendors)."""
        em = self.emulator
        if self.vendor == "vtex":
            return {event.order_id for feed in em.feeds.values() for event in feed.queue}
        if self.vendor == "anymarket":
            return {str(order_id) for order_id in em.feed}
        return set()  # Mercado Livre is a search: the cursor is what moves

    def cursor(self) -> str | None:
        return (
            OrderCursor.objects.filter(channel=self.channel).values_list("value", flat=True).first()
        )

    def run(self):
        return run_flow(channel_id=self.channel.pk, flow="orders")


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


@pytest.fixture(params=VENDORS)
def shop(request, emulator):
    vendor = request.param
    with declared_rate(get_adapter_class(vendor), rate=RATE, burst=BURST):
        yield open_shop(vendor, emulator)


def imported(channel) -> list[str]:
    return sorted(Order.objects.filter(channel=channel).values_list("external_id", flat=True))


def page_of_five_with_one_poisoned(shop: Shop, shape: str) -> tuple[list[str], str, str]:
    """Five new orders, the third one poisoned: (the four good ids, the bad id, its path)."""
    ids = [shop.add_order() for _ in range(5)]
    bad = ids[2]
    path = shop.poison(bad, shape)
    return [i for i in ids if i != bad], bad, path


# --- one poisoned order in a page of five -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shape", SHAPES)
def test_one_poisoned_order_is_quarantined_and_the_other_four_are_imported(shop, shape):
    good, bad, path = page_of_five_with_one_poisoned(shop, shape)

    run = shop.run()

    assert run.state == RunState.PARTIAL, run.error  # not FAILED: the channel goes on
    assert run.error == ""
    assert run.done == 5
    assert imported(shop.channel) == sorted(good)
    (quarantined,) = QuarantinedOrder.objects.filter(channel=shop.channel)
    # Keyed by the order's id; where the id itself cannot be read, by the id the feed gave, or
    # (a search gives none) by the document's content.
    if shape == "id too long" and shop.vendor == "mercadolivre":
        assert quarantined.external_id.startswith("unreadable-")
        assert not quarantined.refetchable
    else:
        assert quarantined.external_id == bad
    assert quarantined.field_path == path
    assert f": {path} is " in quarantined.reason  # names the field and the value
    assert quarantined.resolved_at is None and quarantined.times_seen == 1
    json.dumps(quarantined.payload, allow_nan=False)  # strict JSON on every database
    assert run.detail["counts"]["quarantined"] == 1
    assert run.detail["issues"]["quarantined"][0]["order"] == quarantined.external_id
    assert run.detail["orders"]["quarantined"] == 1
    assert run.detail["orders"]["created"] == 4
    # The feed was acknowledged past it (the search cursor moved past it)…
    assert shop.unacknowledged() == set()
    if shop.vendor == "mercadolivre":
        assert shop.cursor()

    # …so the next run reads only what is new, and is not stuck on the bad order.
    newer = shop.add_order()
    again = shop.run()
    assert again.state == RunState.SUCCEEDED, again.error
    assert imported(shop.channel) == sorted([*good, newer])
    quarantined.refresh_from_db()
    assert quarantined.times_seen == 1 and quarantined.resolved_at is None


# --- the vendor corrects it ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fetching_again_updates_the_reason_while_broken_and_imports_once_when_corrected(shop):
    good, bad, _ = page_of_five_with_one_poisoned(shop, "price NaN")
    shop.run()
    quarantined = QuarantinedOrder.objects.get(channel=shop.channel)
    lines, quantity, _price, _id = FIELDS[shop.vendor]

    # Still broken, differently: the reason and the document follow the vendor's answer.
    shop.fix(bad)
    shop.poison(bad, "quantity 0")
    result = quarantined_orders_refetch(channel_id=shop.channel.pk)
    assert (result.imported, result.still_invalid, result.error) == (0, 1, "")
    quarantined.refresh_from_db()
    assert quarantined.field_path == f"{lines}[0].{quantity}"
    assert quarantined.times_seen == 2 and quarantined.resolved_at is None
    assert imported(shop.channel) == sorted(good)

    # Corrected: imported through the normal path (de-para, stock reservation), resolved.
    shop.fix(bad)
    result = quarantined_orders_refetch(channel_id=shop.channel.pk)
    assert (result.imported, result.still_invalid, result.problems) == (1, 0, False)
    assert imported(shop.channel) == sorted([*good, bad])
    order = Order.objects.get(channel=shop.channel, external_id=bad)
    assert order.status == OrderStatus.PAID and order.carrier_service is not None
    assert OrderItem.objects.get(order=order).reserved_warehouse_id is not None
    quarantined.refresh_from_db()
    assert quarantined.resolved_how == QuarantineResolution.REFETCHED
    assert quarantined.resolved_at is not None and quarantined.order_id == order.pk

    # Never twice: fetching again finds nothing open; the vendor sending it again changes nothing.
    assert quarantined_orders_refetch(channel_id=shop.channel.pk).imported == 0
    shop.touch(bad)
    run = shop.run()
    assert run.state == RunState.SUCCEEDED, run.error
    assert Order.objects.filter(channel=shop.channel, external_id=bad).count() == 1
    assert imported(shop.channel) == sorted([*good, bad])


@pytest.mark.django_db(transaction=True)
def test_a_later_page_that_brings_the_order_readable_resolves_its_quarantine(shop):
    good, bad, _ = page_of_five_with_one_poisoned(shop, "item not an object")
    shop.run()

    shop.fix(bad)
    shop.touch(bad)  # the vendor's correction puts it back on the feed / in the search
    run = shop.run()

    assert run.state == RunState.SUCCEEDED, run.error
    assert imported(shop.channel) == sorted([*good, bad])
    quarantined = QuarantinedOrder.objects.get(channel=shop.channel)
    assert quarantined.resolved_how == QuarantineResolution.READ_VALID
    assert quarantined.order.external_id == bad
    assert run.detail["orders"]["unquarantined"] == 1


@pytest.mark.django_db(transaction=True)
def test_an_order_sent_unreadable_again_is_counted_not_duplicated(shop):
    _good, bad, _ = page_of_five_with_one_poisoned(shop, "price 1e20")
    shop.run()

    shop.touch(bad)  # changed, still unreadable
    run = shop.run()

    assert run.state == RunState.PARTIAL
    quarantined = QuarantinedOrder.objects.get(channel=shop.channel)
    assert (quarantined.external_id, quarantined.times_seen) == (bad, 2)


# --- what cannot be fetched, and what is not about one order ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_order_whose_id_cannot_be_read_cannot_be_fetched_by_id(emulator):
    with declared_rate(get_adapter_class("mercadolivre"), rate=RATE, burst=BURST):
        shop = open_shop("mercadolivre", emulator)
        page_of_five_with_one_poisoned(shop, "id too long")
        shop.run()

        result = quarantined_orders_refetch(channel_id=shop.channel.pk)

    assert (result.unfetchable, result.imported) == (1, 0)
    assert QuarantinedOrder.objects.get(channel=shop.channel).resolved_at is None


@pytest.mark.django_db(transaction=True)
def test_a_page_envelope_that_cannot_be_read_still_fails_the_run_naming_it(emulator, monkeypatch):
    serve = MercadoLivreEmulator._orders_search

    def unreadable_total(self, request):
        response = serve(self, request)
        response.body["paging"]["total"] = "muitos"
        return response

    monkeypatch.setattr(MercadoLivreEmulator, "_orders_search", unreadable_total)
    with declared_rate(get_adapter_class("mercadolivre"), rate=RATE, burst=BURST):
        shop = open_shop("mercadolivre", emulator)
        shop.add_order()
        run = shop.run()

    assert run.state == RunState.FAILED
    assert 'Mercado Livre order search: paging.total is "muitos", not a whole number' in run.error
    assert "the next run reads it again" in run.error
    assert imported(shop.channel) == [] and shop.cursor() is None
    assert not QuarantinedOrder.objects.exists()
