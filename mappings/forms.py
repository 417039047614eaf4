"""Admin forms of the de-para: inline rows that render without a query per row, and the
channel-scoped CSV import/export forms."""

from __future__ import annotations

from contextvars import ContextVar

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AutocompleteSelect
from django.forms.models import BaseInlineFormSet
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.forms import ConfirmImportForm, ImportForm, SelectableFieldsExportForm

from channels.models import SalesChannel
from mappings.services import mapping_save


class PreloadedModelChoiceField(forms.ModelChoiceField):
    """Returns the row's already-loaded target when the submitted value is unchanged,
    instead of one `queryset.get()` per row."""

    preloaded: dict[str, object] = {}

    def to_python(self, value):
        if value not in self.empty_values:
            obj = self.preloaded.get(str(value))
            if obj is not None:
                return obj
        return super().to_python(value)


class PreloadedAutocompleteSelect(AutocompleteSelect):
    """Renders the selected option from the row's already-loaded target.

    The stock widget runs one query per rendered row to print the selected option; with
    1,000 de-para rows on a channel that is 1,000 queries.
    """

    preloaded: dict[str, object] = {}

    def optgroups(self, name, value, attr=None):
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        if not selected or not selected.issubset(self.preloaded):
            return super().optgroups(name, value, attr)
        default = (None, [], 0)
        if not self.is_required and not self.allow_multiple_selected:
            default[1].append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance
        for pk in sorted(selected):
            obj = self.preloaded[pk]
            default[1].append(
                self.create_option(name, obj.pk, label(obj), selected, len(default[1]))
            )
        return [default]


# The ERP-side fields of a de-para row (the attribute de-para has two).
TARGET_FIELDS = ("target", "target_value")


class MappingInlineForm(forms.ModelForm):
    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        for name in TARGET_FIELDS:
            if isinstance(self.fields.get(name), PreloadedModelChoiceField):
                # The form field already proved the target exists (from the loaded row or
                # with its own query); the model field would check again with one query
                # per row.
                exclude.add(name)
        return exclude

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in TARGET_FIELDS:
            field = self.fields.get(name)
            if not isinstance(field, PreloadedModelChoiceField) or self.instance.pk is None:
                continue
            target = getattr(self.instance, name)  # select_related by the inline's queryset
            preloaded = {str(target.pk): target} if target is not None else {}
            field.preloaded = preloaded
            widget = getattr(field.widget, "widget", field.widget)  # RelatedFieldWidgetWrapper
            if isinstance(widget, PreloadedAutocompleteSelect):
                widget.preloaded = preloaded


class MappingInlineFormSet(BaseInlineFormSet):
    """Saves through `mapping_save` (hook and queue resolution included) and refuses two
    rows with the same normalized code, or two fallbacks, in one submission.

    Saving the channel page must not cost a query per de-para row either: the hidden id of
    each row is checked against the rows already loaded, not with one `get()` each.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name = self._pk_field.name
        stock = form.fields[name]
        field = PreloadedModelChoiceField(
            stock.queryset, initial=stock.initial, required=False, widget=stock.widget
        )
        field.preloaded = self._loaded_rows()
        form.fields[name] = field

    def _loaded_rows(self) -> dict[str, object]:
        if not hasattr(self, "_loaded_rows_cache"):
            self._loaded_rows_cache = {str(row.pk): row for row in self.get_queryset()}
        return self._loaded_rows_cache

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if self.instance.pk is not None:
            # The loaded channel, so clean() reads its company without a query per row.
            form.instance.channel = self.instance
        return form

    def clean(self):
        super().clean()
        seen: dict[tuple, tuple[int, str]] = {}
        for number, form in enumerate(self.forms, start=1):
            if not getattr(form, "cleaned_data", None) or form in self.deleted_forms:
                continue
            if not form.has_changed() and form.instance.pk is None:
                continue
            key = form.instance.key_state()
            if key not in seen:
                seen[key] = (number, form.instance.describe_code())
                continue
            first, code = seen[key]
            form.add_error(
                None,
                _("Row %(row)s is already the “anything else” row.") % {"row": first}
                if form.instance.is_fallback
                else _(
                    "Row %(row)s already maps %(code)s (codes are compared ignoring case, "
                    "accents and surrounding spaces)."
                )
                % {"row": first, "code": code},
            )

    def save_new(self, form, commit=True):
        mapping = super().save_new(form, commit=False)
        if commit:
            mapping_save(mapping=mapping, validated=True)
        return mapping

    def save_existing(self, form, obj, commit=True):
        mapping = form.save(commit=False)
        if commit:
            mapping_save(mapping=mapping, validated=True)
        return mapping


# --- CSV import / export, scoped to one channel ----------------------------------------------

_CHANNEL_HELP = gettext_lazy(
    "Rows are written to this channel only; ERP values are looked up among its company's."
)


def _grouped(number: int) -> str:
    """A count with the user's language's thousand separator (12.345 in pt-BR)."""
    return number_format(number, force_grouping=True)


class ChannelImportForm(ImportForm):
    channel = forms.ModelChoiceField(
        queryset=SalesChannel.objects.none(),
        label=gettext_lazy("Sales channel"),
        help_text=_CHANNEL_HELP,
    )
    field_order = ["channel", "resource", "import_file", "format"]

    rows_estimate = 0  # data rows in the file (its lines but the header), once validated

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_file"].help_text = _(
            "Files of up to %(rows)s rows are previewed before you confirm; larger ones are "
            "imported in the background, and a page shows their progress and result."
        ) % {"rows": _grouped(settings.DE_PARA_IMPORT_SYNC_ROWS)}

    def clean_import_file(self):
        """Refuse files too big to import at once, before anything reads them."""
        upload = self.cleaned_data["import_file"]
        max_bytes = settings.DE_PARA_IMPORT_MAX_BYTES
        max_rows = settings.DE_PARA_IMPORT_MAX_ROWS
        if upload.size > max_bytes:
            raise forms.ValidationError(
                _(
                    "The file has %(size)s bytes; at most %(max)s bytes can be imported at "
                    "once. Split it into smaller files."
                )
                % {"size": _grouped(upload.size), "max": _grouped(max_bytes)}
            )
        lines = sum(chunk.count(b"\n") for chunk in upload.chunks())
        upload.seek(0)
        self.rows_estimate = max(lines - 1, 0)
        if lines - 1 > max_rows:  # the header line is not a row
            raise forms.ValidationError(
                _(
                    "The file has about %(rows)s rows; at most %(max)s can be imported at once. "
                    "Split it into smaller files."
                )
                % {"rows": _grouped(lines - 1), "max": _grouped(max_rows)}
            )
        return upload


class ChannelConfirmImportForm(ConfirmImportForm):
    channel = forms.ModelChoiceField(
        queryset=SalesChannel.objects.none(), widget=forms.HiddenInput()
    )


# The channels the current request may export from (its user's companies), set by
# MappingAdmin.export_action around import-export's view, which builds the export form without
# the request. Outside that view the form offers no channel.
EXPORT_CHANNELS: ContextVar = ContextVar("EXPORT_CHANNELS")


class ChannelExportForm(SelectableFieldsExportForm):
    channel = forms.ModelChoiceField(
        queryset=SalesChannel.objects.none(),
        label=gettext_lazy("Sales channel"),
        help_text=gettext_lazy(
            "Export this channel's de-para (the file can be imported into any channel)."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = EXPORT_CHANNELS.get(SalesChannel.objects.none())
