from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MappingsConfig(AppConfig):
    name = "mappings"
    verbose_name = _("De-para (value mappings)")

    def ready(self) -> None:
        # Here, not at import time, so the channel page's order follows INSTALLED_APPS
        # (channels/admin.py documents it): mappings' hooks before sync's.
        from mappings.admin import register_channel_hooks

        register_channel_hooks()
