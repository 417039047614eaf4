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
