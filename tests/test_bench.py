"""bench/: its fair peer ranks exactly as the registry does, and its data and mix are as
described. (Its figures are printed by bench/run, never asserted here.)"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench import cpu_profile, dataset, fair, mix, queries
from bench.config import SCALES
from service import clock, migrate
from service.config import Settings
from tests.conftest import running_api

LEADERBOARD = """query Board($benchmark: String!, $asOf: Date!) {
  leaderboard(benchmark: $benchmark, asOf: $asOf, first: 20) {
    edges { node { score { value } model { name } } } } }"""


@pytest.fixture
async def bench_url(empty_database_url: str) -> AsyncIterator[str]:
    """The benchmark's smoke dataset, loaded as bench/run loads it (fair function included)."""
    await migrate.upgrade_async(empty_database_url)
    await dataset.load(empty_database_url, SCALES["smoke"])
    yield empty_database_url


async def test_the_fair_function_ranks_as_the_registry_leaderboard(bench_url: str) -> None:
    settings = Settings(
        database_url=bench_url, migrate_on_start=False, seed_demo=False, response_cache=False
    )
    conn = await asyncpg.connect(bench_url)
    try:
        async with running_api(settings) as api:
            for benchmark in mix.BENCHMARKS:
                # Today's too: the registry reads it from leaderboard_best (rebuilt after the
                # bulk load), the function walks.
                today = clock.today().isoformat()
                for as_of in ("2024-03-01", "2025-05-31", "2025-09-15", "2026-01-01", today):
                    data = await api.data(LEADERBOARD, benchmark=benchmark, asOf=as_of)
                    edges = data["leaderboard"]["edges"]
                    ours = [
                        (e["node"]["model"]["name"], e["node"]["score"]["value"]) for e in edges
                    ]
                    rows = await conn.fetch(
                        "SELECT model.name, board.value "
                        "FROM leaderboard($1, $2, 20) WITH ORDINALITY AS board "
                        "JOIN model ON model.id = board.model_id ORDER BY board.ordinality",
                        benchmark,
                        dt.date.fromisoformat(as_of),
                    )
                    theirs = [(row["name"], float(row["value"])) for row in rows]
                    assert len(ours) == 20
                    assert ours == theirs, (benchmark, as_of)
    finally:
        await conn.close()


async def test_the_top_of_the_leaderboard_is_spread_not_tied_at_the_maximum(
    bench_url: str,
) -> None:
    conn = await asyncpg.connect(bench_url)
    try:
        values = [
            float(row["value"])
            for row in await conn.fetch(
                "SELECT value FROM leaderboard('bench-index', '2026-01-01', 20)"
            )
        ]
    finally:
        await conn.close()
    assert len(values) == 20
    assert max(values) < 70  # far below the scale's maximum of 100
    assert max(values) - min(values) > 10  # a real spread, not 20 entries at one value
    assert len(set(values)) >= 15  # few ties


def test_a_peer_that_ranks_differently_is_reported() -> None:
    ours = [("Model 1", "61.4"), ("Model 2", "60.2")]
    assert fair.mismatch(ours, list(ours)) is None
    problem = fair.mismatch(ours, list(reversed(ours)))
    assert problem is not None and "#1" in problem and "#2" in problem
    assert fair.mismatch([], []) is not None  # an empty leaderboard proves nothing
    assert fair.registry_entries(
        b'{"data":{"leaderboard":{"edges":[{"node":{"score":{"value":30.0},'
        b'"model":{"name":"M"}}}]}}}'
    ) == fair.peer_entries(b'{"data":{"leaderboard":{"nodes":[{"value":"30",'
                           b'"modelByModelId":{"name":"M"}}]}}}')  # fmt: skip


def test_the_mix_is_a_thousand_distinct_sets_with_zipf_popularity() -> None:
    entries = mix.catalogue(SCALES["300k"].models, dt.date(2026, 1, 1))
    assert 950 <= len(entries) <= 1050
    assert len({e.registry.body() for e in entries}) == len(entries)
    assert len({e.postgraphile.body() for e in entries}) == len(entries)
    assert {e.kind for e in entries} == {"model page", "leaderboard", "lineage"}
    assert entries == mix.catalogue(SCALES["300k"].models, dt.date(2026, 1, 1))
    slots = Counter(mix.slots(entries))
    assert set(slots) == set(range(1, len(entries) + 1))  # every set is sent
    # Zipf: the first set is sent about twice as often as the second, ten times the tenth.
    assert 1.9 < slots[1] / slots[2] < 2.1
    assert 9 < slots[1] / slots[10] < 11


def test_cache_counters_are_read_from_a_prometheus_exposition() -> None:
    text = """# HELP registry_response_cache_hits_total Queries answered from the cache.
# TYPE registry_response_cache_hits_total counter
registry_response_cache_hits_total 1234.0
registry_response_cache_misses_total{replica="a"} 56.0
registry_response_cache_misses_created 1.7e+09
registry_requests_total{operation="Board"} 99.0
"""
    assert mix.parse_cache_counters(text) == (1234.0, 56.0)
    assert mix.parse_cache_counters("registry_requests_total 3.0\n") is None


async def test_the_cpu_profile_drives_the_app_as_a_server_would(bench_url: str) -> None:
    # Its ASGI messages get each query's answer (a wrong one stops it), without valgrind.
    await cpu_profile.serve(bench_url, list(queries.NAMES), requests=2)
