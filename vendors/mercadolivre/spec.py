"""Mercado Livre (marketplace): what it asks for and the limits it imposes."""

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

PRODUCTION_BASE_URL = "https://api.mercadolibre.com"

SPEC = VendorSpec(
    # The token refresh runs under the channel's row lock (on SQLite, the database's write
    # lock, which other writers wait 20 s for): 3 s to connect + 10 s to answer at most.
    locked_call_timeout=(3.0, 10.0),
    key="mercadolivre",
    label="Mercado Livre",
    category=Category.MARKETPLACE,
    credential_fields=(
        CredentialField(
            "client_id", _("App ID (client id)"), help_text=_("From your Mercado Livre app.")
        ),
        CredentialField("client_secret", _("Secret key (client secret)"), secret=True),
        CredentialField(
            "refresh_token",
            _("Refresh token"),
            secret=True,
            unique=True,
            help_text=_(
                "TG-… token from the seller's authorization. It is single-use: erpintegr "
                "stores each new one it receives."
            ),
        ),
        CredentialField(
            "access_token", _("Access token"), secret=True, required=False, managed=True
        ),
        CredentialField(
            "access_token_expires_at", _("Access token expiry"), required=False, managed=True
        ),
    ),
    # 18,000 requests/hour per app = 5/s sustained.
    limits=VendorLimits(
        requests_per_second=5.0,
        burst=10,
        flows={
            Flow.STOCK: FlowLimits(1, 2000, 1, 200, 5),
            Flow.PRICE: FlowLimits(1, 2000, 1, 200, 15),
            Flow.ORDERS: FlowLimits(50, 1000, 1, 200, 2),
            # One order per call; an event reads the order and its shipment before writing.
            FULFILMENT: FlowLimits(1, 1000, 1, 100, 5),
            # One product (item) per call (vendors/mercadolivre/catalog.py): a search by
            # SELLER_SKU, the category's attributes (once per category), POST /items and its
            # description for a new one; item + description reads, then only the differing
            # writes, for a known one. 100 products a run stay within a minute at 5/s.
            Flow.CATALOG: FlowLimits(1, 1000, 5, 100, 30),
        },
    ),
    # One price per item: "The price must be the same for each variation. Only the highest
    # price will be seen in the VIP and will also be taken into account at the time the
    # payment is made." (developers.mercadolivre.com.br/variacoes, "Considerações").
    capabilities=frozenset(
        {
            Capability.OTHER_INTEGRATIONS,
            Capability.OAUTH_REFRESH,
            Capability.ONE_PRICE_PER_ITEM,
            # Invoice: NF-e import (drop-off / cross-docking / Places) or the pack's fiscal
            # document; tracking and delivered for the seller's own shipments (me1, custom);
            # the ME2 label once released — after the NF-e where it waits for one. ME2
            # shipments are tracked and delivered by Mercado Envios itself: seller
            # notifications are for ME1 (developers.mercadolivre.com.br/
            # status-de-pedidos-rastreamento), so those events are settled "not applicable for
            # this order" (sync.services.fulfilment). No seller cancellation call: the Sales
            # guide (developers.mercadolivre.com.br/gerenciamento-de-vendas) documents none, so
            # FULFIL_CANCEL is not declared and the flow never calls it.
            Capability.FULFIL_INVOICE,
            Capability.FULFIL_TRACKING,
            Capability.FULFIL_DELIVERED,
            Capability.SHIPPING_LABEL,
            Capability.SHIPPING_NEEDS_INVOICE,
            # POST /items (variations by attribute_combinations), PUT /items/{id} title and
            # pictures, /items/{id}/description; the domain_discovery predictor; the
            # category's attributes with tags.required (developers.mercadolivre.com.br).
            Capability.NOTIFICATIONS,
            Capability.CATALOG_CREATE,
            Capability.CATALOG_UPDATE,
            Capability.CATALOG_IMAGES,
            Capability.CATALOG_ATTRIBUTES,
            Capability.CATEGORY_PREDICTOR,
            Capability.CATALOG_REQUIRED_ATTRIBUTES,
        }
    ),
    # No sandbox host: sandbox accounts are test users on the same host.
    base_urls={
        Environment.PRODUCTION: PRODUCTION_BASE_URL,
        Environment.SANDBOX: PRODUCTION_BASE_URL,
    },
)
