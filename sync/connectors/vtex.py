"""VTEX (platform). Wire format: shared/vendor-specs/vtex/ (official OpenAPI)."""

from sync.connectors.base import (
    Connector,
    Capability,
    Category,
    CredentialField,
    Flow,
    FlowLimits,
    VendorLimits,
)


class VtexConnector(Connector):
    key = "vtex"
    label = "VTEX"
    category = Category.PLATFORM
    credential_fields = (
        CredentialField(
            "account_name",
            "Account name",
            help_text="The store's VTEX account, as in https://{account}.vtexcommercestable.com.br.",
        ),
        CredentialField("app_key", "App key", secret=True, unique=True),
        CredentialField("app_token", "App token", secret=True, unique=True),
        CredentialField(
            "warehouse_id",
            "VTEX warehouse id",
            required=False,
            help_text="Default warehouse for stock when no stock-location de-para is set.",
        ),
    )
    # Pricing API: 2,000 requests/minute with burst credits.
    limits = VendorLimits(
        requests_per_second=30.0,
        burst=60,
        flows={
            Flow.STOCK: FlowLimits(1, 5000, 1, 500, 5),
            Flow.PRICE: FlowLimits(1, 5000, 1, 500, 15),
            Flow.ORDERS: FlowLimits(10, 1000, 1, 100, 2),
        },
    )
    capabilities = frozenset({Capability.ORDER_FEED_ACK, Capability.OTHER_INTEGRATIONS})
    unsupported_flows = {
        Flow.CATALOG: "Products and SKUs are registered in the VTEX admin; the ERP matches them "
        "by RefId and sends stock and price.",
    }

    @classmethod
    def default_base_url(cls, environment, credentials):
        account = (credentials or {}).get("account_name") or "{accountName}"
        return f"https://{account}.vtexcommercestable.com.br"
