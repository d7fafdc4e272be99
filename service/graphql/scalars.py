"""Custom scalars. GraphQL's Int is 32-bit; parameter counts need more."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

BigInt = NewType("BigInt", int)


def _parse_big_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("BigInt must be an integer or a string of digits")
    return int(value)


SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="An integer beyond 32 bits, sent as a JSON number (exact up to 2^53).",
        serialize=int,
        parse_value=_parse_big_int,
    ),
}
