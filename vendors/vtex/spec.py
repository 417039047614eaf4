"""VTEX (platform): what it asks for and the limits it imposes."""

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

# The account name (a credential) picks the host; there is no separate sandbox host.
BASE_URL_TEMPLATE = "https://{account_name}.vtexcommercestable.com.br"
# Per-SKU writes open at once. With the soak test's faults (a 429's 1 s Retry-After, a 1 s
# timeout, a backoff: ~0.14 s a request on average) one request at a time keeps ~7/s; six
# keep the declared 30/s within reach, and stay within requests.Session's pool of 10
# connections per host (urllib3's default), so none is opened and dropped per request.
MAX_IN_FLIGHT = 6

SPEC = VendorSpec(
    key="vtex",
    label="VTEX",
    category=Category.PLATFORM,
    credential_fields=(
        CredentialField(
            "account_name",
            _("Account name"),
            help_text=_(
                "The store's VTEX account, as in https://{account}.vtexcommercestable.com.br."
            ),
        ),
        CredentialField("app_key", _("App key"), secret=True, unique=True),
        CredentialField("app_token", _("App token"), secret=True, unique=True),
        CredentialField(
            "warehouse_id",
            _("VTEX warehouse id"),
            required=False,
            help_text=_("Default warehouse for stock when no stock-location de-para is set."),
        ),
    ),
    # Pricing API: 2,000 requests/minute with burst credits.
    # A 429 is about credits, not a block: "In the event of the Burst Credits reaching 0
    # (zero), the request is blocked with a Status 429 response. The credits fill up over time
    # when the route is not being used, in the same rate as the route's Rate Limiter"
    # (developers.vtex.com/docs/guides/pricing-api-overview, "Rate Limits"; the same guide
    # documents the Retry-After and rate-limit headers). A client paced under the rate earns
    # credits back while the refused request waits its Retry-After: nothing to hold the
    # other requests for (retry_after_blocks_account=False). The limits are per second and
    # per account; VTEX documents no cap on open connections, and writes take one SKU per
    # request, so stock and prices keep a few requests open (max_in_flight), paced by the
    # channel's one limiter.
    limits=VendorLimits(
        requests_per_second=30.0,
        burst=60,
        retry_after_blocks_account=False,
        flows={
            Flow.STOCK: FlowLimits(1, 5000, 1, 500, 5, max_in_flight=MAX_IN_FLIGHT),
            Flow.PRICE: FlowLimits(1, 5000, 1, 500, 15, max_in_flight=MAX_IN_FLIGHT),
            Flow.ORDERS: FlowLimits(10, 1000, 1, 100, 2),
            # One order per call (invoice, tracking, delivered, cancel); an invoice costs up to
            # three (read, start-handling, invoice) within the OMS's 6,000/minute.
            FULFILMENT: FlowLimits(1, 1000, 1, 100, 5),
            # One product per call (vendors/vtex/catalog.py): a read by RefId, then a request
            # per product / SKU / EAN / image / specification written. The Catalog API allows
            # 45,000 requests/minute per account and 15,000 per route
            # (developers.vtex.com/docs/api-reference/catalog-api); the channel's 30/s is
            # the tighter limit. A creation of 3 SKUs with 3 images each costs ~17 requests,
            # so 100 products a run fit in about a minute.
            Flow.CATALOG: FlowLimits(1, 1000, 5, 100, 30),
        },
    ),
    # Stock per warehouse: PATCH /api/logistics/pvt/inventory/skus/{skuId}/warehouses/
    # {warehouseId}/quantity (logistics.json).
    capabilities=frozenset(
        {
            Capability.ORDER_FEED_ACK,
            Capability.OTHER_INTEGRATIONS,
            Capability.STOCK_PER_LOCATION,
            # orders.json: invoice, tracking on the invoice (PATCH), delivered (tracking
            # status isDelivered), cancel. Tracking goes on an invoice: invoice first.
            Capability.FULFIL_INVOICE,
            Capability.FULFIL_TRACKING,
            Capability.FULFIL_DELIVERED,
            Capability.FULFIL_CANCEL,
            Capability.SHIPPING_NEEDS_INVOICE,
            # catalog.json: products, SKUs, EANs, SKU files by URL, SKU specifications; the
            # category tree, brand list and specification fields / values by category.
            Capability.NOTIFICATIONS,
            Capability.CATALOG_CREATE,
            Capability.CATALOG_UPDATE,
            Capability.CATALOG_IMAGES,
            Capability.CATALOG_CATEGORIES,
            Capability.CATALOG_BRANDS,
            Capability.CATALOG_ATTRIBUTES,
        }
    ),
    base_urls={Environment.PRODUCTION: BASE_URL_TEMPLATE, Environment.SANDBOX: BASE_URL_TEMPLATE},
)
