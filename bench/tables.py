"""The per-query tables: check every row's answer, warm up, then interleaved rounds.

Before any load, each row's query is sent once and must answer with data and no errors, and
the fair peer's leaderboard must hold the registry's entries (same models, same values, same
order): a peer that ranks differently is not a peer, and the run stops there.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import dataset as datasets
from bench import fair, peers, queries, report
from bench.config import RunSettings
from bench.http import post
from bench.load import PgbenchOutput, Result, leaderboard_sql, run_pgbench, run_wrk
from bench.measure import Database, measure
from bench.queries import FAIR, LEADERBOARDS, LINEAGE, Row


class PeersDisagree(RuntimeError):
    pass


def _warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def _registry_has_lineage(url: str) -> bool:
    body = b'{"query":"{ __type(name: \\"Query\\") { fields { name } } }"}'
    return b'"lineage"' in post(url, body)


@dataclass
class Job:
    row: queries.Row
    server: peers.Server
    body: Path


def check_fair(registry: Job, others: list[Job]) -> None:
    """The fair rows (and the cached registry) must rank exactly as the registry does."""
    expected = fair.registry_entries(post(registry.server.url, registry.row.query.body()))
    for job in others:
        row = job.row
        answer = post(job.server.url, row.query.body())
        found = fair.peer_entries(answer) if row.kind == FAIR else fair.registry_entries(answer)
        problem = fair.mismatch(expected, found)
        if problem is not None:
            raise PeersDisagree(
                f"MISMATCH: `{row.label}` does not rank as the registry does; its figures would "
                f"compare different work.\n{problem}"
            )
    print(
        f"checked: {', '.join(job.row.label for job in others)} answer the registry's "
        f"{len(expected)} leaderboard entries (same models, values, order)",
        flush=True,
    )


def _jobs(
    name: str, data: datasets.Dataset, servers: list[peers.Server], work: Path
) -> tuple[list[Job], dict[str, Result], bool]:
    """The rows that answer correctly (the others are noted in their Result), and whether a
    registry row failed."""
    by_name = {server.name: server for server in servers}
    jobs, results, failed = [], {}, False
    for row in queries.rows(name, [s.name for s in servers], data):
        server = by_name[row.server]
        result = results[row.label] = Result(row.label)
        lineage_here = row.server in peers.REGISTRIES and name == LINEAGE
        if lineage_here and not _registry_has_lineage(server.url):
            result.missing = "field missing"
            continue
        problem = queries.check_answer(post(server.url, row.query.body()))
        if problem is not None:
            result.missing = f"error: {problem}"
            _warn(f"{row.label} / {name}: {problem}")
            failed = failed or (row.server in peers.REGISTRIES and name != LINEAGE)
            continue
        body = work / f"{row.slug}.json"
        body.write_bytes(row.query.body())
        jobs.append(Job(row, server, body))
    return jobs, results, failed


def run(
    settings: RunSettings,
    data: datasets.Dataset,
    db: Database,
    servers: list[peers.Server],
    work: Path,
) -> tuple[list[str], bool]:
    """Measure every query on every server: the tables, and True when the registry failed."""
    tables, failed = [], False
    for name in queries.NAMES:
        jobs, results, broken = _jobs(name, data, servers, work)
        failed = failed or broken
        if name in LEADERBOARDS:
            registry = next((j for j in jobs if j.row.server == peers.REGISTRY), None)
            others = [j for j in jobs if j.row.kind == FAIR]
            others += [j for j in jobs if j.row.server == peers.REGISTRY_CACHED]
            if registry is not None and others:
                check_fair(registry, others)
        if settings.warmup_seconds:
            for job in jobs:
                run_wrk(job.server.url, job.body, settings.warmup_seconds)
        ceiling: list[PgbenchOutput] = []
        ceiling_db_ms: list[float] = []
        for round_no in range(settings.rounds):
            for job in jobs:
                load = functools.partial(run_wrk, job.server.url, job.body, settings.round_seconds)
                measured = measure(job.server, load, db)
                results[job.row.label].rounds.append(measured)
                print(
                    f"  {name} round {round_no + 1}: {job.row.label:42} {measured.rps:8.0f} req/s",
                    flush=True,
                )
            if name in LEADERBOARDS:
                before = db.cpu_seconds()
                out = _pgbench(data, name, settings.round_seconds)
                after = db.cpu_seconds()
                ceiling.append(out)
                if before is not None and after is not None and out.transactions:
                    ceiling_db_ms.append(1000 * (after - before) / out.transactions)
        ordered = [(job_row, results[job_row.label]) for job_row in _rows(name, data, servers)]
        table = report.query_table(name, ordered, ceiling, ceiling_db_ms)
        tables.append(f"{table}\n\n{queries.NOTES[name]}")
        for server in servers:
            if server.name in peers.REGISTRIES and not server.child.alive():
                _warn(f"the registry died:\n{server.child.tail()}")
                failed = True
    return tables, failed


def _rows(name: str, data: datasets.Dataset, servers: list[peers.Server]) -> list[Row]:
    return queries.rows(name, [s.name for s in servers], data)


def _pgbench(data: datasets.Dataset, name: str, seconds: int) -> PgbenchOutput:
    """pgbench of the statement the registry runs for this leaderboard query."""
    from service.embedded import postgres_bin_dir

    sql = leaderboard_sql(queries.registry_queries(data.scale)[name].document)
    return run_pgbench(postgres_bin_dir() / "pgbench", data.dsn, sql, seconds)
