from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "erpintegr — sales channel integrations"
admin.site.site_title = "erpintegr"
admin.site.index_title = "Integration hub"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
