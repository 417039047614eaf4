"""The one parsing policy for vendor data (vendors/parsing.py), table by table."""

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from vendors import parsing
from vendors.base import Connector
from vendors.errors import ConnectorError, InvalidVendorData
from vendors.parsing import (
    LINE_AMOUNT_DIGITS,
    ORDER_AMOUNT_DIGITS,
    Reader,
    Unparseable,
    parse_flag,
    parse_identifier,
    parse_money,
    parse_postal_code,
    parse_quantity,
    parse_text,
    parse_timestamp,
)
from vendors.registry import VENDORS, get_adapter_class

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

# --- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("79.90", Decimal("79.90")),
        (" 79.9 ", Decimal("79.90")),
        (79.9, Decimal("79.90")),  # a JSON float, read through its repr, not its binary value
        (79, Decimal("79.00")),
        (0, Decimal("0.00")),
        ("0", Decimal("0.00")),
        (59.900000000000006, Decimal("59.90")),  # float noise from the vendor's arithmetic
        ("10.005", Decimal("10.00")),  # half-even to cents, as the column stores it
        ("10.015", Decimal("10.02")),
        ("1e3", Decimal("1000.00")),
        (".5", Decimal("0.50")),
        ("+3", Decimal("3.00")),
        ("-0.001", Decimal("0.00")),  # rounds to zero, and zero is never "-0.00"
        (Decimal("12.3"), Decimal("12.30")),
        ("999999999999.99", Decimal("999999999999.99")),  # 14 digits: an order total fits
    ],
)
def test_money_accepts(value, expected):
    amount = parse_money(value)
    assert amount == expected
    assert amount.as_tuple().exponent == -2
    assert str(amount) == str(expected)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc", "not an amount"),
        ("12,3x", "not an amount"),
        ("12,30", "not an amount"),  # a decimal comma is ambiguous with a thousands comma
        ("1.234,56", "not an amount"),
        ("1_000", "not an amount"),  # Decimal() would read 1000
        ("R$ 10", "not an amount"),
        ("NaN", "not an amount"),
        ("Infinity", "not an amount"),
        (float("nan"), "not an amount"),
        (float("inf"), "not an amount"),
        (Decimal("NaN"), "not an amount"),
        (True, "not an amount"),  # bool is not a number
        (False, "not an amount"),
        ({"amount": 10}, "not an amount"),
        ([10], "not an amount"),
        ("-5", "a negative amount"),
        (-0.01, "a negative amount"),
        ("1000000000000.00", "larger than the 12 whole digits an amount may have"),
        ("1e100", "larger than the 12 whole digits an amount may have"),
        ("1e999999999", "larger than the 12 whole digits an amount may have"),
        ("999999999999.995", "larger than the 12 whole digits an amount may have"),  # rounds up
    ],
)
def test_money_refuses(value, problem):
    with pytest.raises(Unparseable) as exc:
        parse_money(value)
    assert exc.value.problem == problem


def test_money_bounds_follow_the_column_and_negative_only_when_allowed():
    assert parse_money("9999999999.99", digits=LINE_AMOUNT_DIGITS) == Decimal("9999999999.99")
    with pytest.raises(Unparseable, match="10 whole digits"):
        parse_money("10000000000", digits=LINE_AMOUNT_DIGITS)
    assert parse_money("-5", allow_negative=True) == Decimal("-5.00")


@pytest.mark.parametrize(
    ("cents", "expected"),
    [(7990, "79.90"), ("7990", "79.90"), (1, "0.01"), (0, "0.00"), (1590.5, "15.90")],
)
def test_money_in_cents(cents, expected):
    assert parse_money(cents, cents=True) == Decimal(expected)


def test_money_in_cents_is_bounded_after_the_division():
    assert parse_money(99_999_999_999_999, cents=True) == Decimal("999999999999.99")
    with pytest.raises(Unparseable):
        parse_money(100_000_000_000_000, cents=True)


# --- quantities -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "minimum", "expected"),
    [
        (2, 1, 2),
        ("2", 1, 2),
        (" 2 ", 1, 2),
        ("2.0", 1, 2),
        (2.0, 1, 2),
        (0, 0, 0),  # stock may be zero
        ("0", 0, 0),
        (2_147_483_647, 1, 2_147_483_647),
    ],
)
def test_quantity_accepts(value, minimum, expected):
    quantity = parse_quantity(value, minimum=minimum)
    assert quantity == expected
    assert type(quantity) is int


