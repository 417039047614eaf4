import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from erp.models import OrderStatus
from mappings.models import (
    CarrierServiceMapping,
    MappingKind,
    OrderStatusMapping,
    PaymentMethodMapping,
    StockLocationMapping,
    UnmappedValue,
)
from mappings.resources import CarrierServiceMappingResource
from mappings.selectors import Missing
from mappings.services import mapping_create, unmapped_record_many
from tests.factories import make_channel

pytestmark = pytest.mark.django_db

CARRIER_CSV = (
    "carrier_code,carrier_label,service_code,service_label,anything_else,erp_carrier,erp_service\n"
    "ECT,Correios,40215,SEDEX 10,,Correios,SEDEX 10\n"
    "ECT,Correios,,,,correios,pac\n"
    "JADLOG,Jadlog,.package,,,Jadlog,.Package\n"
    ",,,,yes,Correios,SEDEX\n"
)


def _url(model, view):
    return reverse(f"admin:mappings_{model._meta.model_name}_{view}")


def _format_index(model, title: str = "csv") -> str:
    formats = admin.site._registry[model].get_import_formats()
    return str(next(i for i, f in enumerate(formats) if f().get_title() == title))


def _upload(client, model, channel, content: str):
    return client.post(
        _url(model, "import"),
        {
            "channel": channel.pk,
            "format": _format_index(model),
            "resource": "0",
            "import_file": SimpleUploadedFile("de-para.csv", content.encode(), "text/csv"),
        },
    )


def _confirm(client, model, preview):
    form = preview.context["confirm_form"]
    return client.post(_url(model, "process_import"), {**form.initial}, follow=True)


def _rows(channel, model=CarrierServiceMapping):
    return sorted(
        (r.code, r.label, getattr(r, "service_code", ""), r.is_fallback, r.target_display())
        for r in model.objects.filter(channel=channel).select_related(*model.target_select_related)
    )


def test_dry_run_previews_and_writes_nothing_then_confirm_imports(
    admin_client, channel, erp, hooks, django_capture_on_commit_callbacks
):
    unmapped_record_many(
        channel=channel, missing=[Missing(MappingKind.CARRIER_SERVICE, "40215", parent_code="ECT")]
    )
    with django_capture_on_commit_callbacks(execute=True):
        preview = _upload(admin_client, CarrierServiceMapping, channel, CARRIER_CSV)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.valid_rows()] == ["new"] * 4
    assert "Confirm import" in preview.content.decode()
    # A dry run writes nothing, resolves nothing and tells nobody.
    assert CarrierServiceMapping.objects.count() == 0
    assert UnmappedValue.objects.get().resolved_at is None
    assert hooks == []

    with django_capture_on_commit_callbacks(execute=True):
        done = _confirm(admin_client, CarrierServiceMapping, preview)
    assert done.status_code == 200
    assert _rows(channel) == sorted(
        [
            ("ECT", "Correios", "40215", False, "Correios / SEDEX 10"),
            ("ECT", "Correios", "", False, "Correios / PAC"),
            ("JADLOG", "Jadlog", ".package", False, "Jadlog / .Package"),
            ("", "", "", True, "Correios / SEDEX"),
        ]
    )
    assert UnmappedValue.objects.get().resolved_at is not None
    assert len(hooks) == 4 and {h[0] for h in hooks} == {channel.pk}


def test_a_file_with_one_bad_row_imports_nothing_and_shows_why(
    admin_client, channel, erp, other_erp
):
    other_erp.company.carriers.get(name="Correios").services.create(name="SEDEX 12")
    bad = (
        CARRIER_CSV
        + "ECT,,99,,,Correios,SEDEX 12\n"
        + "ect ,,40215,,,Correios,PAC\n"
        + "LOG,,1,,maybe,Correios,PAC\n"
    )
    preview = _upload(admin_client, CarrierServiceMapping, channel, bad)
    assert preview.status_code == 200
    assert "confirm_form" not in preview.context
    html = preview.content.decode()
    # Another company's service is not "found": the channel's company has none by that name.
    assert "has no ERP carrier service “Correios / SEDEX 12”" in html
    assert "Line 1 already maps this code" in html
    assert "write “yes” or leave blank" in html
    invalid = {row.number for row in preview.context["result"].invalid_rows}
    assert invalid == {5, 6, 7}
    assert CarrierServiceMapping.objects.count() == 0


