def gtin13_with_check_digit(body12: str) -> str:
    """Complete a 12-digit body with its EAN-13 check digit."""
    if len(body12) != 12 or not body12.isdigit():
        raise ValueError("an EAN-13 body has 12 digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)
