"""Leaderboards and country rankings as of any date, as cursor connections."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated

import asyncpg
import strawberry

from service import clock, enums
from service.db import Conn, rankings
from service.db.pages import Page
from service.graphql import pagination
from service.graphql.arguments import (
    AsOf,
    BenchmarkRef,
    BenchmarkVersionLabel,
    Provenances,
    Verifications,
)
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.pagination import After, Before, First, Last, PageInfo
from service.graphql.types import BenchmarkVersion, Country, Lab, Model, Row, Score, Version

KNOWN_AT = (
    "The transaction time this answer is for: what the registry had recorded by then. The "
    "knownAt asked, or the time of the registry's latest write when that is earlier (by "
    "default): asked again with this knownAt, the same question gets the same answer."
)
KNOWN_AT_ARGUMENT = (
    "Answer from what the registry had recorded by this time (default: now), whatever was "
    "written since. A time without an offset is UTC."
)


@strawberry.type(description="One model's best eligible score, and where it ranks.")
class LeaderboardEntry:
    rank: int = strawberry.field(
        description="1 for the best; ties share a rank (1, 1, 3); an AT_LEAST score ranks at "
        "its bound."
    )
    score: Score = strawberry.field(description="The model's best score counted on the date.")
    version: Version = strawberry.field(description="The version that score is of.")
    model: Model = strawberry.field(description="The model ranked.")
    lab: Lab = strawberry.field(description="The model's lab.")
    country: Country | None = strawberry.field(
        description="The lab's country; null when it is not known."
    )

    @classmethod
    def from_record(cls, row: Row) -> LeaderboardEntry:
        lab = Lab.from_record({**dict(row["lab"].items()), "country_name": row["country_name"]})
        return cls(
            rank=row["rank"],
            # Eligible as of the date means not superseded as of it.
            score=Score.as_known({**dict(row.items()), "superseded": False}),
            version=Version.from_record(row["version"]),
            model=Model.from_record(row["model"]),
            lab=lab,
            country=lab.country,
        )


@strawberry.type(description="A country's standing: its best entry.")
class CountryStanding:
    rank: int = strawberry.field(description="1 for the best; ties share a rank.")
    country: Country = strawberry.field(description="The country ranked.")
    entry: LeaderboardEntry = strawberry.field(
        description="Its best entry: the model that ranks it, with its rank among models."
    )


@strawberry.type(description="One entry of a leaderboard page and its cursor.")
class LeaderboardEdge:
    cursor: str = strawberry.field(description="Where this edge stands: after/before take it.")
    node: LeaderboardEntry = strawberry.field(description="The entry.")


@strawberry.type(description="One standing of a country ranking page and its cursor.")
class CountryStandingEdge:
    cursor: str = strawberry.field(description="Where this edge stands: after/before take it.")
    node: CountryStanding = strawberry.field(description="The standing.")


@strawberry.type
class _Ranking:
    benchmark_version: BenchmarkVersion = strawberry.field(
        description="The method version ranked: the one asked for, or the one in effect on asOf."
    )
    as_of: dt.date = strawberry.field(description="The date the ranking is as of.")
    known_at: dt.datetime = strawberry.field(description=KNOWN_AT)
    page_info: PageInfo = strawberry.field(
        description="Whether more lies before or after the page, and its first and last cursor."
    )
    version_row: strawberry.Private[asyncpg.Record]
    where: strawberry.Private[rankings.RankingFilter]
    per: strawberry.Private[str]

    @strawberry.field(description="How many entries the whole ranking has (counted on request).")
    async def total_count(self, info: Info) -> int:
        async with info.context.pool.acquire() as conn:
            return await rankings.total(conn, self.version_row, self.where, per=self.per)


@strawberry.type(description="A ranking on one benchmark version as of one date.")
class Leaderboard(_Ranking):
    edges: list[LeaderboardEdge] = strawberry.field(
        description="The page's entries, best first, each with its cursor."
    )

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors.")
    def nodes(self) -> list[LeaderboardEntry]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="One standing per country on one benchmark version as of one date.")
class CountryRanking(_Ranking):
    edges: list[CountryStandingEdge] = strawberry.field(
        description="The page's standings, best first, each with its cursor."
    )

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors.")
    def nodes(self) -> list[CountryStanding]:
        return [edge.node for edge in self.edges]

    @strawberry.field(
        description="Labs with a counted score that this ranking left out because their "
        "country is not known (counted on request)."
    )
    async def labs_left_out(self, info: Info) -> int:
        async with info.context.pool.acquire() as conn:
            return await rankings.left_out(conn, self.version_row, self.where)


async def _version(
    conn: Conn, benchmark: str, label: str | None, where: rankings.RankingFilter
) -> asyncpg.Record:
    """The method version asked for, or the one in effect on the date; never a mix. Either as
    recorded by the time asked."""
    as_of = where.as_of
    asked = None if where.known_at == rankings.NOW else where.known_at
    version = await rankings.benchmark_version(conn, benchmark, label, as_of, asked)
    if version is None:
        raise ClientError(
            f"no version of benchmark {benchmark!r} "
            + (f"labelled {label!r}" if label else f"in effect on {as_of}")
            + ("" if asked is None else f" recorded by {asked.isoformat()}"),
            "NOT_FOUND",
            field="benchmarkVersion" if label else "benchmark",
        )
    return version


async def _ranked(
    info: Info,
    benchmark: str,
    benchmark_version: str | None,
    where: rankings.RankingFilter,
    per: str,
    page: Page,
) -> tuple[asyncpg.Record, rankings.RankingFilter, list[asyncpg.Record], int, int]:
    """The method version, the filter as settled for its transaction time, and the page's rows
    (one more when a next page exists) at positions offset+1.. of the ranking; where the
    page's cursors stand is counted first."""
    async with info.context.pool.acquire() as conn:
        version = await _version(conn, benchmark, benchmark_version, where)
        where = _settled(where, version)
        low, high = 0, None
        if page.after is not None or page.before is not None or page.backward:
            found = await rankings.bounds(
                conn,
                version,
                where,
                per=per,
                after=page.after,
                before=page.before,
                with_total=page.backward and page.before is None,
            )
            low, high = found["low"], found["high"] if page.before is not None else found["total"]
        offset, size = pagination.positions(low, high, page)
        rows = await rankings.ranked(conn, version, where, per=per, limit=size + 1, offset=offset)
    return version, where, rows, offset, size


