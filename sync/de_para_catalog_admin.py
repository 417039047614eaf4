"""“Fill catalog de-para…” on the sales channel page: each ERP category, brand and attribute
value the channel's products use with no de-para row on the channel, offered with a searchable
list of the vendor's values (cached: sync.services.catalog_de_para) and the suggested one
preselected; the ticked rows are created in one POST.

Thin like sync.de_para_admin: reads through sync.services.catalog_de_para (the vendor only on
“Refresh from the vendor” or when the cache is older than ERPINTEGR_CATALOG_REFERENCE_HOURS),
writes through mappings.services.mappings_create_many (so mapping_created fires and the
channel's waiting catalog products go back to pending). Company-scoped and permission-checked
like the other channel pages: another company's channel is a 404, the user needs the change
permission on it and the add permission of each catalog de-para kind it writes.
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
from erp.models import AttributeValue, Brand, Category
from mappings.models import CATALOG_KINDS, MAPPING_MODELS, MappingKind
from mappings.selectors import LookupRequest
from mappings.services import mappings_create_many
from sync.services.catalog_de_para import (
    catalog_de_para,
    catalog_references_refresh,
    references_are_fresh,
    references_fetched_at,
)
from vendors.errors import ConnectorError

TEMPLATE = "admin/sync/fill_catalog_de_para.html"
URL_NAME = "fill_catalog_de_para"
ERP_MODELS = {
    MappingKind.CATEGORY: Category,
    MappingKind.BRAND: Brand,
    MappingKind.ATTRIBUTE: AttributeValue,
}


def allowed_catalog_kinds(user) -> set[str]:
    """The catalog de-para kinds `user` may add rows to."""
    return {
        kind
        for kind in CATALOG_KINDS
        if user.has_perm(f"mappings.add_{MAPPING_MODELS[kind]._meta.model_name}")
    }


class CatalogRowForm(forms.Form):
    """One ERP value (hidden: its kind and id) and the channel's value typed or picked."""

    apply = forms.BooleanField(label=gettext_lazy("Create"), required=False)
    kind = forms.ChoiceField(
        choices=[(k, k) for k in sorted(CATALOG_KINDS)], widget=forms.HiddenInput
    )
    target = forms.IntegerField(widget=forms.HiddenInput)
    attribute_code = forms.CharField(
        label=gettext_lazy("Channel attribute"), max_length=120, required=False
    )
    code = forms.CharField(label=gettext_lazy("Channel value"), max_length=120, required=False)

    def __init__(self, *args, kinds: set[str], company_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kinds, self.company_id = kinds, company_id
        self.erp_value = None
        self.extra = self.initial.get("extra") or {}

    def clean(self):
        data = super().clean()
        if not data.get("apply"):
            return data
        kind = data.get("kind")
        if kind not in self.kinds:
            raise forms.ValidationError(_("You may not add this kind of de-para row."))
        model = ERP_MODELS[kind]
        company_filter = (
            {"attribute__company_id": self.company_id}
            if model is AttributeValue
            else {"company_id": self.company_id}
        )
        self.erp_value = model.objects.filter(pk=data.get("target"), **company_filter).first()
        if self.erp_value is None:
            raise forms.ValidationError(_("This ERP value belongs to another company."))
        if not (data.get("code") or "").strip():
            self.add_error("code", _("Type or pick the channel's value, or untick the row."))
        if kind == MappingKind.ATTRIBUTE and not (data.get("attribute_code") or "").strip():
            self.add_error("attribute_code", _("Type or pick the channel's attribute."))
        return data


CatalogRowFormSet = forms.formset_factory(CatalogRowForm, extra=0)


def _change_url(channel: SalesChannel) -> str:
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def _rows(state, formset) -> list[dict]:
    """What the template shows per row: the form, the ERP value, its suggestion and the
    datalist id of the values to search."""
    proposals = {(p.kind, p.target.pk): p for p in state.proposals}
    rows = []
    for form in formset.forms:
        kind = form["kind"].value()
        try:
            target_id = int(form["target"].value())
        except (TypeError, ValueError):
            target_id = None
        proposal = proposals.get((kind, target_id))
        attribute = (form["attribute_code"].value() or "").strip()
        rows.append(
            {
                "form": form,
                "kind": kind,
                "kind_label": MappingKind(kind).label if kind in MappingKind.values else kind,
                "erp_value": str(proposal.target) if proposal else "",
                "suggestion": proposal.suggestion if proposal else None,
                "predicted_from": proposal.predicted_from if proposal else "",
                "list_id": f"catalog-values-{kind}"
                if kind != MappingKind.ATTRIBUTE
                else f"catalog-values-attribute-{attribute}",
            }
        )
    return rows


def _datalists(state) -> list[tuple[str, list]]:
    lists = [
        ("catalog-values-category", state.references.get("category", [])),
        ("catalog-values-brand", state.references.get("brand", [])),
        ("catalog-attributes", _unique(state.references.get("attribute", []))),
    ]
    for code in sorted({r.code for r in state.references.get("attribute", [])}):
        lists.append((f"catalog-values-attribute-{code}", state.values_of(code)))
    return lists


def _unique(refs) -> list:
    seen = {}
    for ref in refs:
        seen.setdefault(ref.code, ref)
    return list(seen.values())


def fill_catalog_de_para_view(model_admin, request, object_id):
    """GET: the rows to fill, from the cache (read from the vendor first when it is empty or
    too old). POST "refresh": read the vendor again. POST: create the ticked rows."""
    channel = model_admin.get_object(request, unquote(object_id))
    if channel is None:
        raise Http404(_("No sales channel with this id."))
    if not model_admin.has_change_permission(request, channel):
        raise PermissionDenied
    kinds = allowed_catalog_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    label = channel.vendor.label
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Fill the catalog de-para of “%(channel)s” from %(vendor)s")
        % {"channel": channel, "vendor": label},
        "subtitle": None,
        "channel": channel,
        "vendor": label,
        "change_url": _change_url(channel),
    }
    form_kwargs = {"kinds": kinds, "company_id": channel.company_id}
    refresh = request.method == "POST" and "refresh" in request.POST
    if refresh or (
        request.method == "GET" and not references_are_fresh(references_fetched_at(channel))
    ):
        try:
            catalog_references_refresh(channel=channel)
        except ConnectorError as exc:
            context["vendor_error"] = _("Could not read %(vendor)s's values: %(error)s") % {
                "vendor": label,
                "error": exc,
            }
        else:
            if refresh:
                messages.success(
                    request, _("The values were read again from %(vendor)s.") % {"vendor": label}
                )
                return HttpResponseRedirect(request.path)
    state = catalog_de_para(channel=channel, kinds=kinds)
    context.update(
        {
            "fetched_at": state.fetched_at,
            "required": state.required,
            "datalists": _datalists(state),
        }
    )
    if request.method == "POST" and not refresh:
        formset = CatalogRowFormSet(request.POST, form_kwargs=form_kwargs)
        if formset.is_valid():
            rows = [
                _reference(state, form) for form in formset.forms if form.cleaned_data.get("apply")
            ]
            if rows:
                return _create(model_admin, request, channel, rows)
            messages.warning(request, _("No row is ticked: nothing was created."))
        return TemplateResponse(
            request, TEMPLATE, {**context, "formset": formset, "rows": _rows(state, formset)}
        )
    formset = CatalogRowFormSet(
        initial=[
            {
                "apply": p.suggestion is not None,
                "kind": p.kind,
                "target": p.target.pk,
                "attribute_code": p.attribute_code,
                "code": p.suggestion.code if p.suggestion is not None else "",
            }
            for p in state.proposals
        ],
        form_kwargs=form_kwargs,
    )
    return TemplateResponse(
        request, TEMPLATE, {**context, "formset": formset, "rows": _rows(state, formset)}
    )


