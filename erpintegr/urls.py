from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from sync.views import sync_health

admin.site.site_header = "erpintegr — sales channel integrations"
admin.site.site_title = "erpintegr"
admin.site.index_title = "Integration hub"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/sync/health/", admin.site.admin_view(sync_health), name="sync_health"),
    path("admin/", admin.site.urls),
]
