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


SCALES = {
    "smoke": Scale("smoke", labs=20, models=200, scores=4_000, sources=50),
    "10k": Scale("10k", labs=300, models=6_000, scores=10_000, sources=2_000),
    "300k": Scale("300k", labs=300, models=6_000, scores=300_000, sources=2_000),
    "1m": Scale("1m", labs=300, models=6_000, scores=1_000_000, sources=2_000),
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


def parse_args(argv: list[str] | None, database_url: str | None) -> RunSettings:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark the registry against PostGraphile v5 and v4 on one database.",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny dataset, one 1 s round per server and query, no warm-up (CI)",
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default=None, help="dataset size")
    parser.add_argument("--duration", type=int, default=None, help="seconds per round (15)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up seconds (5)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per server (2)")
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
        rounds=args.rounds or (1 if smoke else 2),
        peers=not args.no_peers,
        database_url=database_url,
        keep_db=args.keep_db,
    )