def _settled(where: rankings.RankingFilter, version: asyncpg.Record) -> rankings.RankingFilter:
    """The filter for the transaction time the answer is final for (service.clock.known_at)."""
    asked = None if where.known_at == rankings.NOW else where.known_at
    settled = clock.known_at(asked, version["known_until"])
    return replace(where, known_at=settled, latest=asked is None)


def _page(
    rows: list[asyncpg.Record], offset: int, size: int, page: Page
) -> tuple[list[tuple[str, asyncpg.Record]], PageInfo]:
    shown = [(pagination.cursor(page.ordering, row["cursor_key"]), row) for row in rows[:size]]
    return shown, PageInfo(
        has_next_page=len(rows) > size,
        has_previous_page=offset > 0,
        start_cursor=shown[0][0] if shown else None,
        end_cursor=shown[-1][0] if shown else None,
    )


def _arguments(
    per: str, first: int | None, after: str | None, last: int | None, before: str | None
) -> Page:
    return pagination.page(
        rankings.ordering(by_country=per == "country"), first, after, last, before
    )


def _filter(
    as_of: dt.date | None,
    known_at: dt.datetime | None,
    provenance: list[enums.Provenance] | None,
    verification: list[enums.Verification] | None,
    stages: list[enums.VersionStage] | None = None,
    countries: list[str] | None = None,
) -> rankings.RankingFilter:
    return rankings.RankingFilter(
        as_of=as_of or clock.today(),
        known_at=clock.utc(known_at) or rankings.NOW,
        provenances=None if provenance is None else [p.value for p in provenance],
        verifications=None if verification is None else [v.value for v in verification],
        stages=None if stages is None else [s.value for s in stages],
        countries=None if countries is None else [c.upper() for c in countries],
    )


async def leaderboard(
    info: Info,
    benchmark: BenchmarkRef,
    benchmark_version: BenchmarkVersionLabel = None,
    as_of: AsOf = None,
    known_at: Annotated[
        dt.datetime | None, strawberry.argument(description=KNOWN_AT_ARGUMENT)
    ] = None,
    provenance: Provenances = None,
    verification: Verifications = None,
    stages: Annotated[
        list[enums.VersionStage] | None,
        strawberry.argument(description="Rank only versions of these stages; null for both."),
    ] = None,
    countries: Annotated[
        list[str] | None,
        strawberry.argument(
            description="Rank only models of labs in these countries (ISO 3166-1 alpha-2 "
            "codes, any case); null for every lab, those of unknown country included."
        ),
    ] = None,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
) -> Leaderboard:
    page = _arguments("model", first, after, last, before)
    where = _filter(as_of, known_at, provenance, verification, stages, countries)
    version, where, rows, offset, size = await _ranked(
        info, benchmark, benchmark_version, where, "model", page
    )
    shown, page_info = _page(rows, offset, size, page)
    return Leaderboard(
        benchmark_version=BenchmarkVersion.from_record(version),
        as_of=where.as_of,
        known_at=where.known_at,
        version_row=version,
        where=where,
        per="model",
        edges=[
            LeaderboardEdge(cursor=cursor, node=LeaderboardEntry.from_record(row))
            for cursor, row in shown
        ],
        page_info=page_info,
    )


