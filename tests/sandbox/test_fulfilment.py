"""The emulators' fulfilment endpoints, driven over raw HTTP as the vendors document them
(not through our adapters): what each refuses, and the control interface that shows what was
applied."""

from decimal import Decimal

import pytest
import requests

KEY = "35241112345678000195550010000012341000012345"
VTEX_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


@pytest.fixture
def vtex(emulator):
    emu = emulator("vtex", rate=1000, burst=1000)
    emu.seed_catalog(["SKU-A"], price=Decimal("50.00"))
    return emu


def vtex_call(emu, method, path, body=None):
    headers = {
        **VTEX_JSON,
        "X-VTEX-API-AppKey": emu.credentials["app_key"],
        "X-VTEX-API-AppToken": emu.credentials["app_token"],
    }
    return requests.request(method, emu.url + path, json=body, headers=headers, timeout=5)


def vtex_invoice(emu, order_id, **overrides):
    order = emu.orders[order_id]
    item = order["items"][0]
    return {
        "type": "Output",
        "invoiceNumber": "1234",
        "invoiceKey": KEY,
        "invoiceValue": str(order["value"]),
        "issuanceDate": "2026-12-01T10:30:00-03:00",
        "items": [{"id": item["id"], "price": item["price"], "quantity": item["quantity"]}],
        **overrides,
    }


def test_vtex_needs_start_handling_before_an_invoice(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="ready-for-handling")
    path = f"/api/oms/pvt/orders/{order_id}"

    early = vtex_call(vtex, "POST", path + "/invoice", vtex_invoice(vtex, order_id))
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "OMS003"

    assert vtex_call(vtex, "POST", path + "/start-handling").status_code == 204
    again = vtex_call(vtex, "POST", path + "/start-handling")
    assert again.status_code == 409
    assert "should be ready-for-handling" in again.json()["error"]["message"]
    assert vtex_call(vtex, "POST", path + "/invoice", vtex_invoice(vtex, order_id)).ok


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"invoiceValue": "59.90"}, "invoiceValue must be the amount in cents"),
        ({"invoiceValue": 5990}, "does not match the API schema"),  # a string in the spec
        ({"invoiceValue": "0"}, "greater than 0"),
        ({"type": "Sale"}, "does not match the API schema"),
        ({"items": None}, "does not match the API schema"),
        ({"issuanceDate": "ontem"}, "Invalid date"),
    ],
)
def test_vtex_checks_the_invoice_body_against_the_spec(vtex, overrides, words):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    body = vtex_invoice(vtex, order_id, **overrides)
    answer = vtex_call(vtex, "POST", f"/api/oms/pvt/orders/{order_id}/invoice", body)
    assert answer.status_code == 400
    assert words in answer.json()["error"]["message"]
    assert vtex.fulfilment_of(order_id) == []