@pytest.mark.parametrize(
    ("value", "minimum", "problem"),
    [
        (2.5, 1, "not a whole number"),
        ("2.5", 1, "not a whole number"),
        ("2,0", 1, "not a whole number"),
        ("two", 1, "not a whole number"),
        (True, 1, "not a whole number"),
        (float("nan"), 1, "not a whole number"),
        ({"n": 2}, 1, "not a whole number"),
        (0, 1, "less than 1"),  # an order line of nothing
        (-1, 0, "less than 0"),  # negative stock
        (2_147_483_648, 1, "more than 2147483647"),
        ("1e999999999", 1, "more than 2147483647"),
    ],
)
def test_quantity_refuses(value, minimum, problem):
    with pytest.raises(Unparseable) as exc:
        parse_quantity(value, minimum=minimum)
    assert exc.value.problem == problem


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("2026-01-05T10:00:00Z", UTC, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05T10:00:00+00:00", SAO_PAULO, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05T07:00:00-03:00", UTC, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        # Mercado Livre's shape, milliseconds and "-04:00"
        ("2026-01-05T06:00:00.000-04:00", UTC, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        # VTEX's seven fractional digits
        (
            "2019-02-06T20:46:11.7010747+00:00",
            UTC,
            datetime(2019, 2, 6, 20, 46, 11, 701074, tzinfo=UTC),
        ),
        # No offset: the vendor's zone, passed explicitly
        ("2026-01-05T10:00:00", UTC, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("2026-01-05T07:00:00", SAO_PAULO, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        (" 2026-01-05 07:00:00 ", SAO_PAULO, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
    ],
)
def test_timestamp_is_always_aware_and_in_utc(value, zone, expected):
    moment = parse_timestamp(value, zone=zone)
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-13-01T00:00:00Z", "05/01/2026 10:00", "", 1767607200, True, {"at": 1}],
)
def test_timestamp_refuses(value):
    with pytest.raises(Unparseable) as exc:
        parse_timestamp(value, zone=UTC)
    assert exc.value.problem == "not an ISO 8601 date and time"


def test_timestamp_zone_is_required():
    with pytest.raises(TypeError):
        parse_timestamp("2026-01-05T10:00:00")  # type: ignore[call-arg]


def test_a_fixed_offset_zone_works_too():
    minus_three = timezone(timedelta(hours=-3))
    assert parse_timestamp("2026-01-05T07:00:00", zone=minus_three).hour == 10


# --- identifiers and text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("MLB123", "MLB123"), (" CAM-P ", "CAM-P"), (2000012345, "2000012345"), (0, "0")],
)
def test_identifier_accepts(value, expected):
    assert parse_identifier(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("   ", "empty"),
        (True, "not an identifier (text or a whole number)"),
        (12.0, "not an identifier (text or a whole number)"),
        ({"id": 1}, "not an identifier (text or a whole number)"),
        (["a"], "not an identifier (text or a whole number)"),
        ("x" * 81, "longer than 80 characters"),  # too long is an error, never cut
        # PostgreSQL cannot store a NUL, and a tab or line break in an id is never meant.
        ("A\x00B", "holding a control character"),
        ("A\tB", "holding a control character"),
        ("A\nB", "holding a control character"),
    ],
)
def test_identifier_refuses(value, problem):
    with pytest.raises(Unparseable) as exc:
        parse_identifier(value)
    assert exc.value.problem == problem


def test_identifier_length_follows_the_column():
    assert parse_identifier("x" * 80) == "x" * 80
    assert parse_identifier("x" * 120, max_length=120) == "x" * 120


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("  Camiseta P  ", "Camiseta P"),
        (123, "123"),
        ("x" * 250, "x" * 200),  # free text is truncated to the column
        ("Ana\x00 Souza", "Ana Souza"),  # NUL, which PostgreSQL cannot store, is dropped
    ],
)
def test_text_accepts_and_truncates(value, expected):
    assert parse_text(value) == expected


@pytest.mark.parametrize("value", [{"name": "x"}, ["x"], True])
def test_text_refuses_what_is_not_text(value):
    with pytest.raises(Unparseable, match="not text"):
        parse_text(value)


