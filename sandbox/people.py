"""Buyers' documents and delivery addresses for the emulators' orders.

Deterministic (the n-th order gets the n-th address of a short list of real-looking Brazilian
addresses) and vendor-neutral: each emulator lays them out in its own vendor's shape.
"""

from __future__ import annotations

from dataclasses import dataclass


def cpf(number: int) -> str:
    """A CPF (11 digits, valid check digits) derived from `number`."""
    digits = [int(d) for d in f"{(123456789 + number * 7919) % 10**9:09d}"]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits[:length]))
        digits.append((total * 10 % 11) % 10)
    return "".join(map(str, digits))


@dataclass(frozen=True)
class Place:
    street: str
    number: str
    complement: str
    district: str
    city: str
    state: str  # UF
    state_name: str
    cep: str  # 8 digits
    phone: str


PLACES = (
    Place(
        "Avenida Paulista",
        "1000",
        "Conjunto 42",
        "Bela Vista",
        "São Paulo",
        "SP",
        "São Paulo",
        "01310100",
        "11987654321",
    ),
    Place(
        "Rua Eduardo Carlos Pereira",
        "4125",
        "Apto 101",
        "Portão",
        "Curitiba",
        "PR",
        "Paraná",
        "81020235",
        "41998765432",
    ),
    Place(
        "Rua da Praia",
        "350",
        "",
        "Centro Histórico",
        "Porto Alegre",
        "RS",
        "Rio Grande do Sul",
        "90010000",
        "51991234567",
    ),
    Place(
        "Avenida Afonso Pena",
        "1500",
        "Loja 3",
        "Centro",
        "Belo Horizonte",
        "MG",
        "Minas Gerais",
        "30130005",
        "31993456789",
    ),
    Place(
        "Rua Chile",
        "22",
        "",
        "Centro",
        "Salvador",
        "BA",
        "Bahia",
        "40020000",
        "71994567890",
    ),
)


def place(number: int) -> Place:
    return PLACES[number % len(PLACES)]
