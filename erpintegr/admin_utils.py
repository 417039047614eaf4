"""Small admin pieces shared by the apps."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class ReadOnlyAdminMixin:
    """For logs and queues the engine writes: viewable, never added or edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OpenResolvedFilter(admin.SimpleListFilter):
    """Open / resolved rows by `resolved_at`. Uses the plain lookup as its parameter, so links
    built elsewhere (?resolved_at__isnull=True) select this filter's choice."""

    title = _("state")
    parameter_name = "resolved_at__isnull"

    def lookups(self, request, model_admin):
        return [("True", _("Open")), ("False", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() in ("True", "False"):
            return queryset.filter(resolved_at__isnull=self.value() == "True")
        return queryset
