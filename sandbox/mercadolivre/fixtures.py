"""Mercado Livre demo credentials and data: seeded catalogs and orders that look like a
Brazilian seller's (products with colour and size variations, the site's carriers and payment
methods), deterministic for a given seed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from sandbox.gtin import gtin13
from sandbox.mercadolivre.routes import (
    SHIPPING_METHODS,
    SHIPPING_MODES,
    MercadoLivreApi,
    seller_id_for,
)
from sandbox.server import DEFAULT_PRICE, CatalogEntry

_PRODUCTS = [
    ("Camiseta Básica Algodão", 59.9, ("Cor", ["Branca", "Preta", "Azul"])),
    ("Tênis Corrida Leve", 299.0, ("Tamanho", ["39", "40", "41"])),
    ("Caneca Cerâmica 300 ml", 34.9, None),
    ("Fone de Ouvido Bluetooth", 149.9, None),
    ("Garrafa Térmica 500 ml", 89.9, ("Cor", ["Preta", "Inox"])),
    ("Mochila Urbana 20 L", 219.0, None),
    ("Luminária de Mesa LED", 119.9, None),
    ("Jogo de Toalhas 4 Peças", 99.9, None),
]
_BUYERS = [
    ("Maria", "Silva"),
    ("João", "Souza"),
    ("Ana", "Oliveira"),
    ("Pedro", "Santos"),
    ("Juliana", "Lima"),
    ("Carlos", "Pereira"),
]


class MercadoLivreEmulator(MercadoLivreApi):
    """Mercado Livre's API on loopback, with demo credentials and data builders."""

    @classmethod
    def demo_credentials(cls, account: str | None = None) -> dict[str, str]:
        # The demo seller keeps the tokens a demo database already stores; any other seller
        # gets a refresh token of its own (refresh tokens are unique per authorization).
        seller = seller_id_for(str(account or cls.demo_account))
        suffix = "" if seller == cls.demo_account else f"-{seller}"
        return {
            "client_id": "5550001234567890",
            "client_secret": "demo-client-secret",
            "refresh_token": f"TG-demo-refresh-1{suffix}",
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
                group = list(seller_skus[start : start + per_product])
                title = f"{_PRODUCTS[(start // per_product) % len(_PRODUCTS)][0]} {group[0]}"
                if per_product == 1:
                    item_id = self.add_listing(
                        seller_sku=group[0], title=title, price=float(price), quantity=quantity
                    )
                    entries.append(CatalogEntry(group[0], item_id=item_id))
                    continue
                item_id = self.add_listing(
                    title=title,
                    price=float(price),
                    variations=[
                        {
                            "seller_sku": code,
                            "quantity": quantity,
                            "price": float(price),
                            "combination": {"Modelo": code},
                        }
                        for code in group
                    ],
                )
                entries.extend(
                    CatalogEntry(code, item_id=item_id, variation_id=str(variation_id))
                    for code, variation_id in zip(group, self.variation_ids(item_id), strict=True)
                )
        return entries

    def seed_data(self, *, listings: int = 0, orders: int = 0) -> None:
        """Every third listing has variations; orders mix carriers, services, payment methods,
        statuses and shipping modes (every one of SHIPPING_MODES, so each fulfilment path —
        NF-e import, pack fiscal document, seller tracking, Full — has orders), three orders
        per timestamp so the same-timestamp paging case is always present."""
        with self.lock:
            for n in range(listings):
                title, base_price, axis = _PRODUCTS[n % len(_PRODUCTS)]
                sku = f"ML-{n + 1:05d}"
                if axis and n % 3 == 0:
                    axis_name, values = axis
                    self.add_listing(
                        title=f"{title} {n + 1}",
                        price=base_price,
                        variations=[
                            {
                                "seller_sku": f"{sku}-{value.upper()}",
                                "quantity": self.data_random.randint(0, 40),
                                "price": base_price,
                                "combination": {axis_name: value},
                            }
                            for value in values
                        ],
                    )
                else:
                    self.add_listing(
                        seller_sku=sku,
                        title=f"{title} {n + 1}",
                        price=base_price,
                        quantity=self.data_random.randint(0, 60),
                    )
            if orders and not self.listings:
                raise ValueError("seed listings before orders")
            item_ids = sorted(self.listings)
            statuses = ["paid"] * 6 + ["confirmed", "payment_in_process", "cancelled"]
            payments = ["pix", "pix", "visa", "master", "bolbradesco"]
            modes = list(SHIPPING_MODES)
            base = self._now
            for n in range(orders):
                item = self.listings[item_ids[n % len(item_ids)]]
                variation = None
                if item["variations"]:
                    variation = item["variations"][n % len(item["variations"])]
                method = SHIPPING_METHODS[n % len(SHIPPING_METHODS)]
                # By item and variation: seeded orders may sell listings that carry no
                # seller SKU, or one repeated on purpose.
                self._place_order(
                    [(item, variation, 1 + n % 3, None)],
                    status=statuses[n % len(statuses)],
                    carrier=(method["company_name"], method["name"]),
                    payment=payments[n % len(payments)],
                    buyer=_BUYERS[n % len(_BUYERS)],
                    shipping_cost=19.9,
                    created_at=base + timedelta(seconds=1 + n // 3),
                    shipping_mode=modes[n % len(modes)],
                )
            if orders:
                self._now = base + timedelta(seconds=1 + (orders - 1) // 3)

    def seed_demo(self, *, sku_codes: list[str], orders: int = 20) -> None:
        """Listings for the demo catalog's SKU codes ("PREFIX-VARIANT"): one item per prefix,
        one variation per code, EANs as `sync.demo` gives the ERP's SKUs. Turns on
        `tolerate_restart`, since the demo database outlives the emulator process."""
        self.tolerate_restart = True
        groups: dict[str, list[str]] = {}
        for code in sku_codes:
            prefix = code.rsplit("-", 1)[0]
            groups.setdefault(prefix, []).append(code)
        with self.lock:
            for index, (prefix, codes) in enumerate(groups.items()):
                title, price, _axis = _PRODUCTS[index % len(_PRODUCTS)]
                self.add_listing(
                    title=f"{title} ({prefix})",
                    price=price,
                    variations=[
                        {
                            "seller_sku": code,
                            "quantity": 5 + position,
                            "price": price,
                            "ean": gtin13(f"789{index:04d}{position:05d}"),
                            "combination": {"Variação": code.rsplit("-", 1)[-1]},
                        }
                        for position, code in enumerate(codes)
                    ],
                )
            if orders:
                self.seed_data(orders=orders)