async def country_ranking(
    info: Info,
    benchmark: BenchmarkRef,
    as_of: AsOf = None,
    known_at: Annotated[
        dt.datetime | None, strawberry.argument(description=KNOWN_AT_ARGUMENT)
    ] = None,
    provenance: Provenances = None,
    verification: Verifications = None,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
) -> CountryRanking:
    page = _arguments("country", first, after, last, before)
    where = _filter(as_of, known_at, provenance, verification)
    version, where, rows, offset, size = await _ranked(
        info, benchmark, None, where, "country", page
    )
    shown, page_info = _page(rows, offset, size, page)
    edges = []
    for cursor, row in shown:
        entry = LeaderboardEntry.from_record(row)
        assert entry.country is not None, "a country ranking walks labs with a country"
        standing = CountryStanding(rank=entry.rank, country=entry.country, entry=entry)
        edges.append(CountryStandingEdge(cursor=cursor, node=standing))
    return CountryRanking(
        benchmark_version=BenchmarkVersion.from_record(version),
        as_of=where.as_of,
        known_at=where.known_at,
        version_row=version,
        where=where,
        per="country",
        edges=edges,
        page_info=page_info,
    )


@strawberry.type(description="The first time a country or lab reached a threshold.")
class Crossing:
    order: int = strawberry.field(description="1 for the first to get there, 2 for the next...")
    reached_on: dt.date = strawberry.field(
        description="The day the score that got there was measured."
    )
    entry: LeaderboardEntry = strawberry.field(description="The score that got there.")


@strawberry.type(description="Who reached a threshold on a benchmark version, in order.")
class ThresholdCrossings:
    benchmark_version: BenchmarkVersion = strawberry.field(
        description="The method version counted: the one asked for, or the one in effect on asOf."
    )
    as_of: dt.date = strawberry.field(description="The date the crossings are as of.")
    known_at: dt.datetime = strawberry.field(description=KNOWN_AT)
    threshold: float = strawberry.field(description="The value reached, as asked.")
    crossings: list[Crossing] = strawberry.field(
        description="Each country (or lab) that reached it by asOf, first to get there first."
    )
    version_row: strawberry.Private[asyncpg.Record]
    where: strawberry.Private[rankings.RankingFilter]
    by: strawberry.Private[enums.CrossingGroup]

    @strawberry.field(
        description="By COUNTRY: labs that reached the threshold but were left out because "
        "their country is not known (0 by LAB; counted on request)."
    )
    async def labs_left_out(self, info: Info) -> int:
        async with info.context.pool.acquire() as conn:
            return await rankings.crossings_left_out(
                conn, self.version_row, self.where, by=self.by.value, threshold=self.threshold
            )


async def threshold_crossings(
    info: Info,
    benchmark: BenchmarkRef,
    threshold: Annotated[
        float,
        strawberry.argument(
            description="The value to reach, on the benchmark's scale (40 is 'past 40'); an "
            "AT_LEAST score reaches it at its bound."
        ),
    ],
    by: Annotated[
        enums.CrossingGroup, strawberry.argument(description="Count countries or labs.")
    ] = enums.CrossingGroup.COUNTRY,
    benchmark_version: BenchmarkVersionLabel = None,
    as_of: AsOf = None,
    known_at: Annotated[
        dt.datetime | None, strawberry.argument(description=KNOWN_AT_ARGUMENT)
    ] = None,
    provenance: Provenances = None,
    verification: Verifications = None,
) -> ThresholdCrossings:
    where = _filter(as_of, known_at, provenance, verification)
    async with info.context.pool.acquire() as conn:
        version = await _version(conn, benchmark, benchmark_version, where)
        where = _settled(where, version)
        rows = await rankings.crossings(conn, version, where, by=by.value, threshold=threshold)
    crossings = []
    for row in rows:
        entry = LeaderboardEntry.from_record(row)
        crossings.append(Crossing(order=entry.rank, reached_on=row["measured_on"], entry=entry))
    return ThresholdCrossings(
        benchmark_version=BenchmarkVersion.from_record(version),
        as_of=where.as_of,
        known_at=where.known_at,
        threshold=threshold,
        crossings=crossings,
        version_row=version,
        where=where,
        by=by,
    )


@strawberry.type
class RankingQuery:
    leaderboard: Leaderboard = strawberry.field(
        resolver=leaderboard,
        description="Models ranked by their best eligible score on one benchmark version, as "
        "of a date (default today). Without benchmarkVersion, the version in effect then.",
    )
    country_ranking: CountryRanking = strawberry.field(
        resolver=country_ranking,
        description="One standing per country: its best eligible entry, as of a date.",
    )

    threshold_crossings: ThresholdCrossings = strawberry.field(
        resolver=threshold_crossings,
        description="Which countries (or labs) reached a value, the first date each did, "
        "with which version and score, in order: 'the third country past 40'.",
    )
