"""GTIN-13 (EAN-13) check digits for the codes the emulators give their SKUs.

Computed here, from GS1's rule (weights 1 and 3 from the left over the 12-digit body; the
check digit brings the sum to a multiple of 10), not borrowed from `erp`: the emulators stand
apart from the code they test.
"""


def gtin13(body12: str) -> str:
    """Complete a 12-digit body with its GS1 check digit."""
    if len(body12) != 12 or not body12.isdigit():
        raise ValueError(f"a GTIN-13 body has 12 digits, got {body12!r}")
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)