def test_flag_is_a_json_boolean_only():
    assert parse_flag(True) is True
    assert parse_flag(False) is False
    for value in ("false", 0, 1, "true"):
        with pytest.raises(Unparseable, match="not true or false"):
            parse_flag(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01310-100", "01310100"),
        ("01310100", "01310100"),
        (" 01.310-100 ", "01310100"),
        (1310100, "01310100"),  # a JSON number lost the leading zero: restored, not guessed
        ("", ""),
        (None, ""),
    ],
)
def test_postal_code_accepts(value, expected):
    assert parse_postal_code(value) == expected


@pytest.mark.parametrize(
    "value", ["0131010", "013101000", "CEP 01310", "０１３１０１００", 1.5, True]
)
def test_postal_code_refuses(value):
    with pytest.raises(Unparseable, match="not a CEP"):
        parse_postal_code(value)


def test_an_address_parses_its_cep_reads_a_uf_and_truncates_text():
    address = reader().address(
        postal_code=("81020-235", "zip"),
        state=("BR-pr", "state.id"),
        street=("R" * 200, "street"),
        city=("Curitiba", "city"),
    )
    assert (address.postal_code, address.state, address.city) == ("81020235", "PR", "Curitiba")
    assert len(address.street) == parsing.ADDRESS_TEXT_MAX_LENGTH
    assert reader().address(postal_code=(None, "zip"), state=("Paraná", "s")).state == "Paraná"
    with pytest.raises(InvalidVendorData) as exc:
        reader().address(postal_code=("8102", "shippingData.address.postalCode"))
    assert str(exc.value) == (
        'Mercado Livre order 2000012345: shippingData.address.postalCode is "8102", '
        "not a CEP (8 digits)"
    )


# --- the reader: vendor, subject and field path in every message ------------------------------


def reader(subject="order 2000012345"):
    return Reader(vendor="Mercado Livre", subject=subject, zone=UTC)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda r: r.money("abc", "items[1].unit_price"),
            'Mercado Livre order 2000012345: items[1].unit_price is "abc", not an amount',
        ),
        (
            lambda r: r.money(float("nan"), "total"),
            "Mercado Livre order 2000012345: total is NaN, not an amount",
        ),
        (
            lambda r: r.money({"v": 1}, "items[0].unit_price"),
            'Mercado Livre order 2000012345: items[0].unit_price is {"v": 1}, not an amount',
        ),
        (
            lambda r: r.money(None, "total_amount"),
            "Mercado Livre order 2000012345: total_amount is missing",
        ),
        (
            lambda r: r.money("  ", "total_amount"),
            'Mercado Livre order 2000012345: total_amount is "  ", empty',
        ),
        (
            lambda r: r.quantity(2.5, "order_items[0].quantity"),
            "Mercado Livre order 2000012345: order_items[0].quantity is 2.5, not a whole number",
        ),
        (
            lambda r: r.timestamp("ontem", "date_created"),
            'Mercado Livre order 2000012345: date_created is "ontem", '
            "not an ISO 8601 date and time",
        ),
        (
            lambda r: r.identifier("x" * 81, "id"),
            'Mercado Livre order 2000012345: id is "' + "x" * 58 + "…, longer than 80 characters",
        ),
        (
            lambda r: r.objects([{"a": 1}, "oops"], "order_items"),
            'Mercado Livre order 2000012345: order_items[1] is "oops", not an object',
        ),
        (
            lambda r: r.obj([], "buyer"),
            "Mercado Livre order 2000012345: buyer is [], not an object",
        ),
        (
            lambda r: r.flag("false", "active"),
            'Mercado Livre order 2000012345: active is "false", not true or false',
        ),
    ],
)
def test_errors_name_vendor_subject_field_and_value(call, message):
    with pytest.raises(InvalidVendorData) as exc:
        call(reader())
    assert str(exc.value) == message
    assert exc.value.vendor == "Mercado Livre"
    assert exc.value.subject == "order 2000012345"


def test_the_error_carries_its_parts_and_is_a_connector_error_never_retried():
    with pytest.raises(InvalidVendorData) as exc:
        reader().about("order 77").money("12,3x", "items[0].unit")
    error = exc.value
    assert isinstance(error, ConnectorError)
    assert error.retryable is False
    assert error.kind == "invalid_data"
    assert (error.subject, error.path, error.value) == ("order 77", "items[0].unit", '"12,3x"')


