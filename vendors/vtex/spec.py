"""VTEX (platform): what it asks for and the limits it imposes."""

from django.utils.translation import gettext_lazy as _

from vendors.spec import (
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
    limits=VendorLimits(
        requests_per_second=30.0,
        burst=60,
        flows={
            Flow.STOCK: FlowLimits(1, 5000, 1, 500, 5),
            Flow.PRICE: FlowLimits(1, 5000, 1, 500, 15),
            Flow.ORDERS: FlowLimits(10, 1000, 1, 100, 2),
        },
    ),
    # Stock per warehouse: PATCH /api/logistics/pvt/inventory/skus/{skuId}/warehouses/
    # {warehouseId}/quantity (logistics.json).
    capabilities=frozenset(
        {
            Capability.ORDER_FEED_ACK,
            Capability.OTHER_INTEGRATIONS,
            Capability.STOCK_PER_LOCATION,
        }
    ),
    unsupported_flows={
        Flow.CATALOG: _(
            "Products and SKUs are registered in the VTEX admin; the ERP matches them "
            "by RefId and sends stock and price."
        ),
    },
    base_urls={Environment.PRODUCTION: BASE_URL_TEMPLATE, Environment.SANDBOX: BASE_URL_TEMPLATE},
)
