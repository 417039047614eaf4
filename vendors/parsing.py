"""One policy for the values vendors send: money, quantities, timestamps, identifiers, text.

Every adapter reads vendor payloads through a `Reader` (`Connector.reader(subject)`), so the
three vendors agree on what a value means and on what happens when it cannot be read: an
`InvalidVendorData` naming the vendor, the order (or item) and the field path —

    ANYMARKET order 9001: items[0].unit is "12,3x", not an amount

— never a silent 0, never a guess. A value that is absent (None, or a blank string) is an error
too unless the caller passes `default=`: each adapter says explicitly which fields are optional
and what their absence means (no shipping charged is 0, an unknown date is None).

The policy, field type by field type:

- **Money** → `Decimal`, finite, rounded to cents (half-even, the rounding the database column
  applies anyway; vendors' JSON floats carry binary noise such as 59.900000000000006). Accepted:
  JSON numbers (a float is read through its shortest repr, so 79.9 is Decimal("79.9")), and
  strings in plain decimal notation ("79.90", " 79.9 ", "-5", "1e3"). Refused: booleans (JSON
  true is not 1), NaN/Infinity, decimal commas and thousands separators ("12,30", "1.234,56":
  ambiguous), currency signs, anything else. Negative only where the caller allows it. Bounded by
  the column that stores it: `LINE_AMOUNT_DIGITS` (erp.OrderItem.unit_price) or
  `ORDER_AMOUNT_DIGITS` (erp.Order totals), 2 of them decimal places. VTEX sends cents:
  `cents=True` divides by 100 first.
- **Quantities** → `int`: whole numbers given as JSON integers, integral floats (2.0) or strings
  ("2", "2.0"); 2.5 and booleans are refused. At least `minimum` (1 for order lines, 0 for
  stock) and at most `QUANTITY_MAX` (a 32-bit positive integer column).
- **Timestamps** → timezone-aware `datetime` in UTC, from ISO 8601 strings. A value without an
  offset is read in the vendor's documented zone, which the adapter passes explicitly
  (`Connector.data_timezone`); a naive datetime never leaves this module.
- **Identifiers** (order ids, item/SKU/variation ids, seller SKUs, EANs, de-para codes) →
  stripped `str`, from strings or JSON integers (not floats: 123.0 is not an id, and not
  booleans). Bounded by the column that stores them: `ID_MAX_LENGTH` (erp.Order.external_id,
  mappings.Listing ids, sync.HeldOrder.external_id), `CODE_MAX_LENGTH` (de-para codes),
  `EAN_MAX_LENGTH` (GTIN-14). **Too long is an error**: cutting an id would make it another id
  (or match the wrong binding). So is a control character (a NUL cannot even be stored by
  PostgreSQL, and a tab or line break in an id is never meant).
- **Free text** (titles, labels, names, e-mails) → stripped `str` (numbers are written out),
  **truncated** to the column length (`TEXT_MAX_LENGTH`, `EMAIL_MAX_LENGTH`): a shortened
  label still says what it is. NUL characters, which PostgreSQL cannot store, are dropped.
  A dict, list or boolean where text belongs is an error.
- **Postal codes (CEP)** → 8 digits, from "01310-100", "01310100" or "01.310-100"; a JSON
  integer is read with its leading zeros restored (01310100 arrives as 1310100). Absent is "";
  anything else (7 or 9 digits, letters) is an error: a carrier cannot deliver to a guessed CEP.
- **Flags** → `bool`, from JSON booleans only ("false" is not False).
- **Shapes**: `obj()` for a nested object, `objects()` for a list of objects; anything else is an
  error naming the path (an order line that is not an object is never skipped quietly).

The pure `parse_*` functions raise `Unparseable` (what is wrong, not where); the `Reader` adds
vendor, subject and path. Standard library only: the vendor layer imports no Django.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final

from vendors.errors import InvalidVendorData
from vendors.types import Address

# Mirrors of the columns the parsed values end in (tests/vendors/test_parsing.py checks them
# against the models; the vendor layer cannot import the models themselves).
ORDER_AMOUNT_DIGITS: Final = 14  # erp.Order.items_total / shipping_total / total
LINE_AMOUNT_DIGITS: Final = 12  # erp.OrderItem.unit_price
AMOUNT_DECIMAL_PLACES: Final = 2
QUANTITY_MAX: Final = 2_147_483_647  # erp.OrderItem.quantity (PositiveIntegerField)
ID_MAX_LENGTH: Final = 80  # erp.Order.external_id, mappings.Listing ids, sync.HeldOrder
CODE_MAX_LENGTH: Final = 120  # mappings.ChannelMapping.code, mappings.UnmappedValue.code
EAN_MAX_LENGTH: Final = 14  # GTIN-14; erp.Sku.ean
TEXT_MAX_LENGTH: Final = 200  # labels, titles, erp.Order.customer_name
EMAIL_MAX_LENGTH: Final = 254  # erp.Order.customer_email (EmailField)
ADDRESS_TEXT_MAX_LENGTH: Final = 120  # erp.Order.delivery_* text columns

ORDER_LINE_MINIMUM: Final = 1
STOCK_MINIMUM: Final = 0

_CENT = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)
# Plain decimal notation; no commas, no thousands separators, no underscores (Decimal("1_0")
# would otherwise read as 10), no NaN/Infinity.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SHOWN_MAX = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Unparseable(ValueError):
    """What is wrong with a value (`problem`), without where it was."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""`default=MISSING` (the default) means the field is required."""


