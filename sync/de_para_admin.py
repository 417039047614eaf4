"""“Fill de-para…” on the sales channel page: the values the vendor lists, each proposed as a
de-para row with the suggested ERP value preselected, confirmed or edited in one form.

Thin: the page reads the vendor through `sync.services.de_para.de_para_proposals` (the
channel's connector) and writes through `mappings.services.mappings_create_many`, the service
the demo's go-live uses too. Company-scoped and permission-checked like the channel's other
pages: the channel comes from the admin's `get_object` (another company's is a 404), the user
needs the change permission on it and the add permission of each de-para kind it writes.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.admin import register_channel_object_tool, register_channel_urls
from channels.models import SalesChannel
from erp.models import CarrierService, OrderStatus, PaymentMethod, Warehouse
from mappings.models import MAPPING_MODELS, MappingKind
from mappings.selectors import LookupRequest, canonical_parts
from mappings.services import mappings_create_many
from sync.services.de_para import de_para_proposals
from vendors.errors import ConnectorError

TEMPLATE = "admin/sync/fill_de_para.html"
URL_NAME = "fill_de_para"


def allowed_kinds(user) -> set[str]:
    """The de-para kinds `user` may add rows to."""
    return {
        kind
        for kind, model in MAPPING_MODELS.items()
        if user.has_perm(f"mappings.add_{model._meta.model_name}")
    }


class ErpTargets:
    """The company's ERP values per de-para kind, as select choices and back: one query per
    ERP table, whatever the number of rows on the page."""

    def __init__(self, company_id: int, kinds: set[str]) -> None:
        self.objects: dict[str, dict[str, object]] = {}
        if MappingKind.CARRIER_SERVICE in kinds:
            self.objects[MappingKind.CARRIER_SERVICE] = {
                str(s.pk): s
                for s in CarrierService.objects.filter(carrier__company_id=company_id)
                .select_related("carrier")
                .order_by("carrier__name", "name")
            }
        if MappingKind.PAYMENT_METHOD in kinds:
            self.objects[MappingKind.PAYMENT_METHOD] = {
                str(m.pk): m
                for m in PaymentMethod.objects.filter(company_id=company_id).order_by("name")
            }
        if MappingKind.ORDER_STATUS in kinds:
            self.objects[MappingKind.ORDER_STATUS] = {value: value for value in OrderStatus.values}
        if MappingKind.STOCK_LOCATION in kinds:
            self.objects[MappingKind.STOCK_LOCATION] = {
                str(w.pk): w
                for w in Warehouse.objects.filter(company_id=company_id).order_by("code")
            }

    def choices(self, kind: str) -> list[tuple[str, str]]:
        if kind == MappingKind.ORDER_STATUS and kind in self.objects:
            return [(value, str(label)) for value, label in OrderStatus.choices]
        return [(key, str(obj)) for key, obj in self.objects.get(kind, {}).items()]

    def key_of(self, target) -> str:
        if target is None:
            return ""
        return str(target) if isinstance(target, str) else str(target.pk)

    def get(self, kind: str, key: str):
        return self.objects.get(kind, {}).get(key)


class ProposalForm(forms.Form):
    """One proposed row: the vendor's value (hidden, shown as text) and the ERP value."""

    apply = forms.BooleanField(label=gettext_lazy("Create"), required=False)
    kind = forms.ChoiceField(choices=MappingKind.choices, widget=forms.HiddenInput)
    code = forms.CharField(max_length=120, required=False, widget=forms.HiddenInput)
    label = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    parent_code = forms.CharField(max_length=120, required=False, widget=forms.HiddenInput)
    parent_label = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    suggested = forms.BooleanField(required=False, widget=forms.HiddenInput)
    covered_by_fallback = forms.BooleanField(required=False, widget=forms.HiddenInput)
    target = forms.ChoiceField(label=gettext_lazy("ERP value"), required=False)

    def __init__(self, *args, targets: ErpTargets, kinds: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.targets, self.kinds = targets, kinds
        kind = self.initial.get("kind") or self.data.get(self.add_prefix("kind"), "")
        self.fields["target"].choices = [("", "—"), *targets.choices(kind)]

    def clean(self):
        data = super().clean()
        if not data.get("apply"):
            return data
        if data.get("kind") not in self.kinds:
            raise forms.ValidationError(_("You may not add this kind of de-para row."))
        if not data.get("target"):
            self.add_error("target", _("Choose the ERP value, or untick the row."))
        if not (data.get("code") or data.get("parent_code")):
            raise forms.ValidationError(_("This row has no channel value."))
        return data

    # --- what the page shows of the row ---------------------------------------------------

    def _bound(self, name: str):
        return self[name].value() or ""

    @property
    def kind_label(self) -> str:
        kind = self._bound("kind")
        return MappingKind(kind).label if kind in MappingKind.values else kind

    @property
    def channel_value(self) -> str:
        code, label = self._bound("code"), self._bound("label")
        if self._bound("kind") == MappingKind.CARRIER_SERVICE:
            carrier = self._bound("parent_code")
            if self._bound("parent_label") and self._bound("parent_label") != carrier:
                carrier = f"{carrier} ({self._bound('parent_label')})"
            service = code or _("any service")
            if label and label != code:
                service = f"{service} ({label})"
            return f"{carrier} / {service}"
        return f"{code} ({label})" if label and label != code else code

    @property
    def note(self) -> str:
        if self["covered_by_fallback"].value() in (True, "True"):
            return _("Answered today by the “anything else” row.")
        if self["suggested"].value() in (True, "True"):
            return _("Suggested")
        return _("No suggestion: pick the ERP value.")

    def reference_value(self) -> LookupRequest:
        data = self.cleaned_data
        return LookupRequest(
            data["kind"],
            data["code"],
            data["label"],
            data["parent_code"],
            parent_label=data["parent_label"],
        )


ProposalFormSet = forms.formset_factory(ProposalForm, extra=0)


def _change_url(channel: SalesChannel) -> str:
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def fill_de_para_view(model_admin, request, object_id):
    """GET: read the vendor's values and propose the missing rows. POST: create the ticked
    rows (the values travel in the form: nothing is read from the vendor again)."""
    channel = model_admin.get_object(request, unquote(object_id))
    if channel is None:
        raise Http404(_("No sales channel with this id."))
    if not model_admin.has_change_permission(request, channel):
        raise PermissionDenied
    kinds = allowed_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    targets = ErpTargets(channel.company_id, kinds)
    form_kwargs = {"targets": targets, "kinds": kinds}
    label = channel.vendor.label
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Fill the de-para of “%(channel)s” from %(vendor)s")
        % {"channel": channel, "vendor": label},
        "subtitle": None,
        "channel": channel,
        "vendor": label,
        "change_url": _change_url(channel),
    }
    if request.method == "POST":
        formset = ProposalFormSet(request.POST, form_kwargs=form_kwargs)
        if formset.is_valid():
            rows = [
                (
                    form.reference_value(),
                    targets.get(form.cleaned_data["kind"], form.cleaned_data["target"]),
                )
                for form in formset.forms
                if form.cleaned_data.get("apply")
            ]
            if rows:
                return _create(model_admin, request, channel, rows)
            messages.warning(request, _("No row is ticked: nothing was created."))
        return TemplateResponse(request, TEMPLATE, {**context, "formset": formset})
    try:
        proposals = de_para_proposals(channel=channel)
    except ConnectorError as exc:
        context["vendor_error"] = _("Could not read %(vendor)s's values: %(error)s") % {
            "vendor": label,
            "error": exc,
        }
        return TemplateResponse(request, TEMPLATE, context)
    proposals = [p for p in proposals if p.kind in kinds]
    formset = ProposalFormSet(
        initial=[
            {
                "apply": p.suggestion is not None and not p.covered_by_fallback,
                "kind": p.kind,
                "code": p.code,
                "label": p.label,
                "parent_code": p.parent_code,
                "parent_label": p.parent_label,
                "suggested": p.suggestion is not None,
                "covered_by_fallback": p.covered_by_fallback,
                "target": targets.key_of(p.suggestion),
            }
            for p in proposals
        ],
        form_kwargs=form_kwargs,
    )
    return TemplateResponse(request, TEMPLATE, {**context, "formset": formset})


