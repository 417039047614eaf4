"""The back office's fulfilment forms on the order page. Each form collects what its service
needs and calls it; the service is the one that validates (the same rules for the admin and
for any other ERP code), and its errors are shown on the field they are about."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from erp import services
from erp.models import CarrierService, Order

# Service error codes shown on a field instead of at the top of the form.
FIELD_OF_CODE = {
    "nfe_key_not_digits": "access_key",
    "nfe_key_length": "access_key",
    "nfe_key_check_digit": "access_key",
    "nfe_key_model": "access_key",
    "nfe_key_cnpj": "access_key",
    "nfe_key_series": "series",
    "nfe_key_number": "number",
    "nfe_key_month": "issued_at",
    "access_key_taken": "access_key",
    "invoice_total_mismatch": "total",
    "other_company": "carrier_service",
    "delivered_before_shipped": "delivered_at",
    "reason_required": "reason",
    "nfe_xml_too_big": "xml_file",
    "nfe_xml_not_xml": "xml_file",
    "nfe_xml_other_key": "xml_file",
}


class FulfilmentForm(forms.Form):
    """Base: `perform()` calls the service; `apply()` turns its refusal into form errors and
    answers whether it succeeded."""

    title = ""
    success_message = ""

    def __init__(self, *args, order: Order, **kwargs):
        self.order = order
        super().__init__(*args, **kwargs)

    def perform(self) -> None:
        raise NotImplementedError

    def apply(self) -> bool:
        if not self.is_valid():
            return False
        try:
            self.perform()
        except ValidationError as error:
            for item in error.error_list:
                field = FIELD_OF_CODE.get(item.code)
                self.add_error(field if field in self.fields else None, item)
            return False
        return True


class InvoiceForm(FulfilmentForm):
    title = _("Invoice the order (NF-e)")
    success_message = _("Order %(order)s invoiced.")

    number = forms.IntegerField(label=_("NF-e number"), min_value=1, max_value=999_999_999)
    series = forms.IntegerField(label=_("series"), min_value=0, max_value=999, initial=1)
    access_key = forms.CharField(
        label=_("access key"),
        max_length=60,
        help_text=_("The 44 digits under the DANFE's barcode; spaces are allowed."),
    )
    issued_at = forms.DateTimeField(label=_("issue date"), help_text=_("dd/mm/yyyy hh:mm"))
    total = forms.DecimalField(label=_("NF-e total"), max_digits=14, decimal_places=2, min_value=0)
    xml_file = forms.FileField(
        label=_("NF-e XML"), required=False, help_text=_("The authorized XML (optional).")
    )

    def perform(self) -> None:
        data = self.cleaned_data
        services.order_invoice(
            order=self.order,
            number=data["number"],
            series=data["series"],
            access_key=data["access_key"],
            issued_at=data["issued_at"],
            total=data["total"],
            xml_file=data.get("xml_file"),
        )


class ShipForm(FulfilmentForm):
    title = _("Ship the order")
    success_message = _("Order %(order)s marked as shipped.")

    carrier_service = forms.ModelChoiceField(
        label=_("carrier service"), queryset=CarrierService.objects.none()
    )
    tracking_code = forms.CharField(label=_("tracking code"), max_length=80, required=False)
    tracking_url = forms.URLField(
        label=_("tracking URL"), max_length=500, required=False, assume_scheme="https"
    )
    shipped_at = forms.DateTimeField(
        label=_("shipped at"), required=False, help_text=_("Empty means now.")
    )
    require_invoice = forms.BooleanField(
        label=_("Require the invoice first"),
        required=False,
        initial=True,
        help_text=_(
            "Uncheck only when the channel and the operation allow shipping before the NF-e."
        ),
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, order=order, **kwargs)
        field = self.fields["carrier_service"]
        field.queryset = CarrierService.objects.filter(
            carrier__company_id=order.company_id
        ).select_related("carrier")
        if order.carrier_service_id and not self.is_bound:
            field.initial = order.carrier_service_id

    def perform(self) -> None:
        data = self.cleaned_data
        services.order_ship(
            order=self.order,
            carrier_service=data["carrier_service"],
            tracking_code=data["tracking_code"],
            tracking_url=data["tracking_url"],
            shipped_at=data["shipped_at"],
            require_invoice=data["require_invoice"],
        )


class DeliverForm(FulfilmentForm):
    title = _("Mark the order delivered")
    success_message = _("Order %(order)s marked as delivered.")

    delivered_at = forms.DateTimeField(
        label=_("delivered at"), required=False, help_text=_("Empty means now.")
    )

    def perform(self) -> None:
        services.order_deliver(order=self.order, delivered_at=self.cleaned_data["delivered_at"])


class CancelForm(FulfilmentForm):
    title = _("Cancel the order")
    success_message = _("Order %(order)s canceled.")

    reason = forms.CharField(
        label=_("cancellation reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the order is invoiced (its NF-e must be canceled in the ERP)."),
    )

    def perform(self) -> None:
        services.order_cancel(order=self.order, reason=self.cleaned_data["reason"])


FULFILMENT_FORMS: dict[str, type[FulfilmentForm]] = {
    "invoice": InvoiceForm,
    "ship": ShipForm,
    "deliver": DeliverForm,
    "cancel": CancelForm,
}
