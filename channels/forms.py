"""The sales channel form: model fields plus the connector's credential fields.

Credential fields are generated from the connector's schema. Secret ones are write-only:
a password input that never renders the stored value; a blank submission keeps it.
"""

from django import forms
from django.utils.translation import gettext as _

from channels.models import SalesChannel
from channels.services import channel_credentials, credential_conflicts, stored_credential_names
from vendors.registry import (
    VENDORS,
    get_spec,
)

CREDENTIAL_PREFIX = "cred__"


def credential_form_field_name(connector_key: str, field_name: str) -> str:
    return f"{CREDENTIAL_PREFIX}{connector_key}__{field_name}"


class SecretInput(forms.PasswordInput):
    """Never echoes a value back into HTML, not even the one just posted."""

    def __init__(self, *, stored: bool, attrs=None):
        attrs = {"autocomplete": "new-password", **(attrs or {})}
        if stored:
            attrs["placeholder"] = _("•••••••• stored — leave blank to keep")
        super().__init__(attrs=attrs, render_value=False)


class SalesChannelForm(forms.ModelForm):
    # Set by the admin per request: only users with channels.change_credentials get fields.
    credentials_editable = False

    api_base_url = forms.URLField(
        label=SalesChannel._meta.get_field("api_base_url").verbose_name,
        required=False,
        assume_scheme="https",
        help_text=SalesChannel._meta.get_field("api_base_url").help_text,
    )

    class Meta:
        model = SalesChannel
        fields = [
            "name",
            "connector",
            "category",
            "company",
            "environment",
            "price_list",
            "warehouses",
            "safety_stock",
            "order_sweep_days",
            "order_sweep_interval_minutes",
            "reconcile_interval_minutes",
            "reconcile_pages_per_run",
            "api_base_url",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.credential_fields: dict[str, tuple[str, object]] = {}
        if "warehouses" in self.fields:
            self.fields["warehouses"].queryset = self.fields["warehouses"].queryset.select_related(
                "company"
            )
        if not self.credentials_editable:
            # Where the credentials are sent is part of the credentials: without
            # channels.change_credentials the address is shown read-only and never accepted
            # from a POST (a declared form field would otherwise be saved even when the admin
            # lists it as read-only).
            self.fields.pop("api_base_url", None)
            return
        instance = self.instance
        if instance.pk:
            connector_keys = [instance.connector]
            stored = stored_credential_names(channel=instance)
            current = channel_credentials(channel=instance)
        else:
            # The add page offers every connector's fields; a script shows only the chosen
            # connector's, and only those are validated and saved.
            connector_keys = list(VENDORS)
            stored, current = set(), {}
        for key in connector_keys:
            cls = get_spec(key)
            for spec in cls.user_credential_fields():
                name = credential_form_field_name(key, spec.name)
                label = spec.label if instance.pk else f"{cls.label} — {spec.label}"
                help_text = spec.help_text
                if spec.secret:
                    widget = SecretInput(stored=spec.name in stored)
                    if spec.name in stored:
                        help_text = (help_text + " " if help_text else "") + _(
                            "A value is stored; type a new one to replace it."
                        )
                    field = forms.CharField(
                        label=label,
                        required=False,
                        widget=widget,
                        help_text=help_text,
                        strip=True,
                    )
                else:
                    field = forms.CharField(
                        label=label,
                        required=False,
                        help_text=help_text,
                        initial=current.get(spec.name, ""),
                        strip=True,
                    )
                if spec.required:
                    field.label_suffix = " *:"
                self.fields[name] = field
                self.credential_fields[name] = (key, spec)

    def selected_connector(self) -> str | None:
        if self.instance.pk:
            return self.instance.connector
        return self.cleaned_data.get("connector") if hasattr(self, "cleaned_data") else None

    def credential_values(self) -> dict[str, str]:
        """Non-blank values typed for the selected connector (blank = keep stored)."""
        selected = self.selected_connector()
        values = {}
        for form_name, (key, spec) in self.credential_fields.items():
            if key != selected:
                continue
            value = self.cleaned_data.get(form_name) or ""
            if value:
                values[spec.name] = value
        return values

    def clean(self):
        cleaned = super().clean()
        if not self.credential_fields or not self.selected_connector():
            return cleaned
        company = cleaned.get("company") or getattr(self.instance, "company", None)
        probe = SalesChannel(
            pk=self.instance.pk,
            connector=self.selected_connector(),
            company=company,
            environment=cleaned.get("environment") or self.instance.environment,
        )
        values = self.credential_values()
        for field_name, message in credential_conflicts(channel=probe, values=values).items():
            self.add_error(credential_form_field_name(probe.connector, field_name), message)
        return cleaned
