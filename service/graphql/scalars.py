"""Custom scalars, and the GraphQL scalar each input field type (service.validation) travels as.

GraphQL's Int is 32-bit; parameter counts need more. The inputs' own types map onto scalars
the schema already has, by the very same definition, so they add no scalar of their own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

from service import validation

BigInt = NewType("BigInt", int)


def _parse_big_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("BigInt must be an integer or a string of digits")
    return int(value)


_BIG_INT = strawberry.scalar(
    name="BigInt",
    description="An integer beyond 32 bits, sent as a JSON number (exact up to 2^53).",
    serialize=int,
    parse_value=_parse_big_int,
)
_ID = DEFAULT_SCALAR_REGISTRY[strawberry.ID]

SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: _BIG_INT,
    validation.ParameterCount: _BIG_INT,
    # Scores, scales and weights are decimals in the registry and Floats on the read side.
    Decimal: DEFAULT_SCALAR_REGISTRY[float],
    validation.RunConfiguration: DEFAULT_SCALAR_REGISTRY[JSON],
    # A public id is an `ID`; the input decodes it (service.validation.PublicId).
    validation.ScoreId: _ID,
    validation.SourceId: _ID,
}
