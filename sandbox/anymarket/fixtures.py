"""ANYMARKET demo credentials and data: products with size variations and orders from the
marketplaces an integrator serves, with their carriers and payment methods, deterministic for
a given seed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sandbox.anymarket.routes import (
    CARRIERS,
    MARKETPLACES,
    ORDER_STATUSES,
    PAYMENTS,
    AnymarketApi,
)
from sandbox.gtin import gtin13
from sandbox.server import DEFAULT_PRICE, CatalogEntry

BUYERS = ["Ana Souza", "Bruno Lima", "Carla Dias", "Diego Rocha", "Elisa Martins", "Felipe Alves"]
PRODUCT_NAMES = ["Camiseta Básica", "Calça Jeans", "Tênis Corrida", "Garrafa Térmica", "Mochila"]
# How often each status shows in seeded orders, in ORDER_STATUSES' order: mostly paid.
STATUS_WEIGHTS = [2, 6, 2, 2, 1, 1]


class AnymarketEmulator(AnymarketApi):
    """ANYMARKET's API on loopback, with demo credentials and data builders."""

    @classmethod
    def demo_credentials(cls, account: str | None = None) -> dict[str, str]:
        # One token per account and environment; the demo account keeps the token a demo
        # database already stores.
        account = account or cls.demo_account
        suffix = "" if account == cls.demo_account else f"-{account}"
        return {"gumga_token": f"DEMO-gumga-token{suffix}-not-a-secret"}

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
                group = list(seller_skus[start : start + per_product])
                name = f"{PRODUCT_NAMES[(start // per_product) % len(PRODUCT_NAMES)]} {group[0]}"
                product = self.add_product(
                    name,
                    [
                        {
                            "partnerId": code,
                            # GS1 prefix 200-299 is for restricted circulation: never a real
                            # product's EAN, nor one the demo's ERP catalog uses.
                            "ean": gtin13(f"200{self._next_sku:09d}"),
                            "title": f"{name} {code}",
                            "price": price,
                            "sellPrice": price,
                            "amount": quantity,
                        }
                        for code in group
                    ],
                )
                entries.extend(
                    CatalogEntry(code, item_id=str(product["id"]), sku_id=str(sku["id"]))
                    for code, sku in zip(group, product["skus"], strict=True)
                )
        return entries

    def seed_data(
        self, *, listings: int = 0, orders: int = 0, partner_ids: list[str] | None = None
    ) -> None:
        """`listings` SKUs (two per product, as size variations) and `orders` orders over
        them. `partner_ids` names the SKUs (e.g. the ERP's demo codes)."""
        rnd = self.data_random
        codes = list(partner_ids or [])
        count = len(codes) if partner_ids else listings
        if orders and not count and not self.skus:
            count = 6  # orders need SKUs to point at
        codes += [f"SKU-{len(self.skus) + n + 1:05d}" for n in range(len(codes), count)]
        for start in range(0, len(codes), 2):
            name = f"{PRODUCT_NAMES[(start // 2) % len(PRODUCT_NAMES)]} {start // 2 + 1}"
            specs = []
            for offset, code in enumerate(codes[start : start + 2]):
                sell = Decimal(rnd.randrange(1990, 49990, 100)) / 100
                specs.append(
                    {
                        "partnerId": code,
                        "ean": gtin13(f"789{len(self.skus) + len(specs) + 1:09d}"),
                        "title": f"{name} {'PM'[offset]}",
                        "price": sell + Decimal("20.00") * rnd.randrange(0, 2),
                        "sellPrice": sell,
                        "amount": rnd.randrange(0, 60),
                        "variations": {"Tamanho": "PM"[offset]},
                    }
                )
            self.add_product(name, specs)
        all_codes = list(self.sku_ids_by_partner)
        for _ in range(orders):
            carrier = rnd.choice(list(CARRIERS))
            chosen = rnd.sample(all_codes, k=min(len(all_codes), rnd.randint(1, 3)))
            self.add_order(
                [
                    (code, rnd.randint(1, 3), self.skus[self.sku_ids_by_partner[code]]["sellPrice"])
                    for code in chosen
                ],
                # Keyword order = the order the generator is drawn from: keep it.
                status=rnd.choices(ORDER_STATUSES, weights=STATUS_WEIGHTS)[0],
                marketplace=rnd.choice(MARKETPLACES),
                carrier=(carrier, rnd.choice(CARRIERS[carrier])),
                payment=rnd.choice(list(PAYMENTS)),
                buyer_name=rnd.choice(BUYERS),
                freight=Decimal(rnd.randrange(0, 3990, 10)) / 100,
            )

    def seed_demo(self, *, sku_codes: list[str], orders: int = 20) -> None:
        """The demo catalog's SKUs (partnerId = the ERP code, as `sync.demo` makes them)
        and `orders` orders over them."""
        self.seed_data(partner_ids=list(sku_codes), orders=orders)
