"""Dataset scales, run settings and the command line."""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent

# The rankings are asked "as of" this date, so every server ranks the same benchmark version.
AS_OF = dt.date(2026, 1, 1)
LEADERBOARD_BENCHMARK = "bench-index"
CONNECTIONS = 16
THREADS = 2


@dataclass(frozen=True)
class Scale:
    name: str
    labs: int
    models: int  # each model has four versions
    scores: int
    sources: int

    @property
    def versions(self) -> int:
        return self.models * 4

    @property
    def page_model(self) -> str:
        """The model of the model-page and lineage queries: one in the middle of the DAG."""
        return f"model-{self.models // 2}"


def _proportional(name: str, scores: int) -> Scale:
    """A registry that grows as a real one does: more scores means more models, not more
    scores per model (about 50 each, 8 per benchmark version), so a model page, a lineage and
    a top-20 ask for the same amount at every scale while the tables under them grow."""
    models = scores // 50
    return Scale(name, labs=models // 20, models=models, scores=scores, sources=models // 3)


SCALES = {
    "smoke": Scale("smoke", labs=20, models=200, scores=4_000, sources=50),
    **{
        name: _proportional(name, scores)
        for name, scores in (
            ("10k", 10_000),
            ("300k", 300_000),
            ("1m", 1_000_000),
            ("10m", 10_000_000),
        )
    },
}


@dataclass(frozen=True)
class RunSettings:
    scale: Scale
    smoke: bool
    round_seconds: int
    warmup_seconds: int
    rounds: int
    peers: bool
    database_url: str | None
    keep_db: bool
    mix: bool
    scaling: bool


def parse_args(argv: list[str] | None, database_url: str | None) -> RunSettings:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark the registry against PostGraphile v5 and v4 on one database.",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny dataset, one 1 s round per row, no warm-up, no v4 (CI)",
    )
    parser.add_argument("--scale", choices=list(SCALES), default=None, help="dataset size (300k)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per round (15)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up seconds (5)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per row (3)")
    parser.add_argument(
        "--mix",
        action="store_true",
        help="also the cache workload: ~1,000 documents, Zipf popularity, an editor writing",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="instead of the tables: p50 per query at 10k, 300k and 1m scores (and --scale "
        "when larger), RSS under load and first start",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="registry only: skip the PostGraphile peers"
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="with BENCH_DATABASE_URL: keep the benchmark database afterwards",
    )
    args = parser.parse_args(argv)
    smoke: bool = args.smoke
    scale = SCALES[args.scale or ("smoke" if smoke else "300k")]
    return RunSettings(
        scale=scale,
        smoke=smoke,
        round_seconds=args.duration or (1 if smoke else 15),
        warmup_seconds=args.warmup if args.warmup is not None else (0 if smoke else 5),
        rounds=args.rounds or (1 if smoke else 3),
        peers=not args.no_peers,
        database_url=database_url,
        keep_db=args.keep_db,
        mix=args.mix,
        scaling=args.scaling,
    )
