"""Per-request DataLoaders: one SQL statement per relation per query depth, whatever the rows.

Loaders are created lazily on first use, so a request pays only for the relations it asks for.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property, partial

import asyncpg
from strawberry.dataloader import DataLoader

from service.db import Conn, benchmarks, catalog, history, labs, models, scores, sources

Fetch = Callable[[Conn, list[int]], Awaitable[list[asyncpg.Record]]]
One = DataLoader[int, asyncpg.Record | None]
# (target id, as-of date, provenances counted, transaction time asked or None for now) -> the
# target's outcome row
OutcomeKey = tuple[int, dt.date, tuple[str, ...], dt.datetime | None]
Many = DataLoader[int, list[asyncpg.Record]]
# A span around one batch (service.tracing): the loader's name and how many keys it loads.
BatchSpan = Callable[[str, int], AbstractContextManager[object]]


def untraced(loader: str, keys: int) -> AbstractContextManager[object]:
    return nullcontext()


def _name(fetch: Fetch) -> str:
    if isinstance(fetch, partial):
        arguments = ", ".join(str(value) for value in fetch.keywords.values())
        return f"{_name(fetch.func)}({arguments})"
    return f"{fetch.__module__.rsplit('.', 1)[-1]}.{fetch.__name__}"


def _one_per_key(pool: asyncpg.Pool, fetch: Fetch, span: BatchSpan = untraced) -> One:
    name = _name(fetch)

    async def load(ids: Sequence[int]) -> list[asyncpg.Record | None]:
        with span(name, len(ids)):
            async with pool.acquire() as conn:
                rows = {row["id"]: row for row in await fetch(conn, list(ids))}
        return [rows.get(row_id) for row_id in ids]

    return DataLoader(load_fn=load)


def _many_per_key(pool: asyncpg.Pool, fetch: Fetch, key: str, span: BatchSpan = untraced) -> Many:
    name = _name(fetch)

    async def load(ids: Sequence[int]) -> list[list[asyncpg.Record]]:
        grouped: defaultdict[int, list[asyncpg.Record]] = defaultdict(list)
        with span(name, len(ids)):
            async with pool.acquire() as conn:
                for row in await fetch(conn, list(ids)):
                    grouped[row[key]].append(row)
        return [grouped[row_id] for row_id in ids]

    return DataLoader(load_fn=load)


def _rows_of(type_name: str) -> Fetch:
    return partial(catalog.by_ids, type_name=type_name)


class Loaders:
    def __init__(self, pool: asyncpg.Pool, span: BatchSpan = untraced) -> None:
        self.pool = pool
        self.span = span

    def _one(self, fetch: Fetch) -> One:
        return _one_per_key(self.pool, fetch, self.span)

    def _many(self, fetch: Fetch, key: str) -> Many:
        return _many_per_key(self.pool, fetch, key, self.span)

    def by_type(self, type_name: str) -> One | None:
        """The to-one loader for a GraphQL type name, for node(id:)."""
        name = _BY_TYPE.get(type_name)
        loader: One | None = None if name is None else getattr(self, name)
        return loader

    @cached_property
    def verification_changes(self) -> Many:
        return self._many(scores.verification_changes, "score_id")

    @cached_property
    def lab(self) -> One:
        return self._one(labs.by_ids)

    @cached_property
    def model(self) -> One:
        return self._one(models.by_ids)

    @cached_property
    def family(self) -> One:
        return self._one(labs.families_by_ids)

    @cached_property
    def source(self) -> One:
        return self._one(sources.by_ids)

    @cached_property
    def benchmark_version(self) -> One:
        return self._one(benchmarks.versions_by_ids)

    @cached_property
    def version(self) -> One:
        return self._one(_rows_of("Version"))

    @cached_property
    def score(self) -> One:
        return self._one(_rows_of("Score"))

    @cached_property
    def benchmark(self) -> One:
        return self._one(_rows_of("Benchmark"))

    @cached_property
    def program(self) -> One:
        return self._one(_rows_of("Program"))

    @cached_property
    def target(self) -> One:
        return self._one(_rows_of("Target"))

    @cached_property
    def lineage_link(self) -> One:
        return self._one(_rows_of("LineageLink"))

    @cached_property
    def external_id(self) -> One:
        return self._one(_rows_of("ExternalId"))

    @cached_property
    def models_by_lab(self) -> Many:
        return self._many(models.by_labs, "lab_id")

    @cached_property
    def versions_by_model(self) -> Many:
        return self._many(models.versions_by_models, "model_id")

    @cached_property
    def scores_by_version(self) -> Many:
        return self._many(scores.by_versions, "version_id")

    @cached_property
    def hardware_by_version(self) -> Many:
        return self._many(models.hardware_by_versions, "version_id")

    @cached_property
    def promoted_to(self) -> Many:
        return self._many(catalog.versions_promoted_from, "promoted_from_id")

    @cached_property
    def versions_by_benchmark(self) -> Many:
        return self._many(catalog.benchmark_versions_by_benchmarks, "benchmark_id")

    @cached_property
    def components_by_version(self) -> Many:
        return self._many(catalog.components_by_versions, "benchmark_version_id")

    @cached_property
    def participants_by_program(self) -> Many:
        return self._many(catalog.participants_by_programs, "program_id")

    @cached_property
    def status_by_participant(self) -> Many:
        return self._many(catalog.status_by_participants, "participant_id")

    @cached_property
    def programs_by_lab(self) -> Many:
        return self._many(catalog.programs_by_labs, "lab_id")

    @cached_property
    def external_ids_by_model(self) -> Many:
        return self._many(catalog.external_ids_by_models, "model_id")

    @cached_property
    def external_ids_by_lab(self) -> Many:
        return self._many(catalog.external_ids_by_labs, "lab_id")

    @cached_property
    def parents_by_model(self) -> Many:
        return self._many(catalog.parent_links_by_models, "child_model_id")

    @cached_property
    def children_by_model(self) -> Many:
        return self._many(catalog.child_links_by_models, "parent_model_id")

    @cached_property
    def target_outcome(self) -> DataLoader[OutcomeKey, asyncpg.Record]:
        async def load(keys: Sequence[OutcomeKey]) -> list[asyncpg.Record]:
            by_provenance: defaultdict[tuple[str, ...], list[OutcomeKey]] = defaultdict(list)
            for key in keys:
                by_provenance[key[2]].append(key)
            found: dict[OutcomeKey, asyncpg.Record] = {}
            with self.span("history.target_outcomes", len(keys)):
                async with self.pool.acquire() as conn:
                    for provenances, group in by_provenance.items():
                        asked = [(key[0], key[1], key[3]) for key in group]
                        rows = await history.target_outcomes(conn, asked, list(provenances))
                        for row in rows:
                            key = (row["target_id"], row["as_of"], provenances, row["asked"])
                            found[key] = row
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)


_BY_TYPE = {
    "Lab": "lab",
    "Model": "model",
    "ModelFamily": "family",
    "Source": "source",
    "BenchmarkVersion": "benchmark_version",
    "Version": "version",
    "Score": "score",
    "Benchmark": "benchmark",
    "Program": "program",
    "Target": "target",
    "LineageLink": "lineage_link",
    "ExternalId": "external_id",
}
