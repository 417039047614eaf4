"""How the engine hears about ERP, channel and de-para changes."""

from django.db import transaction


def on_skus_changed(sender, signal=None, **kwargs) -> None:
    # Same transaction as the ERP change: the pending rows commit or roll back with it.
    from sync.services.pending import pending_record_announcement

    pending_record_announcement(**kwargs)


def on_order_fulfilment_changed(sender, signal=None, **kwargs) -> None:
    # Same transaction as the ERP change: the outbox row commits or rolls back with it.
    from sync.services.fulfilment import fulfilment_record_announcement

    fulfilment_record_announcement(**kwargs)


def on_channel_changed(sender, *, channel_id: int, **kwargs) -> None:
    from sync.services.schedules import schedules_reconcile_channel

    transaction.on_commit(lambda: schedules_reconcile_channel(channel_id=channel_id))


def on_notification_url_changed(sender, *, channel_id: int, **kwargs) -> None:
    """Give the vendor the new URL where the integration registers itself (VTEX): HTTP, so
    in a task after the commit."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(
            "sync.tasks.register_notifications",
            channel_id,
            task_name=f"erpintegr:notifications:{channel_id}",
        )
    )


def on_mapping_created(sender, *, channel_id: int, **kwargs) -> None:
    """A new de-para row may complete held orders: reprocess them in a task. A carrier +
    service row may also be the reverse de-para a held fulfilment event waits for: those go
    back to pending (one UPDATE; the next fulfilment run sends them). A catalog row (category,
    brand, attribute) may be what a waiting product lacks: its SKUs go back to pending."""
    from django_q.tasks import async_task

    from mappings.models import CATALOG_KINDS, MappingKind
    from sync.models import HeldOrder
    from sync.services.fulfilment import fulfilment_release_held

    if kwargs.get("kind") == MappingKind.CARRIER_SERVICE:
        fulfilment_release_held(channel_id=channel_id)
    if kwargs.get("kind") in CATALOG_KINDS:
        # Products waiting for a catalog de-para go back to pending (the next catalog run).
        from sync.services.catalog import catalog_release_waiting

        catalog_release_waiting(channel_id=channel_id, mapping=kwargs.get("mapping"))

    if HeldOrder.objects.filter(channel_id=channel_id, resolved_at__isnull=True).exists():
        transaction.on_commit(
            lambda: async_task(
                "sync.tasks.reprocess_held_orders",
                channel_id,
                task_name=f"erpintegr:reprocess:{channel_id}",
            )
        )
