from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "channels"
    # The back office's menu: CRM › Canais de venda (the model's plural name).
    verbose_name = _("CRM")
