from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "erp"
    verbose_name = _("ERP records")

    def ready(self):
        # Every admin is registered by now: django.contrib.admin comes first in INSTALLED_APPS
        # and its ready() imports every app's admin module. Close the admins that are not
        # company-scoped (users, groups, django-q2's task pages) to company users.
        from django.contrib import admin

        from erp.admin_scoping import restrict_unscoped_admins

        restrict_unscoped_admins(admin.site)
