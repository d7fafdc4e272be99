"""/metrics, scraped as Prometheus would after a few requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from service.cache import ResponseCache
from service.config import Settings
from tests.conftest import Api, running_api

BOARD = """
query TopBoard { leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30", first: 2) {
    edges { node { model { slug } score { value } } } } }
"""
LAB = '{ lab(slug: "upstage") { name } }'
ADD_SOURCE = """
mutation AddSource { addSource(input: {url: "https://example.org/m", title: "M", kind: NEWS}) {
    source { url } userErrors { code } } }
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(api: Api) -> Samples:
    response = await api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def cached_api(database_url: str) -> AsyncIterator[Api]:
    settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
    async with running_api(settings) as api:
        cache = api.app.state.response_cache
        assert isinstance(cache, ResponseCache)
        for _ in range(500):  # the cache turns on once its change listener runs
            if cache.enabled:
                break
            await asyncio.sleep(0.01)
        assert cache.enabled
        yield api


async def test_a_scrape_shows_requests_errors_cache_pool_and_statements(cached_api: Api) -> None:
    api = cached_api
    await api.data(BOARD)
    await api.data(BOARD)  # the second answer comes from the cache
    await api.data(LAB)
    refused = await api.http.post("/graphql", json={"query": ADD_SOURCE})
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong_token = await api.http.post(
        "/graphql", json={"query": LAB}, headers={"Authorization": "Bearer mrr_not-a-token"}
    )
    assert wrong_token.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    samples = await _scrape(api)

    requests = "registry_graphql_requests_total"
    assert _value(samples, requests, operation="TopBoard", kind="query", status="200") == 2
    assert _value(samples, requests, operation="anonymous", kind="query", status="200") == 2
    assert _value(samples, requests, operation="AddSource", kind="mutation", status="200") == 1
    latency = "registry_graphql_request_duration_seconds"
    assert _value(samples, f"{latency}_count", operation="TopBoard", kind="query") == 2
    assert _value(samples, f"{latency}_sum", operation="TopBoard", kind="query") > 0
    assert _value(samples, f"{latency}_bucket", operation="TopBoard", kind="query", le="+Inf") == 2
    assert _value(samples, "registry_graphql_errors_total", code="UNAUTHENTICATED") == 2

    assert _value(samples, "registry_response_cache_hits_total") == 1
    assert _value(samples, "registry_response_cache_misses_total") == 2  # TopBoard, then LAB
    # When the change listener started, and after the mutation (refused, but the cache drops
    # its answers after any mutation rather than judge whether it wrote).
    assert _value(samples, "registry_response_cache_invalidations_total") == 2
    in_use = _value(samples, "registry_db_pool_connections", state="in_use")
    idle = _value(samples, "registry_db_pool_connections", state="idle")
    assert in_use >= 0 and idle >= 1
    assert _value(samples, "registry_db_pool_max_connections") == 10
    assert _value(samples, "registry_db_statement_duration_seconds_count") >= 2
    assert _value(samples, "registry_db_statement_duration_seconds_sum") > 0
    assert _value(samples, "process_resident_memory_bytes") > 0


async def test_operation_names_clients_choose_cannot_grow_the_label_set(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "MAX_OPERATIONS", 3)  # 200 in service, 3 to keep this short
    settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
    async with running_api(settings) as api:
        for number in range(6):
            await api.data(f"query Name{number} {{ __typename }}")
        long_name = "N" * 65
        await api.data(f"query {long_name} {{ __typename }}")
        odd = await api.http.post(
            "/graphql", json={"query": "{ __typename }", "operationName": "x\ny<script>"}
        )
        assert odd.status_code in (200, 400)
        samples = await _scrape(api)

    requests = "registry_graphql_requests_total"
    operations = {dict(labels)["operation"] for (name, labels) in samples if name == requests}
    assert operations == {"Name0", "Name1", "Name2", "other"}
    assert _value(samples, requests, operation="other", kind="query", status="200") == 4
    assert _value(samples, requests, operation="other", kind="invalid", status=str(odd.status_code))


async def test_metrics_can_be_switched_off(database_url: str) -> None:
    settings = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False, metrics=False
    )
    async with running_api(settings) as api:
        assert (await api.http.get("/metrics")).status_code == 404
