from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_maintenance_schedules(sender, using="default", **kwargs) -> None:
    """After every migrate (make run, each release): the daily housekeeping schedules exist."""
    from sync.services.schedules import schedules_reconcile_maintenance

    schedules_reconcile_maintenance()


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("Sync engine")

    def ready(self) -> None:
        from channels.signals import channel_changed, notification_url_changed
        from erp.signals import order_fulfilment_changed, skus_changed
        from mappings.signals import mapping_created
        from sync import receivers

        skus_changed.connect(receivers.on_skus_changed, dispatch_uid="sync.pending")
        order_fulfilment_changed.connect(
            receivers.on_order_fulfilment_changed, dispatch_uid="sync.fulfilment_outbox"
        )
        channel_changed.connect(receivers.on_channel_changed, dispatch_uid="sync.schedules")
        mapping_created.connect(receivers.on_mapping_created, dispatch_uid="sync.held_orders")
        notification_url_changed.connect(
            receivers.on_notification_url_changed, dispatch_uid="sync.notification_setup"
        )
        post_migrate.connect(
            _ensure_maintenance_schedules, sender=self, dispatch_uid="sync.maintenance"
        )

        # After MappingsConfig.ready() (INSTALLED_APPS order): see channels/admin.py.
        from sync.admin import register_channel_hooks

        register_channel_hooks()
