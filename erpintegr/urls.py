from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from erp.views import product_image_file
from sync.notifications import notification_receive
from sync.views import sync_health

admin.site.site_header = _("erpintegr — sales channel integrations")
admin.site.site_title = "erpintegr"
admin.site.index_title = _("Integration hub")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/sync/health/", admin.site.admin_view(sync_health), name="sync_health"),
    path("admin/", admin.site.urls),
    # Vendors' notifications (sync.notifications): the token is the channel's, never logged.
    path("notifications/<str:token>/", notification_receive, name="notification_receive"),
    # Uploaded product images, public: the channels download them (erp.views).
    path(
        f"{settings.MEDIA_URL.strip('/')}/products/<int:company_id>/<str:name>",
        product_image_file,
        name="product_image_file",
    ),
    # set_language: the language switch in the admin header (POST, CSRF-protected).
    path("i18n/", include("django.conf.urls.i18n")),
]