def test_optional_fields_take_the_default_the_caller_names():
    r = reader()
    assert r.money(None, "shipping", default=Decimal("0")) == Decimal("0")
    assert r.money("", "shipping", default=Decimal("0")) == Decimal("0")
    assert r.timestamp(None, "date_closed", default=None) is None
    assert r.identifier(None, "variation_id", default="") == ""
    assert r.code(None, "payment", default="") == ""
    assert r.text(None, "title") == ""
    assert r.obj(None, "tracking", default={}) == {}
    assert r.objects(None, "payments", default=[]) == []
    assert r.flag(None, "active", default=True) is True
    # …but a present value is parsed all the same: a default never hides a bad value.
    with pytest.raises(InvalidVendorData, match='shipping is "x", not an amount'):
        r.money("x", "shipping", default=Decimal("0"))


def test_the_reader_reads_timestamps_in_its_vendor_zone():
    r = Reader(vendor="ANYMARKET", subject="order 1", zone=SAO_PAULO)
    assert r.timestamp("2026-01-05T07:00:00", "createdAt") == datetime(2026, 1, 5, 10, tzinfo=UTC)


def test_codes_are_bounded_by_the_de_para_column():
    r = reader()
    assert r.code("x" * 120, "status") == "x" * 120
    with pytest.raises(InvalidVendorData, match="longer than 120 characters"):
        r.code("x" * 121, "status")


# --- the bounds mirror the columns ------------------------------------------------------------


def test_the_declared_bounds_are_the_database_columns():
    from erp.models import Order, OrderItem, Sku
    from mappings.models import Listing, UnmappedValue
    from sync.models import HeldOrder, QuarantinedOrder

    for name in ("items_total", "shipping_total", "total"):
        field = Order._meta.get_field(name)
        assert (field.max_digits, field.decimal_places) == (ORDER_AMOUNT_DIGITS, 2)
    unit_price = OrderItem._meta.get_field("unit_price")
    assert (unit_price.max_digits, unit_price.decimal_places) == (LINE_AMOUNT_DIGITS, 2)
    assert parsing.AMOUNT_DECIMAL_PLACES == 2
    for field in (
        Order._meta.get_field("external_id"),
        HeldOrder._meta.get_field("external_id"),
        QuarantinedOrder._meta.get_field("external_id"),
        *(
            Listing._meta.get_field(name)
            for name in (
                "external_item_id",
                "external_variation_id",
                "external_sku_id",
                "seller_sku",
            )
        ),
    ):
        assert field.max_length == parsing.ID_MAX_LENGTH, field
    assert UnmappedValue._meta.get_field("code").max_length == parsing.CODE_MAX_LENGTH
    assert UnmappedValue._meta.get_field("label").max_length == parsing.TEXT_MAX_LENGTH
    assert Order._meta.get_field("customer_name").max_length == parsing.TEXT_MAX_LENGTH
    assert Order._meta.get_field("customer_email").max_length == parsing.EMAIL_MAX_LENGTH
    assert Sku._meta.get_field("ean").max_length == parsing.EAN_MAX_LENGTH
    for name in Order.DELIVERY_FIELDS:
        expected = parsing.CEP_LENGTH if name == "delivery_postal_code" else None
        assert Order._meta.get_field(name).max_length == (
            expected or parsing.ADDRESS_TEXT_MAX_LENGTH
        ), name


# --- every adapter reads through this policy, the same way -------------------------------------


@pytest.mark.parametrize("key", sorted(VENDORS))
def test_every_adapter_declares_its_zone_and_normalizes_orders_with_one_method(key):
    import inspect

    adapter = get_adapter_class(key)
    assert isinstance(adapter.data_timezone, tzinfo)
    assert datetime(2026, 1, 5, tzinfo=adapter.data_timezone).utcoffset() is not None
    # A public instance method overriding Connector's, not a classmethod or module function.
    assert adapter.normalize_order is not Connector.normalize_order
    assert inspect.isfunction(inspect.getattr_static(adapter, "normalize_order"))
    first = list(inspect.signature(adapter.normalize_order).parameters)[:2]
    assert first == ["self", "payload"]
