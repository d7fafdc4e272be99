"""The tables: one per query, every figure a median over rounds with its spread (min-max).

Ratios are taken round by round (the rounds of all rows are interleaved, so round i of each
ran side by side) and their median and spread shown. The reference of a ratio is the stronger
(higher median req/s) of the rows it may be: the two fair PostGraphile rows of the
leaderboard, the two v5 rows of the other queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.dataset import Dataset
from bench.load import PgbenchOutput, Result
from bench.peers import V5, V5S, Server
from bench.queries import EASY, FAIR, LEADERBOARDS, PEER, Row
from bench.stats import Spread, fmt, ratios


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                 enumerate(zip(row, widths, strict=True))]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


@dataclass(frozen=True)
class Reference:
    """What a ratio column divides by."""

    title: str
    result: Result


def _strongest(results: list[tuple[Row, Result]], keep: Callable[[Row], bool]) -> Result | None:
    found = [r for row, r in results if keep(row) and r.rounds]
    return max(found, key=lambda r: r.rps.median if r.rps else 0.0, default=None)


def references(name: str, results: list[tuple[Row, Result]]) -> list[Reference]:
    if name in LEADERBOARDS:
        fair = _strongest(results, lambda row: row.kind == FAIR)
        easy = _strongest(results, lambda row: row.kind == EASY and row.server == V5)
        return [
            *([Reference("fair", fair)] if fair else []),
            *([Reference("v5 easy", easy)] if easy else []),
        ]
    v5 = _strongest(results, lambda row: row.kind == PEER and row.server in V5S)
    return [Reference("v5", v5)] if v5 else []


def _ratio(values: list[float | None], base: list[float | None]) -> str:
    if any(v is None for v in values) or any(v is None for v in base):
        return "-"
    spread = ratios([v for v in values if v is not None], [b for b in base if b is not None])
    return fmt(spread, 2, "x")


def query_table(
    name: str,
    results: list[tuple[Row, Result]],
    ceiling: list[PgbenchOutput],
    ceiling_db_ms: list[float],
) -> str:
    refs = references(name, results)
    cpu_ref = refs[0] if refs else None
    header = ["row", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "db CPU ms/req"]
    header += ["total CPU ms/req", "RSS MB (peak)", "errors"]
    header += [f"req/s vs {ref.title}" for ref in refs]
    header += [f"CPU vs {cpu_ref.title}"] if cpu_ref else []
    lines = [header]
    for row, result in results:
        if not result.rounds:
            lines.append([row.label, f"n/a ({result.missing})", *["-"] * (len(header) - 2)])
            continue
        line = [
            row.label,
            fmt(result.rps, 0),
            fmt(result.p50_ms),
            fmt(result.p99_ms),
            fmt(result.server_cpu_ms),
            fmt(result.db_cpu_ms),
            fmt(result.total_cpu_ms),
            fmt(result.rss_mb, 0),
            str(result.errors),
        ]
        rps: list[float | None] = list(result.rps_each)
        line += [_ratio(rps, list(ref.result.rps_each)) for ref in refs]
        if cpu_ref:
            line.append(_ratio(result.total_cpu_each, cpu_ref.result.total_cpu_each))
        lines.append(line)
    if ceiling:
        tps: list[float | None] = [c.tps for c in ceiling]
        lines.append(
            [
                "ceiling: pgbench, the registry's SQL",
                fmt(Spread.of(c.tps for c in ceiling), 0),
                fmt(Spread.of(c.p50_ms for c in ceiling)),
                fmt(Spread.of(c.p99_ms for c in ceiling)),
                "-",
                fmt(Spread.of(ceiling_db_ms)),
                fmt(Spread.of(ceiling_db_ms)),
                "-",
                str(sum(c.errors for c in ceiling)),
                *[_ratio(tps, list(ref.result.rps_each)) for ref in refs],
                *(["-"] if cpu_ref else []),
            ]
        )
    notes = [f"vs {ref.title}: against `{ref.result.label}`" for ref in refs]
    return f"### {name}\n\n{table(lines)}\n\n" + "; ".join(notes)


def dataset_summary(dataset: Dataset) -> str:
    counts = ", ".join(f"{table} {count:,}" for table, count in dataset.counts.items())
    return (
        f"dataset {dataset.scale.name}: {counts}; database {dataset.size_bytes / 2**20:,.0f} MB; "
        f"built in {dataset.load_seconds:.1f} s; {dataset.top_summary}"
    )


def servers_summary(servers: Sequence[Server]) -> str:
    lines = []
    for server in servers:
        ready = f"ready {server.ready_seconds:.1f} s after start" if server.ready_seconds else ""
        note = f"; {server.note}" if server.note else ""
        lines.append(f"- {server.name}: {ready}{note}")
    return "\n".join(lines)
