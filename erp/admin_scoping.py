"""Company scope in the admin: a user sees and edits only their companies' data.

`erp.selectors.visible_company_ids` decides who sees what; this module applies it to the admin:

- `CompanyScopedAdminMixin` on every admin (and inline) of company data. `company_field` is the
  lookup path from the model to its company ("company", "channel__company", "pk" for Company).
  It narrows get_queryset (so the changelist, actions, CSV export, autocomplete results when the
  model is a target, per-object custom pages and change/delete/history pages follow it), answers
  404 for an object outside the scope, narrows the choices of every foreign key and many-to-many
  to a company-scoped model (so a form naming another company's channel, SKU, warehouse… is
  refused by validation), and swaps related list filters for `CompanyScopedRelatedFilter`.
- `AllCompaniesOnlyAdminMixin` on admins of records that belong to no company (users, groups,
  the task queue): only users who see every company get them. `restrict_unscoped_admins`
  adds it to every registered admin that has neither mixin, so an admin registered later
  (ours or a library's) is closed to company users until it is scoped on purpose.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.http import Http404
from django.utils.translation import gettext as _

from erp.selectors import company_scope_q, scope_to_companies, user_sees_all_companies


def related_company_field(admin_site: admin.AdminSite, model) -> str | None:
    """The company path of `model` as its registered admin declares it; None when the model
    is not company data (or not registered)."""
    model_admin = admin_site._registry.get(model)
    if isinstance(model_admin, CompanyScopedAdminMixin):
        return model_admin.company_field
    return None


class CompanyScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A related-field list filter listing only the user's companies' objects (channels,
    companies, warehouses…), in one query."""

    def field_choices(self, field, request, model_admin):
        path = related_company_field(model_admin.admin_site, field.related_model)
        condition = company_scope_q(request.user, path) if path else None
        if condition is None:
            return super().field_choices(field, request, model_admin)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=condition)


class CompanyScopedAdminMixin:
    """For ModelAdmin and InlineModelAdmin classes of company data; put it first in the bases."""

    company_field: str = "company"

    def get_queryset(self, request):
        return scope_to_companies(
            super().get_queryset(request), user=request.user, company_field=self.company_field
        )

    def get_object(self, request, object_id, from_field=None):
        # Missing and another company's answer alike: a 404 that tells nothing about which
        # ids exist (Django would redirect to the index with "doesn't exist" instead).
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(
                _("No %(model)s with this id.") % {"model": self.model._meta.verbose_name}
            )
        return obj

    def _scoped_choices(self, db_field, request, kwargs: dict) -> dict:
        path = related_company_field(self.admin_site, db_field.related_model)
        condition = company_scope_q(request.user, path) if path else None
        if condition is None:
            return kwargs
        queryset = kwargs.get("queryset")
        if queryset is None:
            using = kwargs.get("using")
            queryset = self.get_field_queryset(using, db_field, request)
            if queryset is None:
                queryset = db_field.related_model._default_manager.using(using)
        kwargs["queryset"] = queryset.filter(condition)
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request):
        scoped = []
        for item in super().get_list_filter(request):
            if isinstance(item, str):
                field = get_fields_from_path(self.model, item)[-1]
                if (
                    field.is_relation
                    and not field.auto_created
                    and related_company_field(self.admin_site, field.related_model) is not None
                ):
                    item = (item, CompanyScopedRelatedFilter)
            scoped.append(item)
        return scoped


class AllCompaniesOnlyAdminMixin:
    """For admins of records that belong to no company: only users who see every company
    (superusers, settings.COMPANY_SCOPE_ALL_GROUPS) get them, with their usual permissions."""

    def has_module_permission(self, request):
        return user_sees_all_companies(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return user_sees_all_companies(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return user_sees_all_companies(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return user_sees_all_companies(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return user_sees_all_companies(request.user) and super().has_delete_permission(request, obj)


def restrict_unscoped_admins(admin_site: admin.AdminSite) -> list[str]:
    """Re-register every admin that is neither company-scoped nor all-companies-only with
    `AllCompaniesOnlyAdminMixin` added; returns the models it closed. Idempotent."""
    closed = []
    for model, model_admin in list(admin_site._registry.items()):
        if isinstance(model_admin, (CompanyScopedAdminMixin, AllCompaniesOnlyAdminMixin)):
            continue
        admin_class = type(model_admin)
        restricted = type(
            admin_class.__name__,
            (AllCompaniesOnlyAdminMixin, admin_class),
            {"__module__": admin_class.__module__},
        )
        admin_site.unregister(model)
        admin_site.register(model, restricted)
        closed.append(model._meta.label)
    return closed
