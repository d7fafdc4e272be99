"""The matching rules: which recorded labs and models a new one probably duplicates.

A write is never refused for them: the payload warns, and the client (a person, or an
importer deciding between merging and creating: service.importer) chooses. The SQL is
service.db.matching.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from service.db import Conn, matching
from service.enums import WarningCode


@dataclass(frozen=True)
class ProbableDuplicate:
    code: WarningCode
    field: str
    message: str
    type_name: str  # "Lab" or "Model": what `row_id` names
    row_id: int


Lookup = Callable[[Conn, int, str, str], Awaitable[list[asyncpg.Record]]]


async def _duplicates(
    conn: Conn, key: tuple[int, str, str], lookup: Lookup, type_name: str
) -> list[ProbableDuplicate]:
    found = await lookup(conn, *key)
    what = type_name.lower()
    return [
        ProbableDuplicate(
            code=WarningCode(match["code"]),
            field=match["field"],
            message=_message(match, what),
            type_name=type_name,
            row_id=match["id"],
        )
        for match in found
    ]


def _key(row: asyncpg.Record) -> tuple[int, str, str]:
    return row["id"], row["slug"], row["name"]


def _message(match: asyncpg.Record, what: str) -> str:
    existing = f"{what} {match['slug']!r} ({match['name']})"
    if match["code"] == WarningCode.KNOWN_EXTERNAL_ID:
        return (
            f"{match['system']} {match['external_key']!r} already names {existing}; the same one?"
        )
    return f"resembles {existing}; the same one?"


async def lab_duplicates(conn: Conn, row: asyncpg.Record) -> list[ProbableDuplicate]:
    return await _duplicates(conn, _key(row), matching.similar_labs, "Lab")


async def model_duplicates(conn: Conn, row: asyncpg.Record) -> list[ProbableDuplicate]:
    return await _duplicates(conn, _key(row), matching.similar_models, "Model")


async def lab_candidates(conn: Conn, slug: str, name: str) -> list[ProbableDuplicate]:
    """What a lab not yet written would duplicate: the rules an import merges by."""
    return await _duplicates(conn, (0, slug, name), matching.similar_labs, "Lab")


async def model_candidates(conn: Conn, slug: str, name: str) -> list[ProbableDuplicate]:
    return await _duplicates(conn, (0, slug, name), matching.similar_models, "Model")