def _reference(state, form) -> tuple[LookupRequest, object]:
    """The channel value of a ticked row (its name from the cached lists) and the ERP value."""
    data = form.cleaned_data
    kind, code = data["kind"], data["code"].strip()
    if kind == MappingKind.ATTRIBUTE:
        attribute = data["attribute_code"].strip()
        attribute_label = next(
            (r.label for r in state.references.get("attribute", []) if r.code == attribute), ""
        )
        value_label = next((r.label for r in state.values_of(attribute) if r.code == code), "")
        return (
            LookupRequest(kind, code, value_label, attribute, parent_label=attribute_label),
            form.erp_value,
        )
    value_label = next((r.label for r in state.references.get(kind, []) if r.code == code), "")
    return LookupRequest(kind, code, value_label, ""), form.erp_value


def _create(model_admin, request, channel: SalesChannel, rows) -> HttpResponseRedirect:
    outcome = mappings_create_many(channel=channel, rows=rows)
    created = len(outcome.created)
    if created:
        model_admin.message_user(
            request,
            _("Catalog de-para rows created from %(vendor)s's values: %(count)d.")
            % {"count": created, "vendor": channel.vendor.label},
            messages.SUCCESS,
        )
        model_admin.log_change(
            request,
            channel,
            _("Filled the catalog de-para from the vendor's values (rows created: %(count)d).")
            % {"count": created},
        )
    for value, reason in outcome.failed:
        model_admin.message_user(
            request,
            _("%(value)s was not created: %(reason)s")
            % {
                "value": " / ".join(part for part in (value.parent_code, value.code) if part),
                "reason": reason,
            },
            messages.ERROR,
        )
    return HttpResponseRedirect(_change_url(channel))


def fill_catalog_de_para_urls(model_admin) -> list:
    def view(request, object_id):
        return fill_catalog_de_para_view(model_admin, request, object_id)

    opts = model_admin.model._meta
    return [
        path(
            "<path:object_id>/fill-catalog-de-para/",
            model_admin.admin_site.admin_view(view),
            name=f"{opts.app_label}_{opts.model_name}_{URL_NAME}",
        )
    ]


def fill_catalog_de_para_tools(channel: SalesChannel, request) -> list[tuple[str, str]]:
    if not request.user.has_perm("channels.change_saleschannel") or not allowed_catalog_kinds(
        request.user
    ):
        return []
    url = reverse(f"admin:channels_saleschannel_{URL_NAME}", args=[channel.pk])
    return [(_("Fill catalog de-para from %(vendor)s…") % {"vendor": channel.vendor.label}, url)]


def register_channel_hooks() -> None:
    register_channel_urls(fill_catalog_de_para_urls)
    register_channel_object_tool(fill_catalog_de_para_tools)