def test_rows_clashing_with_existing_rows_are_updates_not_duplicates(admin_client, channel, erp):
    mapping_create(
        channel=channel,
        kind=MappingKind.PAYMENT_METHOD,
        code="visa",
        label="old",
        target=erp.pix,
    )
    csv = "code,label,anything_else,erp_payment_method\n VISA ,Visa,,cartão de crédito\n"
    preview = _upload(admin_client, PaymentMethodMapping, channel, csv)
    assert [r.import_type for r in preview.context["result"].valid_rows()] == ["update"]
    _confirm(admin_client, PaymentMethodMapping, preview)
    row = PaymentMethodMapping.objects.get()
    assert (row.code, row.label, row.target) == ("VISA", "Visa", erp.credit)


def test_missing_channel_or_id_column_is_refused(admin_client, channel):
    response = admin_client.post(
        _url(PaymentMethodMapping, "import"),
        {
            "format": _format_index(PaymentMethodMapping),
            "import_file": SimpleUploadedFile("x.csv", b"code,erp_payment_method\npix,Pix\n"),
        },
    )
    assert "This field is required" in response.content.decode()
    no_code = _upload(
        admin_client, PaymentMethodMapping, channel, "label,erp_payment_method\nx,Pix\n"
    )
    assert no_code.context["result"].has_errors()
    assert "not present in the file headers: code" in no_code.content.decode()
    assert PaymentMethodMapping.objects.count() == 0


def test_confirm_step_rolls_back_if_the_data_changed_meanwhile(admin_client, channel, erp):
    csv = "code,label,anything_else,erp_payment_method\npix,,,Pix\nboleto,,,Boleto\n"
    preview = _upload(admin_client, PaymentMethodMapping, channel, csv)
    erp.boleto.delete()  # the ERP value the file names is gone before confirmation
    done = _confirm(admin_client, PaymentMethodMapping, preview)
    messages = [str(m) for m in done.context["messages"]]
    assert "Nothing was imported: the file no longer validates." in messages
    assert any("Line 2:" in m and "no ERP payment method “Boleto”" in m for m in messages)
    assert PaymentMethodMapping.objects.count() == 0  # not even the good first line


