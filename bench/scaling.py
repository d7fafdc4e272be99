"""--scaling: how the registry's latency, memory and start grow with the data.

For each scale in turn (10k, 300k and 1m scores, and 10m with `--scale 10m`) the dataset is
built afresh in the same PostgreSQL, a single uncached `registry serve` is started alone on
it and timed to its first ready answer and to its first answer (a cold leaderboard), and the
three queries are loaded in interleaved rounds as in the tables. The report gives each query's
p50 under that load (median and spread over rounds) per scale and its growth from the
smallest scale to the largest, the peak RSS of the one worker under load, and the start times.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import dataset as datasets
from bench import peers, queries, report
from bench.config import SCALES, RunSettings
from bench.http import post
from bench.load import Result, run_wrk
from bench.measure import Database, measure
from bench.stats import Spread, fmt

BASE_SCALES = ("10k", "300k", "1m")
START_TIMEOUT = 120.0


def scales(settings: RunSettings) -> list[str]:
    if settings.smoke:
        return ["smoke", "10k"]
    extra = [settings.scale.name] if settings.scale.name == "10m" else []
    return [*BASE_SCALES, *extra]


@dataclass
class AtScale:
    dataset: datasets.Dataset
    ready_seconds: float
    first_answer_ms: float
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def rss_mb(self) -> Spread | None:
        return Spread.of(
            r.rss_peak_bytes / 2**20 for result in self.results.values() for r in result.rounds
        )


def _measure_scale(
    settings: RunSettings, scale: str, db: Database, logs: Path, work: Path
) -> AtScale:
    print(f"building the {scale} dataset ...", flush=True)
    data = datasets.build(db.server_dsn, SCALES[scale])
    print(report.dataset_summary(data), flush=True)
    server = peers.spawn_registry(data.dsn, logs)
    try:
        server.wait_ready(START_TIMEOUT)
        rows = {name: queries.rows(name, [peers.REGISTRY], data)[0] for name in queries.NAMES}
        started = time.monotonic()
        first = post(server.url, rows[queries.LEADERBOARD].query.body())
        at = AtScale(data, server.ready_seconds or 0.0, 1000 * (time.monotonic() - started))
        bodies = {}
        for name, row in rows.items():
            problem = queries.check_answer(first if name == queries.LEADERBOARD else
                                           post(server.url, row.query.body()))  # fmt: skip
            if problem is not None:
                raise RuntimeError(f"registry / {name} at {scale}: {problem}")
            bodies[name] = work / f"scaling-{scale}-{row.slug}.json"
            bodies[name].write_bytes(row.query.body())
            at.results[name] = Result(name)
        for body in bodies.values():
            if settings.warmup_seconds:
                run_wrk(server.url, body, settings.warmup_seconds)
        for round_no in range(settings.rounds):
            for name, body in bodies.items():
                load = functools.partial(run_wrk, server.url, body, settings.round_seconds)
                measured = measure(server, load, db)
                at.results[name].rounds.append(measured)
                print(
                    f"  {scale} round {round_no + 1}: {name:12} {measured.p50_ms:7.2f} ms p50, "
                    f"{measured.rps:8.0f} req/s",
                    flush=True,
                )
        if not server.child.alive():
            raise RuntimeError(f"the registry died at {scale}:\n{server.child.tail()}")
    finally:
        server.child.stop()
    return at


def _growth(first: Spread | None, last: Spread | None) -> str:
    if first is None or last is None or not first.median:
        return "-"
    return f"{last.median / first.median:.2f}x"


def section(measured: dict[str, AtScale]) -> str:
    names = list(measured)
    header = ["", *names, f"growth {names[0]} -> {names[-1]}"]
    lines = [header]
    for query in queries.NAMES:
        spreads = [measured[s].results[query].p50_ms for s in names]
        lines.append(
            [f"{query}: p50 ms", *[fmt(x) for x in spreads], _growth(spreads[0], spreads[-1])]
        )
    rss = [measured[s].rss_mb for s in names]
    lines.append(
        ["RSS MB per worker (peak under load)", *[fmt(x, 0) for x in rss], _growth(rss[0], rss[-1])]
    )
    ready = [measured[s].ready_seconds for s in names]
    lines.append(["first start: spawn -> /readyz, s", *[f"{x:.2f}" for x in ready], "-"])
    first = [measured[s].first_answer_ms for s in names]
    lines.append(["first answer (cold leaderboard), ms", *[f"{x:.1f}" for x in first], "-"])
    built = [measured[s].dataset.load_seconds for s in names]
    lines.append(["dataset built in, s", *[f"{x:.0f}" for x in built], "-"])
    counts = "; ".join(
        f"{s}: " + ", ".join(f"{k} {v:,}" for k, v in measured[s].dataset.counts.items())
        for s in names
    )
    return (
        f"### scaling (registry, uncached)\n\n{report.table(lines)}\n\n"
        "p50 under the tables' load (wrk, 16 connections), median (min-max) over rounds. "
        f"Datasets: {counts}."
    )


def run(settings: RunSettings, db: Database, logs: Path, work: Path) -> int:
    measured = {
        scale: _measure_scale(settings, scale, db, logs, work) for scale in scales(settings)
    }
    print("\n" + section(measured))
    return 0
