"""The tables: one per query, ratios to PostGraphile v5, plus the pgbench ceiling."""

from __future__ import annotations

from collections.abc import Sequence

from bench.dataset import Dataset
from bench.load import PgbenchOutput, Result
from bench.peers import V5

HEADER = ["server", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "db CPU ms/req", "RSS MB"]
HEADER += ["errors", "vs v5"]


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                 enumerate(zip(row, widths, strict=True))]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _ratio(rps: float, base: float | None) -> str:
    return f"{rps / base:.2f}x" if base else "-"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def query_table(
    name: str, results: Sequence[Result], ceiling: PgbenchOutput | None, ceiling_db_ms: float | None
) -> str:
    base = next((r.rps for r in results if r.server == V5 and r.rounds), None)
    rows = [HEADER]
    for result in results:
        if not result.rounds:
            rows.append([result.server, f"n/a ({result.missing})", *["-"] * (len(HEADER) - 2)])
            continue
        rows.append(
            [
                result.server,
                _fmt(result.rps, 0),
                _fmt(result.p50_ms),
                _fmt(result.p99_ms),
                _fmt(result.server_cpu_ms),
                _fmt(result.db_cpu_ms),
                _fmt(result.rss_bytes / 2**20, 0),
                str(result.errors),
                _ratio(result.rps, base),
            ]
        )
    if ceiling is not None:
        rows.append(
            [
                "ceiling: pgbench, same SQL",
                _fmt(ceiling.tps, 0),
                _fmt(ceiling.p50_ms),
                _fmt(ceiling.p99_ms),
                "-",
                _fmt(ceiling_db_ms),
                "-",
                str(ceiling.errors),
                _ratio(ceiling.tps, base),
            ]
        )
    return f"### {name}\n\n{_table(rows)}"


def dataset_summary(dataset: Dataset) -> str:
    counts = ", ".join(f"{table} {count:,}" for table, count in dataset.counts.items())
    return (
        f"dataset {dataset.scale.name}: {counts}; database {dataset.size_bytes / 2**20:,.0f} MB; "
        f"built in {dataset.load_seconds:.1f} s"
    )