def _export(client, model, channel) -> str:
    resource = admin.site._registry[model].get_export_resource_classes(None)[0]
    prefix = resource.__name__.lower()
    data = {"format": _format_index(model), "resource": "0", "channel": channel.pk}
    for name in resource().get_export_order():
        data[f"{prefix}_{name}"] = "on"
    response = client.post(_url(model, "export"), data)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.mark.parametrize(
    "model,kind,rows",
    [
        (
            CarrierServiceMapping,
            MappingKind.CARRIER_SERVICE,
            [
                {"parent_code": "ECT", "code": "40215", "label": "SEDEX 10", "target": "sedex10"},
                {"parent_code": "ECT", "target": "pac"},
                {"is_fallback": True, "target": "jadlog"},
            ],
        ),
        (
            PaymentMethodMapping,
            MappingKind.PAYMENT_METHOD,
            [
                {"code": "pix", "label": "Pix", "target": "pix"},
                {"is_fallback": True, "target": "boleto"},
            ],
        ),
        (
            OrderStatusMapping,
            MappingKind.ORDER_STATUS,
            [
                {"code": "PAID_WAITING_SHIP", "target": OrderStatus.PAID},
                {"code": "CANCELED", "target": OrderStatus.CANCELED},
            ],
        ),
        (
            StockLocationMapping,
            MappingKind.STOCK_LOCATION,
            [{"code": "123", "label": "Armazém", "target": "cd_rj"}],
        ),
    ],
)
def test_export_then_import_round_trip(admin_client, channel, erp, model, kind, rows):
    noise = make_channel(erp.company, "vtex", name="Noise")
    mapping_create(
        channel=noise,
        kind=kind,
        code="only-on-noise",
        target=erp.pix
        if kind == MappingKind.PAYMENT_METHOD
        else (
            OrderStatus.NEW
            if kind == MappingKind.ORDER_STATUS
            else erp.cd_sp
            if kind == MappingKind.STOCK_LOCATION
            else erp.sedex
        ),
    )
    for row in rows:
        target = row.pop("target")
        mapping_create(
            channel=channel,
            kind=kind,
            target=getattr(erp, target) if hasattr(erp, str(target)) else target,
            **row,
        )
    exported = _export(admin_client, model, channel)
    assert "only-on-noise" not in exported
    assert "channel" not in exported.splitlines()[0]

    copy = make_channel(erp.company, "mercadolivre", name="Copy")
    preview = _upload(admin_client, model, copy, exported)
    assert not preview.context["result"].has_validation_errors(), preview.content.decode()
    _confirm(admin_client, model, preview)
    assert _rows(copy, model) == _rows(channel, model)
    assert len(_rows(copy, model)) == len(rows)

    # Importing the same file again changes nothing and duplicates nothing.
    again = _upload(admin_client, model, copy, exported)
    assert {r.import_type for r in again.context["result"].valid_rows()} == {"update"}
    _confirm(admin_client, model, again)
    assert _rows(copy, model) == _rows(channel, model)


def test_resource_without_a_channel_refuses_to_import():
    import tablib

    dataset = tablib.Dataset(headers=["carrier_code", "service_code"])
    result = CarrierServiceMappingResource().import_data(dataset, dry_run=True)
    assert result.has_errors()
    assert "Choose the sales channel" in str(result.base_errors[0].error)


# --- hostile files -------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_export_defuses_formulae_and_the_file_imports_back_unchanged(
    admin_client, channel, erp, start
):
    code = f'{start}HYPERLINK("http://evil.example/")'
    mapping_create(
        channel=channel, kind=MappingKind.PAYMENT_METHOD, code=code, label="@SUM(1)", target=erp.pix
    )
    exported = _export(admin_client, PaymentMethodMapping, channel)
    cells = [cell for line in exported.splitlines()[1:] for cell in line.split(",")]
    assert not any(cell.lstrip('"').startswith(("=", "+", "-", "@", "\t")) for cell in cells), (
        exported
    )

    copy = make_channel(erp.company, "mercadolivre", name="Copy")
    preview = _upload(admin_client, PaymentMethodMapping, copy, exported)
    _confirm(admin_client, PaymentMethodMapping, preview)
    (row,) = PaymentMethodMapping.objects.filter(channel=copy)
    assert (row.code, row.label) == (code.strip(), "@SUM(1)")


def test_too_big_or_too_long_files_are_refused_with_a_clear_error(admin_client, channel, settings):
    settings.DE_PARA_IMPORT_MAX_ROWS = 3
    rows = "".join(f"C{i},Carrier {i},,,,Correios,SEDEX\n" for i in range(4))
    response = _upload(admin_client, CarrierServiceMapping, channel, CARRIER_CSV[:95] + rows)
    assert "at most 3 can be imported at once" in response.content.decode()
    settings.DE_PARA_IMPORT_MAX_BYTES = 100
    response = _upload(admin_client, CarrierServiceMapping, channel, CARRIER_CSV)
    assert "at most 100 bytes can be imported at once" in response.content.decode()
    assert not CarrierServiceMapping.objects.filter(channel=channel).exists()


def test_a_malformed_file_gets_an_error_without_traceback_or_server_paths(admin_client, channel):
    response = _upload(admin_client, CarrierServiceMapping, channel, "\x00\xff\xfe garbage")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Traceback" not in html and "site-packages" not in html and "/work/" not in html
    assert not CarrierServiceMapping.objects.filter(channel=channel).exists()
