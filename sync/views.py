"""The sync health page: every channel's freshness on one screen (staff only)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from erp.selectors import visible_company_ids
from sync.selectors import LATE_INTERVALS, LATE_MINIMUM, channels_health
from sync.services.push import PUSH_FLOWS
from sync.services.sweep import SWEEP_ALERT_DAYS
from vendors.spec import Flow


def sync_health(request: HttpRequest) -> HttpResponse:
    """Wrapped in admin.site.admin_view in erpintegr/urls.py (active staff); the page lists
    every channel, its errors and its vendor accounts, so it asks what the channel list asks:
    permission to view sales channels, and shows the channels of the user's companies only."""
    if not request.user.has_perm("channels.view_saleschannel"):
        raise PermissionDenied
    rows = channels_health(company_ids=visible_company_ids(request.user))
    try:
        runs_url = reverse("admin:sync_syncrun_changelist")
        quarantined_url = reverse("admin:sync_quarantinedorder_changelist")
    except NoReverseMatch:
        runs_url = quarantined_url = None
    context = {
        **admin.site.each_context(request),
        "title": _("Sync health"),
        "rows": rows,
        "push_flows": [Flow(flow).label for flow in PUSH_FLOWS],
        "late_count": sum(1 for row in rows if row.late),
        "late_intervals": LATE_INTERVALS,
        "late_minimum_minutes": int(LATE_MINIMUM.total_seconds() // 60),
        "sweep_alert_days": SWEEP_ALERT_DAYS,
        "runs_url": runs_url,
        "quarantined_url": quarantined_url,
    }
    return TemplateResponse(request, "admin/sync/health.html", context)
