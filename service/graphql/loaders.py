"""Per-request DataLoaders: one SQL statement per relation per query depth, whatever the rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
from strawberry.dataloader import DataLoader

from service.db import Conn, benchmarks, labs, models, scores, sources

Fetch = Callable[[Conn, list[int]], Awaitable[list[asyncpg.Record]]]


def _one_per_key(pool: asyncpg.Pool, fetch: Fetch) -> DataLoader[int, asyncpg.Record | None]:
    async def load(ids: Sequence[int]) -> list[asyncpg.Record | None]:
        async with pool.acquire() as conn:
            rows = {row["id"]: row for row in await fetch(conn, list(ids))}
        return [rows.get(row_id) for row_id in ids]

    return DataLoader(load_fn=load)


def _many_per_key(
    pool: asyncpg.Pool, fetch: Fetch, key: str
) -> DataLoader[int, list[asyncpg.Record]]:
    async def load(ids: Sequence[int]) -> list[list[asyncpg.Record]]:
        grouped: defaultdict[int, list[asyncpg.Record]] = defaultdict(list)
        async with pool.acquire() as conn:
            for row in await fetch(conn, list(ids)):
                grouped[row[key]].append(row)
        return [grouped[row_id] for row_id in ids]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    pool: asyncpg.Pool
    lab: DataLoader[int, asyncpg.Record | None] = field(init=False)
    model: DataLoader[int, asyncpg.Record | None] = field(init=False)
    family: DataLoader[int, asyncpg.Record | None] = field(init=False)
    source: DataLoader[int, asyncpg.Record | None] = field(init=False)
    benchmark_version: DataLoader[int, asyncpg.Record | None] = field(init=False)
    models_by_lab: DataLoader[int, list[asyncpg.Record]] = field(init=False)
    versions_by_model: DataLoader[int, list[asyncpg.Record]] = field(init=False)
    scores_by_version: DataLoader[int, list[asyncpg.Record]] = field(init=False)
    hardware_by_version: DataLoader[int, list[asyncpg.Record]] = field(init=False)

    def __post_init__(self) -> None:
        pool = self.pool
        self.lab = _one_per_key(pool, labs.by_ids)
        self.model = _one_per_key(pool, models.by_ids)
        self.family = _one_per_key(pool, labs.families_by_ids)
        self.source = _one_per_key(pool, sources.by_ids)
        self.benchmark_version = _one_per_key(pool, benchmarks.versions_by_ids)
        self.models_by_lab = _many_per_key(pool, models.by_labs, "lab_id")
        self.versions_by_model = _many_per_key(pool, models.versions_by_models, "model_id")
        self.scores_by_version = _many_per_key(pool, scores.by_versions, "version_id")
        self.hardware_by_version = _many_per_key(pool, models.hardware_by_versions, "version_id")