def test_vtex_a_repeated_invoice_number_only_renews_the_receipt(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    path = f"/api/oms/pvt/orders/{order_id}/invoice"
    first = vtex_call(vtex, "POST", path, vtex_invoice(vtex, order_id)).json()
    second = vtex_call(vtex, "POST", path, vtex_invoice(vtex, order_id, invoiceKey="x")).json()
    assert first["receipt"] != second["receipt"]
    packages = vtex.orders[order_id]["packageAttachment"]["packages"]
    assert [(p["invoiceNumber"], p["invoiceKey"]) for p in packages] == [("1234", KEY)]


def test_vtex_delivered_needs_the_tracking_number_and_its_date_format(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    base = f"/api/oms/pvt/orders/{order_id}/invoice"
    vtex_call(vtex, "POST", base, vtex_invoice(vtex, order_id))
    delivered = {"isDelivered": True, "deliveredDate": "2026-12-03 14:05", "events": []}
    early = vtex_call(vtex, "PUT", base + "/1234/tracking", delivered)
    assert early.status_code == 400 and "has no tracking number" in early.text
    tracking = {
        "trackingNumber": "BR1",
        "trackingUrl": None,
        "courier": "Correios",
        "dispatchedDate": None,
    }
    assert vtex_call(vtex, "PATCH", base + "/1234", tracking).ok
    iso = {**delivered, "deliveredDate": "2026-12-03T14:05:00Z"}
    assert vtex_call(vtex, "PUT", base + "/1234/tracking", iso).status_code == 400
    assert vtex_call(vtex, "PUT", base + "/1234/tracking", delivered).ok
    assert [a for a, _ in vtex.fulfilment_of(order_id)] == ["invoice", "tracking", "delivered"]


@pytest.fixture
def anymarket(emulator):
    emu = emulator("anymarket", rate=1000, burst=1000)
    emu.seed_catalog(["SKU-A"])
    return emu


def anymarket_put(emu, order_id, body):
    return requests.put(
        f"{emu.url}/v2/orders/{order_id}",
        json=body,
        headers={"gumgaToken": emu.credentials["gumga_token"]},
        timeout=5,
    )


def test_anymarket_enforces_the_status_transitions(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    invoice = {"accessKey": KEY, "series": "1", "number": "1234", "date": "2026-12-01T10:30:00Z"}
    concluded = {"status": "CONCLUDED", "tracking": {"deliveredDate": "2026-12-03T10:00:00Z"}}

    assert anymarket_put(anymarket, order_id, concluded).status_code == 422
    no_invoice = anymarket_put(anymarket, order_id, {"status": "INVOICED"})
    assert no_invoice.status_code == 422 and "invoice é obrigatório" in no_invoice.json()["message"]
    short_key = anymarket_put(
        anymarket, order_id, {"status": "INVOICED", "invoice": {**invoice, "accessKey": "1"}}
    )
    assert "44 dígitos" in short_key.json()["message"]
    assert anymarket_put(anymarket, order_id, {"status": "INVOICED", "invoice": invoice}).ok
    assert anymarket_put(anymarket, order_id, concluded).status_code == 422  # not shipped yet
    assert [a for a, _ in anymarket.fulfilment_of(order_id)] == ["invoice"]


@pytest.fixture
def ml(emulator):
    emu = emulator("mercadolivre", rate=1000, burst=1000)
    emu.add_listing(seller_sku="SKU-A", price=59.9)
    return emu


def test_mercado_livre_keeps_the_label_until_the_xml_arrives(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="cross_docking")
    shipment_id = ml.orders[order_id]["shipping"]["id"]
    auth = {"Authorization": f"Bearer {ml.issue_access_token()}"}
    label_url = f"{ml.url}/shipment_labels"
    params = {"shipment_ids": shipment_id, "response_type": "zpl2"}

    assert requests.get(label_url, params=params, headers=auth, timeout=5).status_code == 400
    xml = (
        '<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"><NFe>'
        f'<infNFe Id="NFe{KEY}"/></NFe></nfeProc>'
    )
    upload = f"{ml.url}/shipments/{shipment_id}/invoice_data"
    xml_headers = {**auth, "Content-Type": "application/xml"}
    no_site = requests.post(upload, data=xml, headers=xml_headers, timeout=5)
    assert no_site.status_code == 400 and "siteId" in no_site.json()["message"]
    done = requests.post(upload, params={"siteId": "MLB"}, data=xml, headers=xml_headers, timeout=5)
    assert done.ok and done.json()["fiscal_key"] == KEY

    label = requests.get(label_url, params=params, headers=auth, timeout=5)
    assert label.ok and label.headers["Content-Type"] == "application/zip"


def test_the_control_interface_lists_what_was_applied(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    anymarket_put(anymarket, order_id, {"status": "CANCELED", "cancelDetails": "Sem estoque"})
    listed = requests.get(
        f"{anymarket.url}/__emulator__/fulfilment", params={"order_id": order_id}, timeout=5
    ).json()
    assert listed == {
        "fulfilment": [
            {"order_id": order_id, "action": "cancel", "data": {"reason": "Sem estoque"}}
        ]
    }
