"""What the change feed costs a write: `python -m bench.write_cost [--scale 300k]`.

On a throwaway embedded PostgreSQL (or, with BENCH_DATABASE_URL, a database of its own on that
server), migrated and loaded with the demo data or with bench/run's synthetic dataset, it
prints the median time of:

- createLab: one audit event, numbered at commit (service/db/feed.py);
- recordScore: the same, plus the events derived from a score write (service/derived.py);
- the derived step alone for a score write: the rankings lock and top 10 before, then the
  top 10 after and one probe each for the write's country and lab (run on an already
  recorded score, in a transaction rolled back).

Scores written before the feed existed (the synthetic dataset) have no crossings recorded: a
warm-up pass writes one score per measured model first, so the figures are the steady state.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from bench import dataset
from bench.config import SCALES
from service import commands, derived, inputs, migrate, seed, validation
from service.db.pool import connect, create_pool
from service.embedded import EmbeddedPostgres

SOURCE = {"new": {"kind": "LEADERBOARD", "title": "Write-cost bench", "publisher": "Bench"}}


async def _median_ms(runs: int, step: Callable[[int], Awaitable[object]]) -> float:
    times = []
    for run in range(runs):
        started = time.perf_counter()
        await step(run)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _score(model: str, version: str, benchmark: str) -> inputs.ScoreInput:
    data = {
        "model": model,
        "version": version,
        "benchmark": benchmark,
        "value": 41,
        "measuredOn": "2026-06-01",
        "provenance": "INDEPENDENT",
        "source": SOURCE,
    }
    return validation.parse(inputs.ScoreInput, data)


async def _measure(dsn: str, writes: int) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            benchmark = await conn.fetchval("SELECT slug FROM benchmark WHERE is_index LIMIT 1")
            versions = await conn.fetch(
                "SELECT model.slug, model_version.label FROM model_version "
                "JOIN model ON model.id = model_version.model_id ORDER BY model_version.id "
                "LIMIT $1",
                writes,
            )
            pairs = [(row["slug"], row["label"]) for row in versions]
            for model, version in pairs:  # warm-up: crossings recorded, plans cached
                await commands.record_score(conn, "bench", _score(model, version, benchmark))

            async def lab(run: int) -> None:
                data = {"slug": f"bench-{uuid.uuid4().hex[:10]}", "name": "Bench lab"}
                await commands.create_lab(conn, "bench", validation.parse(inputs.LabInput, data))

            async def score(run: int) -> None:
                model, version = pairs[run % len(pairs)]
                await commands.record_score(conn, "bench", _score(model, version, benchmark))

            cause = await conn.fetchval(
                "SELECT max(id) FROM audit_event WHERE operation = 'recordScore'"
            )

            async def derived_step(run: int) -> None:
                transaction = conn.transaction()
                await transaction.start()
                earlier = await derived.before(conn, "recordScore")
                await derived.record(conn, earlier, actor="bench", cause_id=cause)
                await transaction.rollback()

            scores = await conn.fetchval("SELECT count(*) FROM score")
            print(f"{scores} scores, {len(pairs)} models written to, medians of {writes} writes:")
            for label, step in [
                ("createLab", lab),
                ("recordScore, with its derived events", score),
                ("the derived step alone", derived_step),
            ]:
                print(f"  {label:<40} {await _median_ms(writes, step):7.1f} ms")
    finally:
        await pool.close()


async def _prepare(server_dsn: str, scale: str | None) -> str:
    name = f"write_cost_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    dsn = server_dsn.rsplit("/", 1)[0] + "/" + name
    await migrate.upgrade_async(dsn)
    if scale is None:
        conn = await connect(dsn)
        try:
            await seed.seed(conn)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    else:
        await dataset.load(dsn, SCALES[scale])
    return dsn


async def _drop(server_dsn: str, dsn: str) -> None:
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[1]} WITH (FORCE)")
    finally:
        await admin.close()


async def _run(server_dsn: str, scale: str | None, writes: int) -> None:
    dsn = await _prepare(server_dsn, scale)
    try:
        await _measure(dsn, writes)
    finally:
        await _drop(server_dsn, dsn)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.write_cost", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default=None, help="synthetic data")
    parser.add_argument("--writes", type=int, default=30, help="writes per figure (30)")
    args = parser.parse_args()
    server = os.environ.get("BENCH_DATABASE_URL")
    if server:
        asyncio.run(_run(server, args.scale, args.writes))
        return
    with tempfile.TemporaryDirectory() as work, EmbeddedPostgres(Path(work) / "pg") as dsn:
        asyncio.run(_run(dsn, args.scale, args.writes))


if __name__ == "__main__":
    main()
