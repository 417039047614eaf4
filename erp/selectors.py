"""Reads about the ERP's records that several apps need.

Company scope: which companies' data a user sees in the admin. Every admin queryset, choice
list, list filter, CSV form and custom page filters by `visible_company_ids` (through
`erp.admin_scoping`), so this is the one place that decides visibility.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from erp.models import CompanyMembership

# Cached on the user object like Django's own permission cache (`_perm_cache`): request.user
# lives for one request, so the scope costs at most two queries per request, whatever the page.
_CACHE_ATTR = "_erp_visible_company_ids"


def user_sees_all_companies(user) -> bool:
    """Superusers and members of a group in settings.COMPANY_SCOPE_ALL_GROUPS (by default
    "Support", who activate every company's integrations) see every company."""
    return visible_company_ids(user) is None


def visible_company_ids(user) -> frozenset[int] | None:
    """Ids of the companies whose data `user` may see; None means every company.

    Inactive and anonymous users see none. The answer is cached on the user object for its
    lifetime (one request); load the user again to see a membership change.
    """
    try:
        return getattr(user, _CACHE_ATTR)
    except AttributeError:
        pass
    result: frozenset[int] | None
    if user is None or not user.is_authenticated or not user.is_active:
        result = frozenset()
    elif user.is_superuser:
        result = None
    elif (
        settings.COMPANY_SCOPE_ALL_GROUPS
        and user.groups.filter(name__in=settings.COMPANY_SCOPE_ALL_GROUPS).exists()
    ):
        result = None
    else:
        result = frozenset(
            CompanyMembership.objects.filter(user=user).values_list("company_id", flat=True)
        )
    if user is not None:
        setattr(user, _CACHE_ATTR, result)
    return result


def company_scope_q(user, company_field: str) -> Q | None:
    """The filter that keeps `user`'s companies, `company_field` being the lookup path from the
    model to its company ("company", "channel__company", "pk" for Company itself); None when
    the user sees every company."""
    ids = visible_company_ids(user)
    if ids is None:
        return None
    return Q(**{f"{company_field}__in": sorted(ids)})


def scope_to_companies(queryset: QuerySet, *, user, company_field: str) -> QuerySet:
    """`queryset` narrowed to `user`'s companies: one IN on the row's company (a JOIN when the
    path crosses a relation), never a query per row."""
    condition = company_scope_q(user, company_field)
    return queryset if condition is None else queryset.filter(condition)
