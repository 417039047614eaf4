"""ANYMARKET (integrator): what it asks for and the limits it imposes."""

from django.utils.translation import gettext_lazy as _

from vendors.spec import (
    FULFILMENT,
    Capability,
    Category,
    CredentialField,
    Environment,
    Flow,
    FlowLimits,
    VendorLimits,
    VendorSpec,
)

PRODUCTION_BASE_URL = "http://api.anymarket.com.br/v2"
SANDBOX_BASE_URL = "http://sandbox-api.anymarket.com.br/v2"

SPEC = VendorSpec(
    key="anymarket",
    label="ANYMARKET",
    category=Category.INTEGRATOR,
    credential_fields=(
        CredentialField(
            "gumga_token",
            "gumgaToken",
            secret=True,
            unique=True,
            help_text=_(
                "The account's token for this environment (production and sandbox differ)."
            ),
        ),
    ),
    # 5,000 requests/hour per token.
    # STOCK: 500 SKUs per PUT /v2/stocks is our own cap — the docs give no maximum (?), so it
    # stays a declared limit that the emulator enforces and a test can change.
    # PRICE: one SKU per call, and each costs two requests (read the SKU, write it back: no
    # price-only or batch price write is documented; see AnymarketConnector.push_prices).
    limits=VendorLimits(
        requests_per_second=1.35,
        burst=5,
        flows={
            Flow.STOCK: FlowLimits(500, 5000, 1, 500, 5),
            Flow.PRICE: FlowLimits(1, 2000, 5, 200, 15),
            Flow.ORDERS: FlowLimits(100, 1000, 1, 100, 2),
            # One order per call; each event costs two requests (read the order, PUT it: no
            # idempotent status call), so 50 events fill ~75 s of the 5,000/hour budget.
            FULFILMENT: FlowLimits(1, 500, 5, 50, 10),
            # One product per call (vendors/anymarket/catalog.py): a search by partnerId, then
            # one POST with every SKU and image for a new product (2 requests), or only the
            # writes that differ. 50 new products a run take ~75 s of the 5,000/hour budget.
            Flow.CATALOG: FlowLimits(1, 500, 15, 50, 30),
        },
    ),
    # Stock per location: "Multi CD's" — every stock location's units are offered, a write
    # without stockLocalId goes to the default location (suporteanymarket.freshdesk.com,
    # article 19000097631); PUT /v2/stocks takes `stockLocalId` per entry (AnyMarket SDK).
    capabilities=frozenset(
        {
            Capability.ORDER_FEED_ACK,
            Capability.SINGLE_BACK_OFFICE,
            Capability.STOCK_PER_LOCATION,
            # PUT /v2/orders/{id}: INVOICED, PAID_WAITING_DELIVERY, CONCLUDED, CANCELED; the
            # shipment (PAID_WAITING_DELIVERY) only after INVOICED (vendors/anymarket/adapter.py).
            Capability.FULFIL_INVOICE,
            Capability.FULFIL_TRACKING,
            Capability.FULFIL_DELIVERED,
            Capability.FULFIL_CANCEL,
            Capability.SHIPPING_NEEDS_INVOICE,
            # POST/PUT /v2/products with SKUs and images, POST …/skus, …/images; GET
            # /v2/categories and /v2/brands (AnyMarket/anymarket-sdk-java ProductService,
            # SkuService, CategoryService, BrandService).
            Capability.NOTIFICATIONS,
            Capability.CATALOG_CREATE,
            Capability.CATALOG_UPDATE,
            Capability.CATALOG_IMAGES,
            Capability.CATALOG_CATEGORIES,
            Capability.CATALOG_BRANDS,
        }
    ),
    # The API v2 has no call that names the account a token opens (developers.anymarket.com.br
    # lists none; the public SDKs have none): the organization id "oi" travels only in
    # ANYMARKET's notifications to a partner's callback URL
    # (developers.anymarket.com.br/en/integration_guides/flow/notification), which this system
    # does not receive. Stock-location ids are no substitute: two accounts can both have
    # location 1.
    identifies_account=False,
    base_urls={Environment.PRODUCTION: PRODUCTION_BASE_URL, Environment.SANDBOX: SANDBOX_BASE_URL},
)
