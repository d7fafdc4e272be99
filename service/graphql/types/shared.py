"""What the object types share: the record type, nested-list limits, dates, countries and
the Node interface. (The enums are registered by service.graphql.vocabularies.)
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
    date: dt.date = strawberry.field(
        description="The day; for a coarser precision, the last day of the period (2026-06-30 "
        "for June 2026)."
    )
    precision: enums.DatePrecision = strawberry.field(
        description="How exact the date is: DAY, MONTH, QUARTER, HALF or YEAR."
    )


def country(code: str) -> Country:
    # The same ISO 3166-1 names the migration loaded into the country table.
    entry = pycountry.countries.get(alpha_2=code)
    name = code if entry is None else getattr(entry, "common_name", entry.name)
    return Country(code=code, name=name)


@strawberry.interface(description="An object with a stable, opaque global id: node(id:) finds it.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's global id: opaque (compare it, never decode it), stable, "
        "and accepted by node(id:) and by every input that takes an id."
    )


@strawberry.type(description="An ISO 3166-1 country.")
class Country:
    code: str = strawberry.field(description="Its ISO 3166-1 alpha-2 code, upper case ('KR').")
    name: str = strawberry.field(
        description="Its common English name ('South Korea'), from ISO 3166-1."
    )
