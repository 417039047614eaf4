from django.apps import AppConfig


class MappingsConfig(AppConfig):
    name = "mappings"
    verbose_name = "De-para (value mappings)"

    def ready(self) -> None:
        # Here, not at import time, so the channel page's order follows INSTALLED_APPS
        # (channels/admin.py documents it): mappings' hooks before sync's.
        from mappings.admin import register_channel_hooks

        register_channel_hooks()
