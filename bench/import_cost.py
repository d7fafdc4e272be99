"""What `registry import` costs: `python -m bench.import_cost [--scores 2000]`.

On a throwaway embedded PostgreSQL (or, with BENCH_DATABASE_URL, databases of its own on that
server), it loads bench/run's synthetic dataset at about --scores scores, exports every table
(NDJSON, as `registry export --dir` does), then imports the files twice into new, migrated,
empty databases, timed: without the scores file, then with every file. The difference is
what the scores cost; it prints both, the cost per score, and the derived events (threshold
crossings, leaderboard entries) the full import recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bench import dataset
from bench.config import Scale
from service import migrate
from service.db import export
from service.db.pool import connect
from service.embedded import EmbeddedPostgres
from service.export import TABLES, Format, write_table
from service.importer import load


async def _database(server_dsn: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    dsn = server_dsn.rsplit("/", 1)[0] + "/" + name
    await migrate.upgrade_async(dsn)
    return dsn


async def _drop(server_dsn: str, dsn: str) -> None:
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[1]} WITH (FORCE)")
    finally:
        await admin.close()


async def _consistent(dsn: str) -> None:
    """The synthetic data set some verifications before their score's measurement, which the
    commands (and so the import) refuse: moved to the day measured."""
    conn = await connect(dsn)
    try:
        await conn.execute(
            "UPDATE score SET verification_changed_on = measured_on "
            "WHERE verification_changed_on < measured_on"
        )
    finally:
        await conn.close()


async def _export(dsn: str, out: Path) -> None:
    conn = await connect(dsn)
    try:
        async with export.snapshot(conn) as position:
            for table in TABLES:
                with (out / f"{table}.ndjson").open("wb") as file:
                    await write_table(
                        conn, table, Format.NDJSON, file.write, position=position, as_of=None
                    )
    finally:
        await conn.close()


async def _import(dsn: str, files: list[Path]) -> tuple[float, int, int]:
    """(seconds, scores, derived events) of one import."""
    conn = await connect(dsn)
    try:
        started = time.perf_counter()
        await load(conn, files, "bench")
        seconds = time.perf_counter() - started
        scores = await conn.fetchval("SELECT count(*) FROM score")
        events = await conn.fetchval("SELECT count(*) FROM audit_event WHERE cause_id IS NOT NULL")
        return seconds, scores, events
    finally:
        await conn.close()


async def _run(server_dsn: str, scores: int) -> None:
    models = max(scores // 50, 2)
    scale = Scale("import", labs=max(models // 20, 1), models=models, scores=scores,
                  sources=max(models // 3, 1))  # fmt: skip
    made = [await _database(server_dsn, "import_from")]
    try:
        await dataset.load(made[0], scale)
        await _consistent(made[0])
        with tempfile.TemporaryDirectory() as work:
            out = Path(work)
            await _export(made[0], out)
            every = [out / f"{table}.ndjson" for table in TABLES]
            made.append(await _database(server_dsn, "import_rest"))
            rest, _, _ = await _import(made[-1], [f for f in every if f.stem != "scores"])
            made.append(await _database(server_dsn, "import_all"))
            whole, count, events = await _import(made[-1], every)
        per_score = (whole - rest) / count * 1000 if count else 0.0
        print(f"registry import of {count} scores and the rows they refer to:")
        print(f"  everything but the scores {rest:8.1f} s")
        print(f"  everything                {whole:8.1f} s ({events} derived events)")
        print(f"  per score                 {per_score:8.1f} ms")
    finally:
        for dsn in made:
            await _drop(server_dsn, dsn)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_cost", description=__doc__)
    parser.add_argument("--scores", type=int, default=2000, help="synthetic scores (2000)")
    args = parser.parse_args()
    server = os.environ.get("BENCH_DATABASE_URL")
    if server:
        asyncio.run(_run(server, args.scores))
        return
    with tempfile.TemporaryDirectory() as work, EmbeddedPostgres(Path(work) / "pg") as dsn:
        asyncio.run(_run(dsn, args.scores))


if __name__ == "__main__":
    main()
