"""Per-request DataLoaders: one SQL statement per relation per query depth, whatever the rows.

Loaders are created lazily on first use, so a request pays only for the relations it asks for.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property, partial

import asyncpg
from strawberry.dataloader import DataLoader

from service.db import Conn, benchmarks, catalog, history, labs, models, scores, sources

Fetch = Callable[[Conn, list[int]], Awaitable[list[asyncpg.Record]]]
One = DataLoader[int, asyncpg.Record | None]
# (target id, as-of date, provenances counted) -> the target's outcome row
OutcomeKey = tuple[int, dt.date, tuple[str, ...]]
Many = DataLoader[int, list[asyncpg.Record]]


def _one_per_key(pool: asyncpg.Pool, fetch: Fetch) -> One:
    async def load(ids: Sequence[int]) -> list[asyncpg.Record | None]:
        async with pool.acquire() as conn:
            rows = {row["id"]: row for row in await fetch(conn, list(ids))}
        return [rows.get(row_id) for row_id in ids]

    return DataLoader(load_fn=load)


def _many_per_key(pool: asyncpg.Pool, fetch: Fetch, key: str) -> Many:
    async def load(ids: Sequence[int]) -> list[list[asyncpg.Record]]:
        grouped: defaultdict[int, list[asyncpg.Record]] = defaultdict(list)
        async with pool.acquire() as conn:
            for row in await fetch(conn, list(ids)):
                grouped[row[key]].append(row)
        return [grouped[row_id] for row_id in ids]

    return DataLoader(load_fn=load)


def _rows_of(type_name: str) -> Fetch:
    return partial(catalog.by_ids, type_name=type_name)


class Loaders:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def by_type(self, type_name: str) -> One | None:
        """The to-one loader for a GraphQL type name, for node(id:)."""
        name = _BY_TYPE.get(type_name)
        loader: One | None = None if name is None else getattr(self, name)
        return loader

    @cached_property
    def lab(self) -> One:
        return _one_per_key(self.pool, labs.by_ids)

    @cached_property
    def model(self) -> One:
        return _one_per_key(self.pool, models.by_ids)

    @cached_property
    def family(self) -> One:
        return _one_per_key(self.pool, labs.families_by_ids)

    @cached_property
    def source(self) -> One:
        return _one_per_key(self.pool, sources.by_ids)

    @cached_property
    def benchmark_version(self) -> One:
        return _one_per_key(self.pool, benchmarks.versions_by_ids)

    @cached_property
    def version(self) -> One:
        return _one_per_key(self.pool, _rows_of("Version"))

    @cached_property
    def score(self) -> One:
        return _one_per_key(self.pool, _rows_of("Score"))

    @cached_property
    def benchmark(self) -> One:
        return _one_per_key(self.pool, _rows_of("Benchmark"))

    @cached_property
    def program(self) -> One:
        return _one_per_key(self.pool, _rows_of("Program"))

    @cached_property
    def target(self) -> One:
        return _one_per_key(self.pool, _rows_of("Target"))

    @cached_property
    def lineage_link(self) -> One:
        return _one_per_key(self.pool, _rows_of("LineageLink"))

    @cached_property
    def external_id(self) -> One:
        return _one_per_key(self.pool, _rows_of("ExternalId"))

    @cached_property
    def models_by_lab(self) -> Many:
        return _many_per_key(self.pool, models.by_labs, "lab_id")

    @cached_property
    def versions_by_model(self) -> Many:
        return _many_per_key(self.pool, models.versions_by_models, "model_id")

    @cached_property
    def scores_by_version(self) -> Many:
        return _many_per_key(self.pool, scores.by_versions, "version_id")

    @cached_property
    def hardware_by_version(self) -> Many:
        return _many_per_key(self.pool, models.hardware_by_versions, "version_id")

    @cached_property
    def promoted_to(self) -> Many:
        return _many_per_key(self.pool, catalog.versions_promoted_from, "promoted_from_id")

    @cached_property
    def versions_by_benchmark(self) -> Many:
        return _many_per_key(self.pool, catalog.benchmark_versions_by_benchmarks, "benchmark_id")

    @cached_property
    def components_by_version(self) -> Many:
        return _many_per_key(self.pool, catalog.components_by_versions, "benchmark_version_id")

    @cached_property
    def participants_by_program(self) -> Many:
        return _many_per_key(self.pool, catalog.participants_by_programs, "program_id")

    @cached_property
    def status_by_participant(self) -> Many:
        return _many_per_key(self.pool, catalog.status_by_participants, "participant_id")

    @cached_property
    def programs_by_lab(self) -> Many:
        return _many_per_key(self.pool, catalog.programs_by_labs, "lab_id")

    @cached_property
    def external_ids_by_model(self) -> Many:
        return _many_per_key(self.pool, catalog.external_ids_by_models, "model_id")

    @cached_property
    def external_ids_by_lab(self) -> Many:
        return _many_per_key(self.pool, catalog.external_ids_by_labs, "lab_id")

    @cached_property
    def parents_by_model(self) -> Many:
        return _many_per_key(self.pool, catalog.parent_links_by_models, "child_model_id")

    @cached_property
    def children_by_model(self) -> Many:
        return _many_per_key(self.pool, catalog.child_links_by_models, "parent_model_id")

    @cached_property
    def target_outcome(self) -> DataLoader[OutcomeKey, asyncpg.Record]:
        async def load(keys: Sequence[OutcomeKey]) -> list[asyncpg.Record]:
            by_provenance: defaultdict[tuple[str, ...], list[OutcomeKey]] = defaultdict(list)
            for key in keys:
                by_provenance[key[2]].append(key)
            found: dict[OutcomeKey, asyncpg.Record] = {}
            async with self.pool.acquire() as conn:
                for provenances, group in by_provenance.items():
                    pairs = [(key[0], key[1]) for key in group]
                    for row in await history.target_outcomes(conn, pairs, list(provenances)):
                        found[(row["target_id"], row["as_of"], provenances)] = row
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
