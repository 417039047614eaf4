from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

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
    # set_language: the language switch in the admin header (POST, CSRF-protected).
    path("i18n/", include("django.conf.urls.i18n")),
]
