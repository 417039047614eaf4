"""VTEX demo credentials and data: a store's SKUs (RefId, EAN, stock, price) and orders with
the couriers, SLAs, payment systems and statuses a Brazilian store has, deterministic for a
given seed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sandbox.gtin import gtin13
from sandbox.server import DEFAULT_PRICE, CatalogEntry
from sandbox.vtex.routes import PAYMENT_SYSTEMS, SHIPPING_POLICIES, Feed, VtexApi

PRODUCTS = (
    ("Camiseta Básica Algodão", ("P", "M", "G")),
    ("Tênis Corrida Leve", ("39", "40", "41", "42")),
    ("Caneca Térmica 500 ml", ("Preta", "Inox")),
    ("Mochila Urbana 20 L", ("Cinza",)),
    ("Fone Bluetooth Esportivo", ("Preto", "Branco")),
)
CUSTOMERS = (
    ("Ana", "Souza"),
    ("Bruno", "Lima"),
    ("Carla", "Ferreira"),
    ("Diego", "Almeida"),
    ("Elisa", "Rocha"),
)
# The demo store's feed, as an activation leaves it: the statuses a sale goes through and the
# queue values of the spec's examples (orders.json: visibility 250 s, retention 4 days).
DEMO_FEED_STATUSES = (
    "payment-pending",
    "payment-approved",
    "ready-for-handling",
    "handling",
    "invoiced",
    "canceled",
)
DEMO_FEED_QUEUE = {"visibilityTimeoutInSeconds": 250, "MessageRetentionPeriodInSeconds": 345_600}


class VtexEmulator(VtexApi):
    """VTEX's APIs on loopback, with demo credentials and data builders."""

    @classmethod
    def demo_credentials(cls, account: str | None = None) -> dict[str, str]:
        # App key and token are unique per store; the demo store keeps the token a demo
        # database already stores.
        account = account or cls.demo_account
        suffix = "" if account == cls.demo_account else f"-{account}"
        return {
            "account_name": account,
            "app_key": f"vtexappkey-{account}-DEMO",
            "app_token": f"DEMOTOKEN{suffix}-not-a-secret-emulator-only-0000000000000000",
            "warehouse_id": "1_1",
        }

    def _stock_record(self, sku_id: int, quantity: int) -> None:
        self.inventory[(str(sku_id), self.default_warehouse)] = {
            "quantity": quantity,
            "unlimitedQuantity": False,
            "leadTime": "00:00:00",
        }

    def seed_catalog(
        self,
        seller_skus: Sequence[str],
        *,
        per_product: int = 1,
        quantity: int = 0,
        price: Decimal = DEFAULT_PRICE,
    ) -> list[CatalogEntry]:
        entries = []
        with self.lock:
            for start in range(0, len(seller_skus), per_product):
                product_id = self._next_product_id
                self._next_product_id += 1
                name = PRODUCTS[(start // per_product) % len(PRODUCTS)][0]
                for code in seller_skus[start : start + per_product]:
                    # GS1 prefix 200-299 is for restricted circulation: never a real
                    # product's EAN, nor one the demo's ERP catalog uses.
                    sku = self.add_sku(
                        ref_id=code,
                        name=f"{name} {code}",
                        product_name=name,
                        product_id=product_id,
                        ean=gtin13(f"200{self._next_sku_id:09d}"),
                    )
                    self._stock_record(sku.id, quantity)
                    self.prices[sku.id] = self._price_record(sku.id, {"basePrice": float(price)})
                    entries.append(CatalogEntry(code, item_id=str(product_id), sku_id=str(sku.id)))
        return entries

    def seed_data(self, *, listings: int = 0, orders: int = 0) -> None:
        """`listings` SKUs (RefId "VT-00001"…, valid EAN-13, stock and price set) and `orders`
        orders over them."""
        rng = self.data_random
        with self.lock:
            for n in range(listings):
                product, variations = PRODUCTS[n % len(PRODUCTS)]
                variation = variations[(n // len(PRODUCTS)) % len(variations)]
                serial = len(self.skus) + 1
                sku = self.add_sku(
                    ref_id=f"VT-{serial:05d}",
                    name=f"{product} {variation}",
                    product_name=product,
                    ean=gtin13(f"789{serial:09d}"),
                )
                self._stock_record(sku.id, rng.randint(0, 50))
                base = rng.randint(1990, 49990)
                self.prices[sku.id] = self._price_record(sku.id, {"basePrice": base / 100})
            if orders and not self.skus:
                self.seed_data(listings=5)
            sku_ids = sorted(self.skus)
            for _ in range(orders):
                items = [
                    (rng.choice(sku_ids), rng.randint(1, 3), rng.randint(1990, 29990))
                    for _ in range(rng.randint(1, 3))
                ]
                _, courier, sla = rng.choice(SHIPPING_POLICIES)
                self._place_order(
                    items=items,
                    status=rng.choice(
                        ["payment-pending", "payment-approved", "ready-for-handling"]
                    ),
                    courier=(courier, sla),
                    payment=rng.choice(PAYMENT_SYSTEMS)[0],
                    customer=rng.choice(CUSTOMERS),
                    shipping_cents=rng.choice([0, 1290, 1990, 2990]),
                )

    def seed_demo(self, *, sku_codes: list[str], orders: int = 20) -> None:
        """The demo catalog ("PREFIX-VARIANT" codes from `sync.demo`) as VTEX SKUs: RefId = the
        ERP code, one product per prefix, EANs as `sync.demo` gives the ERP's SKUs; then
        `orders` orders. Our app key's feed starts configured: the demo database outlives the
        emulator process, so an activation done before a restart must still find its feed."""
        groups: dict[str, list[str]] = {}
        for code in sku_codes:
            groups.setdefault(code.rsplit("-", 1)[0], []).append(code)
        with self.lock:
            for index, codes in enumerate(groups.values()):
                product = PRODUCTS[index % len(PRODUCTS)][0]
                product_id = self._next_product_id
                self._next_product_id += 1
                for position, code in enumerate(codes):
                    sku = self.add_sku(
                        ref_id=code,
                        name=f"{product} {code.rsplit('-', 1)[-1]}",
                        product_name=product,
                        product_id=product_id,
                        ean=gtin13(f"789{index:04d}{position:05d}"),
                    )
                    self._stock_record(sku.id, 5 + position)
            self.feeds.setdefault(
                self.credentials["app_key"],
                Feed(
                    config={
                        "filter": {"type": "FromWorkflow", "status": list(DEMO_FEED_STATUSES)},
                        "queue": dict(DEMO_FEED_QUEUE),
                    }
                ),
            )
            if orders:
                self.seed_data(orders=orders)
