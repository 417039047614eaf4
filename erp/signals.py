"""What the ERP announces to whoever integrates it.

`skus_changed` is sent by `erp.services` inside the same transaction as the change, so a
listener that records pending work (sync's PendingChange rows) commits or rolls back together
with the change itself: a crash can never leave a change that nobody will push.
"""

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _


class ChangeKind(models.TextChoices):
    STOCK = "stock", _("Stock")
    PRICE = "price", _("Price")
    CATALOG = "catalog", _("Catalog")


# kwargs: company_id: int, kind: ChangeKind, sku_ids: frozenset[int],
#         warehouse_ids: frozenset[int] | None (stock), price_list_id: int | None (price),
#         source_channel_id: int | None (the sales channel the change came from)
skus_changed = Signal()


class FulfilmentKind(models.TextChoices):
    """What happened to an order after it was sold, in the order a channel must hear it."""

    INVOICE = "invoice", _("Invoiced")
    SHIP = "ship", _("Shipped")
    DELIVER = "deliver", _("Delivered")
    CANCEL = "cancel", _("Canceled")


# Sent by erp.services.order_invoice / order_ship / order_deliver / order_cancel inside the
# same transaction as the change (the order row is locked), once per change, after the
# invoice / shipment / cancellation is saved, so a listener may read them.
# kwargs: company_id: int, order_id: int, kind: FulfilmentKind,
#         status: str (the order's new erp.models.OrderStatus),
#         channel_id: int | None (the sales channel the order came from; None when the order
#         was typed in the ERP — an opaque id to this app)
order_fulfilment_changed = Signal()
