"""What the object types share: the record type, the enums, nested-list limits, dates,
countries and the Node interface.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import asyncpg
import pycountry
import strawberry

from service import enums
from service.graphql.errors import ClientError
from service.graphql.limits import NESTED_LIST_CAP

# A database record, or a composite row joined into one (asyncpg decodes both as mappings).
Row = asyncpg.Record | Mapping[str, Any]


# The vocabularies of service.enums become GraphQL enums of the same names and values.
strawberry.enum(enums.VersionStage, description="PREVIEW or FINAL release.")
strawberry.enum(
    enums.DatePrecision, description="How exact a date is; coarser dates hold the period's end."
)
for _vocabulary in (
    enums.TrainingOrigin,
    enums.Modality,
    enums.NumericPrecision,
    enums.ScoreQualifier,
    enums.Provenance,
    enums.Verification,
    enums.SourceKind,
    enums.LineageRelation,
    enums.ParticipantStatus,
    enums.ExternalSystem,
    enums.FitBasis,
    enums.TargetStatus,
    enums.LineageDirection,
    enums.CrossingGroup,
    enums.OrderDirection,
):
    strawberry.enum(_vocabulary)


def capped(first: int | None) -> int:
    """`first` of a nested list, which may not exceed the cap its cost is counted with."""
    if first is None:
        return NESTED_LIST_CAP
    if not 0 <= first <= NESTED_LIST_CAP:
        raise ClientError(
            f"first must be between 0 and {NESTED_LIST_CAP}", "OUT_OF_RANGE", field="first"
        )
    return first


FIRST = strawberry.argument(description=f"At most this many (at most {NESTED_LIST_CAP}).")


def precise(on: dt.date | None, precision: str | None) -> PreciseDate | None:
    if on is None or precision is None:
        return None
    return PreciseDate(date=on, precision=enums.DatePrecision(precision))


@strawberry.type(description="A date and how exact it is: 2026-06-30 with MONTH is 'June 2026'.")
class PreciseDate:
    date: dt.date
    precision: enums.DatePrecision


def country(code: str) -> Country:
    # The same ISO 3166-1 names the migration loaded into the country table.
    entry = pycountry.countries.get(alpha_2=code)
    name = code if entry is None else getattr(entry, "common_name", entry.name)
    return Country(code=code, name=name)


@strawberry.interface(description="An object with a stable, opaque global id: node(id:) finds it.")
class Node:
    id: strawberry.ID


@strawberry.type(description="An ISO 3166-1 country.")
class Country:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    name: str