def is_blank(value: object) -> bool:
    """Absent: None, or a string of nothing but spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


# --- the pure parsers -------------------------------------------------------------------------


def _number(value: object, problem: str) -> Decimal:
    if isinstance(value, bool):  # bool is an int subclass: JSON true must not read as 1
        raise Unparseable(problem)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unparseable(problem)
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise Unparseable(problem)
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.fullmatch(text):
            raise Unparseable(problem)
        return Decimal(text)
    raise Unparseable(problem)


def parse_money(
    value: object,
    *,
    digits: int = ORDER_AMOUNT_DIGITS,
    allow_negative: bool = False,
    cents: bool = False,
) -> Decimal:
    amount = _number(value, "not an amount")
    if cents:
        amount = amount.scaleb(-2)
    whole_digits = digits - AMOUNT_DECIMAL_PLACES
    too_large = f"larger than the {whole_digits} whole digits an amount may have"
    if amount and amount.adjusted() >= whole_digits:
        raise Unparseable(too_large)
    try:
        amount = amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        raise Unparseable(too_large) from None
    if amount.copy_abs() >= Decimal(10) ** whole_digits:  # 9999999999.999 rounds up
        raise Unparseable(too_large)
    if amount < 0 and not allow_negative:
        raise Unparseable("a negative amount")
    return amount if amount else amount.copy_abs()  # never "-0.00"


def parse_quantity(
    value: object, *, minimum: int = ORDER_LINE_MINIMUM, maximum: int = QUANTITY_MAX
) -> int:
    number = _number(value, "not a whole number")
    if number.adjusted() > len(str(maximum)):  # before int(): "1e999999999" is huge
        raise Unparseable(f"more than {maximum}")
    if number != number.to_integral_value():
        raise Unparseable("not a whole number")
    quantity = int(number)
    if quantity < minimum:
        raise Unparseable(f"less than {minimum}")
    if quantity > maximum:
        raise Unparseable(f"more than {maximum}")
    return quantity


def parse_timestamp(value: object, *, zone: tzinfo) -> datetime:
    """ISO 8601 → aware UTC datetime; an offset-less value is read in `zone` (required: the
    vendor's documented zone, never a default)."""
    problem = "not an ISO 8601 date and time"
    if not isinstance(value, str):
        raise Unparseable(problem)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Unparseable(problem) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Unparseable(problem) from None


def parse_identifier(value: object, *, max_length: int = ID_MAX_LENGTH) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unparseable("not an identifier (text or a whole number)")
    text = str(value).strip()
    if not text:
        raise Unparseable("empty")
    if len(text) > max_length:
        raise Unparseable(f"longer than {max_length} characters")
    if _CONTROL.search(text):
        raise Unparseable("holding a control character")
    return text


def parse_text(value: object, *, max_length: int = TEXT_MAX_LENGTH) -> str:
    """Free text, truncated to `max_length` characters (documented above: labels, not keys)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Unparseable("not text")
    text = value if isinstance(value, str) else str(value)
    return text.replace("\x00", "").strip()[:max_length].rstrip()


CEP_LENGTH: Final = 8
_CEP_SEPARATORS = re.compile(r"[\s.\-]")


def parse_postal_code(value: object) -> str:
    """A Brazilian CEP as its 8 digits (see the policy above)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**CEP_LENGTH:
        return str(value).zfill(CEP_LENGTH)
    if not isinstance(value, str):
        raise Unparseable("not a CEP")
    digits = _CEP_SEPARATORS.sub("", value)
    if not digits:
        return ""
    if len(digits) != CEP_LENGTH or not digits.isascii() or not digits.isdigit():
        raise Unparseable(f"not a CEP ({CEP_LENGTH} digits)")
    return digits


def parse_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise Unparseable("not true or false")
    return value


def shown(value: object) -> str:
    """A value as an error message shows it: JSON-like and short."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


# --- the reader: the same parsers, with the vendor, the subject and the field path -----------


@dataclass(frozen=True)
class Reader:
    """Reads the values of one vendor document (`subject`: "order 9001", "SKU 31") and names the
    field when one cannot be read. `zone` is the vendor's zone for offset-less timestamps."""

    vendor: str
    subject: str
    zone: tzinfo

    def about(self, subject: str) -> Reader:
        """The same reader for another subject (the order id once it is known)."""
        return replace(self, subject=subject)

    def error(self, path: str, value: object, problem: str) -> InvalidVendorData:
        where = f"{self.vendor} {self.subject}".strip()
        described = "missing" if value is None else f"{shown(value)}, {problem}"
        return InvalidVendorData(
            f"{where}: {path} is {described}",
            vendor=self.vendor,
            subject=self.subject,
            path=path,
            value=None if value is None else shown(value),
        )

    def _read(self, value: object, path: str, default: Any, parse: Callable[[object], Any]):
        if is_blank(value):
            if default is MISSING:
                raise self.error(path, value, "empty")
            return default
        try:
            return parse(value)
        except Unparseable as exc:
            raise self.error(path, value, exc.problem) from None

    def money(
        self,
        value: object,
        path: str,
        *,
        default: Decimal | _Missing = MISSING,
        digits: int = ORDER_AMOUNT_DIGITS,
        allow_negative: bool = False,
        cents: bool = False,
    ) -> Decimal:
        return self._read(
            value,
            path,
            default,
            lambda v: parse_money(v, digits=digits, allow_negative=allow_negative, cents=cents),
        )

    def quantity(
        self,
        value: object,
        path: str,
        *,
        default: int | _Missing = MISSING,
        minimum: int = ORDER_LINE_MINIMUM,
    ) -> int:
        return self._read(value, path, default, lambda v: parse_quantity(v, minimum=minimum))

    def timestamp(
        self, value: object, path: str, *, default: datetime | None | _Missing = MISSING
    ) -> datetime | None:
        return self._read(value, path, default, lambda v: parse_timestamp(v, zone=self.zone))

    def identifier(
        self,
        value: object,
        path: str,
        *,
        default: str | _Missing = MISSING,
        max_length: int = ID_MAX_LENGTH,
    ) -> str:
        return self._read(
            value, path, default, lambda v: parse_identifier(v, max_length=max_length)
        )

    def code(self, value: object, path: str, *, default: str | _Missing = MISSING) -> str:
        """A value the de-para matches on (status, carrier, service, payment, location)."""
        return self.identifier(value, path, default=default, max_length=CODE_MAX_LENGTH)

    def text(self, value: object, path: str, *, max_length: int = TEXT_MAX_LENGTH) -> str:
        """Free text; absent is "", too long is truncated."""
        return self._read(value, path, "", lambda v: parse_text(v, max_length=max_length))

    def postal_code(self, value: object, path: str) -> str:
        """A CEP's 8 digits; absent is "" (an order without delivery address)."""
        return self._read(value, path, "", parse_postal_code)

    def address(
        self,
        *,
        postal_code: tuple[object, str],
        state: tuple[object, str] | None = None,
        **texts: tuple[object, str],
    ) -> Address:
        """A delivery address from (value, path) pairs: the CEP parsed, the rest free text.
        The state is a UF when it is one ("SP", or Mercado Livre's "BR-SP"), else text."""
        uf = ""
        if state is not None:
            uf = self.text(state[0], state[1], max_length=ADDRESS_TEXT_MAX_LENGTH)
            if len(uf) == 5 and uf.upper().startswith("BR-"):
                uf = uf[3:]
            uf = uf.upper() if len(uf) == 2 else uf
        return Address(
            postal_code=self.postal_code(*postal_code),
            state=uf,
            **{
                name: self.text(value, path, max_length=ADDRESS_TEXT_MAX_LENGTH)
                for name, (value, path) in texts.items()
            },
        )

    def flag(self, value: object, path: str, *, default: bool | _Missing = MISSING) -> bool:
        if value is None:
            if default is MISSING:
                raise self.error(path, value, "empty")
            return default  # type: ignore[return-value]
        try:
            return parse_flag(value)
        except Unparseable as exc:
            raise self.error(path, value, exc.problem) from None

    def obj(
        self, value: object, path: str, *, default: Mapping | _Missing = MISSING
    ) -> Mapping[str, Any]:
        if value is None:
            if default is MISSING:
                raise self.error(path, value, "empty")
            return default  # type: ignore[return-value]
        if not isinstance(value, Mapping):
            raise self.error(path, value, "not an object")
        return value

    def objects(
        self, value: object, path: str, *, default: list | _Missing = MISSING
    ) -> list[Mapping[str, Any]]:
        """A list whose every element is an object; `path[i]` names a stray element."""
        if value is None:
            if default is MISSING:
                raise self.error(path, value, "empty")
            return default  # type: ignore[return-value]
        if not isinstance(value, list):
            raise self.error(path, value, "not a list")
        for index, element in enumerate(value):
            if not isinstance(element, Mapping):
                raise self.error(f"{path}[{index}]", element, "not an object")
        return value