def _create(model_admin, request, channel: SalesChannel, rows) -> HttpResponseRedirect:
    outcome = mappings_create_many(channel=channel, rows=rows)
    created = len(outcome.created)
    if created:
        model_admin.message_user(
            request,
            _("De-para rows created from %(vendor)s's values: %(count)d.")
            % {"count": created, "vendor": channel.vendor.label},
            messages.SUCCESS,
        )
        model_admin.log_change(
            request,
            channel,
            _("Filled the de-para from the vendor's values (rows created: %(count)d).")
            % {"count": created},
        )
    for value, reason in outcome.failed:
        _kind, code, _label, parent_code, _parent_label = canonical_parts(value)
        model_admin.message_user(
            request,
            _("%(value)s was not created: %(reason)s")
            % {"value": " / ".join(part for part in (parent_code, code) if part), "reason": reason},
            messages.ERROR,
        )
    return HttpResponseRedirect(_change_url(channel))


def fill_de_para_urls(model_admin) -> list:
    def view(request, object_id):
        return fill_de_para_view(model_admin, request, object_id)

    opts = model_admin.model._meta
    return [
        path(
            "<path:object_id>/fill-de-para/",
            model_admin.admin_site.admin_view(view),
            name=f"{opts.app_label}_{opts.model_name}_{URL_NAME}",
        )
    ]


def fill_de_para_tools(channel: SalesChannel, request) -> list[tuple[str, str]]:
    if not request.user.has_perm("channels.change_saleschannel") or not allowed_kinds(request.user):
        return []
    url = reverse(f"admin:channels_saleschannel_{URL_NAME}", args=[channel.pk])
    return [(_("Fill de-para from %(vendor)s…") % {"vendor": channel.vendor.label}, url)]


def register_channel_hooks() -> None:
    register_channel_urls(fill_de_para_urls)
    register_channel_object_tool(fill_de_para_tools)
