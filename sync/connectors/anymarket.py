"""ANYMARKET (integrator). Wire format: shared/channel-apis.md."""

from sync.connectors.base import (
    Connector,
    Capability,
    Category,
    CredentialField,
    Environment,
    Flow,
    FlowLimits,
    VendorLimits,
)

PRODUCTION_BASE_URL = "http://api.anymarket.com.br/v2"
SANDBOX_BASE_URL = "http://sandbox-api.anymarket.com.br/v2"


class AnymarketConnector(Connector):
    key = "anymarket"
    label = "ANYMARKET"
    category = Category.INTEGRATOR
    credential_fields = (
        CredentialField(
            "gumga_token",
            "gumgaToken",
            secret=True,
            unique=True,
            help_text="The account's token for this environment (production and sandbox differ).",
        ),
    )
    # 5,000 requests/hour per token.
    limits = VendorLimits(
        requests_per_second=1.35,
        burst=5,
        flows={
            Flow.STOCK: FlowLimits(500, 5000, 1, 500, 5),
            Flow.PRICE: FlowLimits(1, 2000, 5, 200, 15),
            Flow.ORDERS: FlowLimits(100, 1000, 1, 100, 2),
        },
    )
    capabilities = frozenset({Capability.ORDER_FEED_ACK, Capability.SINGLE_BACK_OFFICE})
    unsupported_flows = {
        Flow.CATALOG: "Products are published from ANYMARKET to each marketplace; the ERP sends "
        "stock and price to SKUs matched by partnerId.",
    }

    @classmethod
    def default_base_url(cls, environment, credentials):
        return SANDBOX_BASE_URL if environment == Environment.SANDBOX else PRODUCTION_BASE_URL
