from django.apps import AppConfig


class ErpintegrConfig(AppConfig):
    name = "erpintegr"
    verbose_name = "erpintegr"

    def ready(self) -> None:
        from erpintegr import checks  # noqa: F401  (registers the system checks)
