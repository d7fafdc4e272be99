"""The response cache: repeated reads come from memory, never across a write it knows of."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import orjson
import pytest

from service import changes, clock, dependencies
from service.cache import ResponseCache
from service.config import Settings
from service.enums import Role
from service.fanout import Fanout
from tests.conftest import Api, running_api
from tests.writing import Writer, demo_source, issue_token

LAB = '{ lab(slug: "upstage") { name headquarters } }'
BOARD = """
{ leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30", first: 2) {
    edges { node { model { slug } score { value } } } } }
"""


def _cache(api: Api) -> ResponseCache:
    cache = api.app.state.response_cache
    assert isinstance(cache, ResponseCache)
    return cache


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def cached_api(database_url: str) -> AsyncIterator[Api]:
    settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
    async with running_api(settings) as api:
        await _until(lambda: _cache(api).enabled)
        yield api


async def test_a_repeated_read_is_served_from_memory(cached_api: Api) -> None:
    first = await cached_api.data(BOARD)
    cached_api.queries.clear()
    second = await cached_api.data(BOARD)
    assert second == first
    assert cached_api.queries.statements == []
    assert _cache(cached_api).hits == 1


async def test_a_write_then_a_read_never_returns_the_pre_write_answer(
    cached_api: Api, database_url: str
) -> None:
    editor = Writer(cached_api, await issue_token(database_url, "cache-editor", Role.EDITOR))
    before = await cached_api.data(LAB)
    assert before["lab"]["headquarters"] == "Seoul"
    revision = (await cached_api.data('{ lab(slug: "upstage") { revision } }'))["lab"]["revision"]
    await editor.ok(
        "updateLab",
        "UpdateLabInput",
        "revision",
        {"slug": "upstage", "expectedRevision": revision, "headquarters": "Seongnam"},
    )
    # No waiting: this replica knows of its own write the moment the mutation returns.
    after = await cached_api.data(LAB)
    assert after["lab"]["headquarters"] == "Seongnam"


async def test_another_replica_s_write_reaches_this_one_by_notification(
    cached_api: Api, database_url: str
) -> None:
    await cached_api.data(BOARD)
    generation = _cache(cached_api).generation
    conn = await asyncpg.connect(database_url)
    try:
        # A write this replica did not make (another replica, a migration, psql).
        await conn.execute("UPDATE score SET value = 99 WHERE value = 37.2")
    finally:
        await conn.close()
    await _until(lambda: _cache(cached_api).generation > generation)
    board = await cached_api.data(BOARD)
    assert board["leaderboard"]["edges"][0]["node"]["score"]["value"] == 99


async def test_answers_are_kept_apart_by_variables_and_role(
    cached_api: Api, database_url: str
) -> None:
    query = "query ($slug: String!) { lab(slug: $slug) { slug } }"
    assert (await cached_api.data(query, slug="upstage"))["lab"]["slug"] == "upstage"
    assert (await cached_api.data(query, slug="cohere"))["lab"]["slug"] == "cohere"
    reader = Writer(cached_api, await issue_token(database_url, "cache-reader", Role.READER))
    body = await reader.run(query, {"slug": "cohere"})
    assert body["data"]["lab"]["slug"] == "cohere"
    assert _cache(cached_api).hits == 0


async def test_errors_are_never_cached(cached_api: Api) -> None:
    query = '{ leaderboard(benchmark: "nope") { totalCount } }'
    for _ in range(2):
        body = await cached_api.graphql(query)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert _cache(cached_api).hits == 0


async def test_without_its_listener_the_cache_stays_off(cached_api: Api) -> None:
    cache = _cache(cached_api)
    await cached_api.data(LAB)  # kept while the listener runs
    cache.enabled = False  # as when the listening connection is lost
    cached_api.queries.clear()
    await cached_api.data(LAB)
    await cached_api.data(LAB)
    assert cache.hits == 0
    assert cached_api.queries.statements != []  # not even the answer kept before is served


SLUG = '{ lab(slug: "upstage") { slug } }'


def _entry_size(pad: list[str]) -> int:
    """What an anonymous SLUG query with the (unused) variable `pad` weighs in the cache: its
    answer's JSON and the texts of its key (document, variables, role)."""
    answer = {"lab": {"slug": "upstage"}}
    variables = orjson.dumps({"pad": pad}, option=orjson.OPT_SORT_KEYS)
    return len(orjson.dumps(answer)) + len(SLUG) + len(variables) + len(str(None))


def _pad(char: str, size: int) -> list[str]:
    """A pad that makes the entry weigh `size` bytes, in strings short enough to be accepted."""
    full = [char * 10_000] * ((size - 1_000) // 10_000)
    rest = size - _entry_size([*full, ""])
    assert 0 <= rest <= 10_000
    pad = [*full, char * rest]
    assert _entry_size(pad) == size
    return pad


async def _served_from_memory(api: Api, pad: list[str]) -> bool:
    """Whether the SLUG query with this (unused) variable came from the cache: no SQL ran."""
    api.queries.clear()
    body = await api.graphql(SLUG, pad=pad)
    assert body["data"]["lab"]["slug"] == "upstage", body
    return api.queries.statements == []


async def test_an_answer_over_256_kib_with_its_key_is_not_kept(cached_api: Api) -> None:
    # Variables the document does not declare are ignored, yet they are part of the key.
    fits, over = _pad("a", 256 * 1024), _pad("b", 256 * 1024 + 1)
    for pad in (fits, over):
        assert not await _served_from_memory(cached_api, pad)
    assert await _served_from_memory(cached_api, fits)
    assert not await _served_from_memory(cached_api, over)


@pytest.fixture
async def small_cached_api(database_url: str) -> AsyncIterator[Api]:
    settings = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False, response_cache_mb=1
    )
    async with running_api(settings) as api:
        await _until(lambda: _cache(api).enabled)
        yield api


async def test_past_its_budget_the_cache_drops_the_least_recently_read_answer(
    small_cached_api: Api,
) -> None:
    # Four answers of 250,000 bytes fit in 1 MiB; a fifth pushes one out.
    pads = {name: _pad(name, 250_000) for name in "abcde"}
    for name in "abcd":
        assert not await _served_from_memory(small_cached_api, pads[name])
    assert await _served_from_memory(small_cached_api, pads["a"])  # read again: now the newest
    assert not await _served_from_memory(small_cached_api, pads["e"])
    assert await _served_from_memory(small_cached_api, pads["a"])
    assert not await _served_from_memory(small_cached_api, pads["b"])  # the least recent


async def test_a_lost_listener_switches_the_cache_off_until_it_listens_again(
    cached_api: Api, database_url: str
) -> None:
    await cached_api.data(BOARD)
    conn = await asyncpg.connect(database_url)
    try:
        # The listening connection dies (a restart, a network cut): writes in the gap go
        # unheard, so nothing cached may be served until it listens again.
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        await _until(lambda: not _cache(cached_api).enabled)
        await conn.execute("UPDATE score SET value = 99 WHERE value = 37.2")
    finally:
        await conn.close()
    await _until(lambda: _cache(cached_api).enabled)  # listening again, a second later
    board = await cached_api.data(BOARD)
    assert board["leaderboard"]["edges"][0]["node"]["score"]["value"] == 99
    cached_api.queries.clear()
    assert await cached_api.data(BOARD) == board
    assert cached_api.queries.statements == []  # and caching again


async def test_while_the_database_is_unreachable_the_listener_retries_each_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[float] = []

    def dsn() -> str:
        attempts.append(asyncio.get_running_loop().time())
        return "postgresql://registry@127.0.0.1:1/registry"  # nothing listens on port 1

    cache = ResponseCache(max_bytes=1024)
    with caplog.at_level(logging.WARNING, logger="service.changes"):
        async with changes.listening(dsn, cache, Fanout()):
            await _until(lambda: len(caplog.records) > 0)
            await asyncio.sleep(0.5)
            assert len(attempts) == 1  # then a pause before the next attempt
            assert not cache.enabled
    record = caplog.records[0]
    assert record.name == "service.changes"
    assert record.getMessage().startswith("change listener lost its connection (")


async def test_after_a_write_the_whole_budget_is_free_again(small_cached_api: Api) -> None:
    for name in "abcd":  # 1 MiB: full
        await _served_from_memory(small_cached_api, _pad(name, 256 * 1024))
    small_cached_api.app.state.response_cache.invalidate()  # what a write does
    for name in "efgh":
        assert not await _served_from_memory(small_cached_api, _pad(name, 256 * 1024))
    assert await _served_from_memory(small_cached_api, _pad("e", 256 * 1024))


@pytest.mark.parametrize(("last", "oldest_kept"), [(100, True), (101, False)])
async def test_the_budget_is_exact_to_the_byte(
    small_cached_api: Api, last: int, oldest_kept: bool
) -> None:
    # 3 x 256 KiB + (256 KiB - 100) + `last` bytes: exactly 1 MiB keeps all, a byte more drops
    # the oldest.
    sizes = {"a": 256 * 1024, "b": 256 * 1024, "c": 256 * 1024, "d": 256 * 1024 - 100, "e": last}
    for name, size in sizes.items():
        assert not await _served_from_memory(small_cached_api, _pad(name, size))
    assert await _served_from_memory(small_cached_api, _pad("a", sizes["a"])) is oldest_kept


def test_the_cache_evicts_the_oldest_answers_past_its_budget() -> None:
    cache = ResponseCache(max_bytes=200)
    cache.enabled = True
    for n in range(10):
        cache.put(cache.generation, ("q", n), b'{"n":"' + b"x" * 40 + b'"}')
    assert cache.get(("q", 0)) is None
    assert cache.get(("q", 9)) == b'{"n":"' + b"x" * 40 + b'"}'
    cache.invalidate()
    assert cache.get(("q", 9)) is None


TODAY_BOARD = """
query TodaysBoard { leaderboard(benchmark: "aa-intelligence-index", first: 1) {
    asOf edges { node { model { id slug } } } } }
"""


async def test_an_answer_for_today_is_not_served_after_midnight_utc(
    cached_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await cached_api.data(TODAY_BOARD)
    assert first["leaderboard"]["asOf"] == clock.today().isoformat()
    tomorrow = clock.today() + dt.timedelta(days=1)
    monkeypatch.setattr(clock, "today", lambda: tomorrow)
    cached_api.queries.clear()
    second = await cached_api.data(TODAY_BOARD)
    # No write happened, yet the answer is recomputed for the new day.
    assert second["leaderboard"]["asOf"] == tomorrow.isoformat()
    assert cached_api.queries.statements != []


KNOWN = """
query KnownBoard($knownAt: DateTime) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-05-30", knownAt: $knownAt,
              first: 1) { knownAt edges { node { model { slug } } } } }
"""


async def test_both_times_key_an_answer(cached_api: Api, database_url: str) -> None:
    now = await cached_api.data(KNOWN)
    past = await cached_api.data(KNOWN, knownAt="2026-05-30T12:00:00Z")
    assert past["leaderboard"]["knownAt"] == "2026-05-30T12:00:00+00:00"
    # The demo data's write is the latest: "now" is answered for it, under its own key.
    assert now == past
    assert await cached_api.data(KNOWN) == now
    assert await cached_api.data(KNOWN, knownAt="2026-05-30T12:00:00Z") == past
    assert _cache(cached_api).hits == 2
    # A write moves the registry's clock: "now" is answered again, for the new write.
    editor = Writer(cached_api, await issue_token(database_url, "cache-editor", Role.EDITOR))
    await editor.ok(
        "createLab", "CreateLabInput", "lab { slug }", {"slug": "later", "name": "Later"}
    )
    later = await cached_api.data(KNOWN)
    assert later["leaderboard"]["knownAt"] > now["leaderboard"]["knownAt"]
    assert later["leaderboard"]["edges"] == now["leaderboard"]["edges"]


# What a write touched drops what read it, and only that (service.dependencies).

PAGE = """query Page($slug: String!) { model(slug: $slug) { name lab { name }
  versions { label scores { value measuredOn } } } }"""
LAB_BOARD = """query LabBoard($benchmark: String!) { leaderboard(benchmark: $benchmark,
  asOf: "2026-06-30", first: 5) { edges { node { rank score { value } model { slug }
  lab { name } } } } }"""
LINEAGE = """query Lineage($model: String!) { lineage(model: $model, direction: BOTH, depth: 3)
  { nodes { slug name } edges { relation parent { slug } child { slug } } } }"""
# A score written for WRITTEN's release on the demo benchmark, never for KEPT's.
WRITTEN, KEPT = "gpt-5.5", "claude-opus-4.8"
SCORE = {
    "model": WRITTEN,
    "version": "release",
    "benchmark": "aa-intelligence-index",
    "value": 12.5,
    "measuredOn": "2026-06-01",
    "provenance": "INDEPENDENT",
}


async def _hits(api: Api) -> float:
    """The hits /metrics reports."""
    text = (await api.http.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("registry_response_cache_hits_total"))
    return float(line.split()[-1])


async def _from_memory(api: Api, query: str, **variables: Any) -> bool:
    """Whether the answer came from the cache: no SQL ran, and /metrics counted a hit."""
    before = await _hits(api)
    api.queries.clear()
    await api.data(query, **variables)
    served = api.queries.statements == []
    assert served == (await _hits(api) == before + 1)
    return served


async def _record_score(api: Api, database_url: str, **changes: Any) -> None:
    editor = Writer(api, await issue_token(database_url, f"editor-{id(changes)}", Role.EDITOR))
    score = {**SCORE, "source": demo_source("aa-leaderboard"), **changes}
    await editor.ok("recordScore", "RecordScoreInput", "score { id }", score)


async def test_a_score_write_drops_its_model_s_page_and_keeps_the_others(
    cached_api: Api, database_url: str
) -> None:
    kept = await cached_api.data(PAGE, slug=KEPT)
    await cached_api.data(PAGE, slug=WRITTEN)
    await _record_score(cached_api, database_url)
    assert await _from_memory(cached_api, PAGE, slug=KEPT)
    assert await cached_api.data(PAGE, slug=KEPT) == kept
    assert not await _from_memory(cached_api, PAGE, slug=WRITTEN)
    page = await cached_api.data(PAGE, slug=WRITTEN)
    values = [s["value"] for v in page["model"]["versions"] for s in v["scores"]]
    assert 12.5 in values


async def _heard(api: Api, conn: asyncpg.Connection) -> None:
    """Until this replica has heard every notification committed before now (service.changes:
    they come in commit order)."""
    heard = _cache(api).expect("test")
    await conn.execute("SELECT pg_notify('registry_changes', 'sync:test')")
    await asyncio.wait_for(heard, 5)


async def _other_benchmark(api: Api, database_url: str) -> None:
    """A second benchmark, with one score of KEPT's, and this replica has heard of it."""
    conn = await asyncpg.connect(database_url)
    try:
        benchmark = await conn.fetchval(
            "INSERT INTO benchmark (slug, name, scale_min, scale_max, is_independent) "
            "VALUES ('other-index', 'Other index', 0, 100, true) RETURNING id"
        )
        version = await conn.fetchval(
            "INSERT INTO benchmark_version (benchmark_id, label, effective_on) "
            "VALUES ($1, 'v1', '2020-01-01') RETURNING id",
            benchmark,
        )
        await conn.execute(
            "INSERT INTO score (version_id, benchmark_version_id, value, measured_on, "
            "provenance, source_id) SELECT v.id, $1, 50, '2026-01-01', 'INDEPENDENT', "
            "(SELECT min(id) FROM source) FROM model_version AS v "
            "JOIN model AS m ON m.id = v.model_id WHERE m.slug = $2",
            version,
            KEPT,
        )
        await _heard(api, conn)
    finally:
        await conn.close()


async def test_a_score_write_drops_the_leaderboards_of_its_benchmark_only(
    cached_api: Api, database_url: str
) -> None:
    await _other_benchmark(cached_api, database_url)
    other = await cached_api.data(LAB_BOARD, benchmark="other-index")
    board = await cached_api.data(LAB_BOARD, benchmark="aa-intelligence-index")
    await _record_score(cached_api, database_url, value=70)
    assert await _from_memory(cached_api, LAB_BOARD, benchmark="other-index")
    assert await cached_api.data(LAB_BOARD, benchmark="other-index") == other
    assert not await _from_memory(cached_api, LAB_BOARD, benchmark="aa-intelligence-index")
    now = await cached_api.data(LAB_BOARD, benchmark="aa-intelligence-index")
    assert now != board
    assert now["leaderboard"]["edges"][0]["node"]["model"]["slug"] == WRITTEN


async def test_a_lab_rename_drops_every_answer_showing_that_lab(
    cached_api: Api, database_url: str
) -> None:
    await cached_api.data(PAGE, slug="solar-pro-3")
    await cached_api.data(LAB_BOARD, benchmark="aa-intelligence-index")
    lineage = await cached_api.data(LINEAGE, model="solar-pro-3")
    editor = Writer(cached_api, await issue_token(database_url, "renamer", Role.EDITOR))
    rename = {"slug": "upstage", "name": "Upstage AI", "expectedRevision": 1}
    await editor.ok("updateLab", "UpdateLabInput", "revision", rename)
    assert await _from_memory(cached_api, LINEAGE, model="solar-pro-3")  # shows no lab
    assert await cached_api.data(LINEAGE, model="solar-pro-3") == lineage
    page = await cached_api.data(PAGE, slug="solar-pro-3")
    assert page["model"]["lab"]["name"] == "Upstage AI"
    board = await cached_api.data(LAB_BOARD, benchmark="aa-intelligence-index")
    labs = {edge["node"]["lab"]["name"] for edge in board["leaderboard"]["edges"]}
    assert "Upstage" not in labs


INSERT_SCORES = """
INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance, source_id)
SELECT v.id, (SELECT min(id) FROM benchmark_version), $2, '2026-06-01', 'INDEPENDENT',
       (SELECT min(id) FROM source)
FROM model_version AS v JOIN model AS m ON m.id = v.model_id WHERE m.slug = $1
"""


async def test_a_write_by_another_process_reaches_the_cache_with_its_keys(
    cached_api: Api, database_url: str
) -> None:
    kept = await cached_api.data(PAGE, slug=KEPT)
    await cached_api.data(PAGE, slug=WRITTEN)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(INSERT_SCORES, WRITTEN, 13.25)  # psql, a script, another replica
        await _heard(cached_api, conn)
    finally:
        await conn.close()
    assert await _from_memory(cached_api, PAGE, slug=KEPT)
    assert await cached_api.data(PAGE, slug=KEPT) == kept
    page = await cached_api.data(PAGE, slug=WRITTEN)
    assert 13.25 in [s["value"] for v in page["model"]["versions"] for s in v["scores"]]


async def test_an_oversize_payload_drops_every_answer_that_read_the_table(
    cached_api: Api, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    payloads: list[str] = []
    try:
        # 700 versions of one model: a score for each names 700 `version:` keys, over 8,000
        # bytes with the benchmark version's.
        await conn.execute(
            "INSERT INTO model_version (model_id, label, stage) SELECT m.id, 'v' || n, 'FINAL' "
            "FROM model AS m, generate_series(1, 700) AS n WHERE m.slug = 'mistral-7b'"
        )
        await cached_api.data(PAGE, slug=KEPT)
        lineage = await cached_api.data(LINEAGE, model="solar-pro-3")
        await conn.add_listener("registry_changes", lambda *args: payloads.append(args[3]))
        await conn.execute(INSERT_SCORES, "mistral-7b", 1)
        await _heard(cached_api, conn)
    finally:
        await conn.close()
    assert "score" in payloads  # the bare table name: the whole table
    assert not await _from_memory(cached_api, PAGE, slug=KEPT)  # it read scores
    assert await _from_memory(cached_api, LINEAGE, model="solar-pro-3")  # it did not
    assert await cached_api.data(LINEAGE, model="solar-pro-3") == lineage


async def test_a_notification_the_registry_cannot_read_drops_every_answer(
    cached_api: Api, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for payload in ("not json", '{"t": "nope", "k": []}', '{"t": "score", "k": [1]}'):
            await cached_api.data(PAGE, slug=KEPT)
            await conn.execute("SELECT pg_notify('registry_changes', $1)", payload)
            await _heard(cached_api, conn)
            assert not await _from_memory(cached_api, PAGE, slug=KEPT), payload
    finally:
        await conn.close()


# Never stale: after any of these writes, each answer the cache serves equals a fresh one.

SHOWN = [
    (PAGE, {"slug": slug}) for slug in (WRITTEN, KEPT, "solar-next", "solar-pro-3", "mistral-7b")
] + [
    (LAB_BOARD, {"benchmark": "aa-intelligence-index"}),
    (LAB_BOARD, {"benchmark": "other-index"}),
    (LINEAGE, {"model": "solar-pro-3"}),
    (KNOWN, {}),
    (LAB, {}),
    # Fields read outside a root's claim, and the resolvers' path (no compiled plan).
    (
        """query ($slug: String!) { model(slug: $slug) { versions { promotedFrom { label }
       scores { value superseded verification } } } }""",
        {"slug": "solar-next"},
    ),
    ("{ models(first: 20) { nodes { slug name } } }", {}),
    (
        """{ leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-06-30",
       last: 2) { edges { node { rank model { slug } score { value verification } } } } }""",
        {},
    ),
]

WRITES = [
    # A score for a random version on a random benchmark version.
    """INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
       source_id) VALUES (
         (SELECT id FROM model_version ORDER BY id
          OFFSET $1::int % (SELECT count(*) FROM model_version) LIMIT 1),
         (SELECT id FROM benchmark_version ORDER BY id OFFSET $1::int % 2 LIMIT 1),
         $1::int % 97, '2026-05-01', 'INDEPENDENT', (SELECT min(id) FROM source))""",
    # A correction of a random score not corrected yet, on another benchmark version.
    """INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
       source_id, supersedes_id) SELECT s.version_id, (SELECT max(id) FROM benchmark_version),
       $1::int % 89, '2026-05-02', 'INDEPENDENT', s.source_id, s.id FROM score AS s
       WHERE NOT EXISTS (SELECT 1 FROM score AS c WHERE c.supersedes_id = s.id)
       ORDER BY s.id OFFSET $1::int % 5 LIMIT 1""",
    # A random score retracted (its history starts: verification_change).
    """UPDATE score SET verification = 'RETRACTED', verification_changed_on = '2026-05-03'
       WHERE id = (SELECT id FROM score ORDER BY id OFFSET $1::int % 7 LIMIT 1)""",
    """UPDATE lab SET name = name || ' ' || $1::int
       WHERE id = (SELECT min(id) + $1::int % 5 FROM lab)""",
    """INSERT INTO model_version (model_id, label, stage) SELECT id, 'extra-' || $1::int,
       'PREVIEW' FROM model ORDER BY id OFFSET $1::int % 13 LIMIT 1""",
    # Archived with plain SQL: counted once the registry's clock passes it (migration 0008).
    "UPDATE model SET archived_at = now() WHERE id = (SELECT min(id) + $1::int % 13 FROM model)",
    "UPDATE model SET archived_at = NULL WHERE archived_at IS NOT NULL AND $1::int >= 0",
]


async def test_after_any_write_every_cached_answer_equals_a_fresh_one(
    cached_api: Api, database_url: str
) -> None:
    await _other_benchmark(cached_api, database_url)
    rng = random.Random(20261130)
    plain = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False, response_cache=False
    )
    conn = await asyncpg.connect(database_url)
    try:
        async with running_api(plain) as fresh:
            for step in range(24):
                for query, variables in SHOWN:  # cached, or cached now
                    await cached_api.data(query, **variables)
                n = rng.randrange(1_000)
                if step % 6 == 5:  # this replica's own write
                    await _record_score(cached_api, database_url, value=n % 71)
                else:
                    await conn.execute(rng.choice(WRITES), n)
                    await _heard(cached_api, conn)
                for query, variables in SHOWN:
                    served = await cached_api.data(query, **variables)
                    assert served == await fresh.data(query, **variables), (step, query)
    finally:
        await conn.close()
    assert _cache(cached_api).hits > 0


async def test_every_table_is_known_to_notify_or_to_read_everything(database_url: str) -> None:
    """service.dependencies' lists against the database: a new table or function that reads
    one must be placed in them, or an answer reading it could outlive a write to it."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = set(
            await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        )
        notifying = set(
            await conn.fetch(
                "SELECT DISTINCT c.relname FROM pg_trigger AS t JOIN pg_class AS c "
                "ON c.oid = t.tgrelid WHERE t.tgname LIKE '%notify%'"
            )
        )
        functions = set(
            await conn.fetch(
                "SELECT proname FROM pg_proc AS p WHERE pronamespace = 'public'::regnamespace "
                "AND prorettype <> 'trigger'::regtype AND NOT EXISTS (SELECT 1 FROM pg_depend "
                "WHERE objid = p.oid AND deptype = 'e')"  # an extension's (pg_trgm)
            )
        )
    finally:
        await conn.close()
    assert {row[0] for row in tables} == (
        dependencies.NOTIFYING | dependencies.SILENT | dependencies.DERIVED.keys()
    )
    assert {row[0] for row in notifying} == dependencies.NOTIFYING
    # Migrations 0009's to 0011's functions are called by their triggers and rebuild, never
    # by a query.
    best = {
        "leaderboard_best_history",
        "leaderboard_best_refresh_pending",
        "registry_archived",
        "leaderboard_best_on",
        "leaderboard_best_refresh",
        "leaderboard_best_refresh_model",
        "leaderboard_best_rebuild",
    }
    assert {row[0] for row in functions} == {
        *dependencies.FUNCTIONS,
        "registry_notify_keys",
        *best,
    }


# The cache's bookkeeping, on the class itself: what an answer's `put` keeps.

ANSWER = b'{"n":"' + b"x" * 40 + b'"}'  # 48 bytes; with its key ("q", n), 49


def _listening_cache(max_bytes: int) -> ResponseCache:
    """A cache as its change listener leaves it on start: invalidated, then switched on."""
    cache = ResponseCache(max_bytes=max_bytes)
    cache.invalidate()
    cache.enabled = True
    return cache


def test_a_new_cache_holds_its_whole_budget() -> None:
    cache = ResponseCache(max_bytes=4 * 49)
    cache.enabled = True
    for n in range(4):
        cache.put(cache.generation, ("q", n), ANSWER)
    assert cache.get(("q", 0)) == ANSWER  # exactly full: nothing evicted


@pytest.mark.parametrize(("writes", "kept"), [(256, True), (257, False)])
def test_an_answer_that_outlived_the_writes_remembered_is_not_kept(writes: int, kept: bool) -> None:
    cache = _listening_cache(1024)
    started = cache.generation
    for _ in range(writes):  # none of them met what the answer read
        cache.invalidate({"lab": frozenset({"lab:1"})})
    cache.put(started, "q", ANSWER, {"score": None})
    assert (cache.get("q") == ANSWER) is kept


def test_a_write_that_drops_some_answers_frees_their_bytes() -> None:
    cache = _listening_cache(3 * 49)
    cache.put(cache.generation, ("q", 0), ANSWER, {"score": None})
    cache.put(cache.generation, ("q", 1), ANSWER, {"lab": None})
    cache.put(cache.generation, ("q", 2), ANSWER, {"lab": None})
    cache.invalidate({"score": frozenset({"version:7"})})
    assert cache.get(("q", 0)) is None
    cache.put(cache.generation, ("q", 3), ANSWER, {"lab": None})
    assert [cache.get(("q", n)) for n in (1, 2, 3)] == [ANSWER] * 3


def test_replica_answers_are_kept_only_past_the_settled_position() -> None:
    cache = ResponseCache(max_bytes=1024)
    assert not cache.includes(cache.settled, None)  # nothing is settled before it listens
    cache.invalidate()
    generation = cache.generation
    cache.settle(generation - 1, 50)  # taken for a generation since gone: ignored
    assert cache.settled is None
    cache.settle(generation, 100)
    assert cache.settled == 100
    assert cache.includes(100, None)  # the primary's answer
    assert cache.includes(100, 100) and cache.includes(100, 101)
    assert not cache.includes(100, 99)  # the replica had not replayed that far
    assert not cache.includes(None, None)
    cache.invalidate({})
    assert cache.settled is None  # each generation is settled anew


async def test_the_listener_wakes_subscribers_on_each_change_and_closes_when_stopped(
    database_url: str,
) -> None:
    for cache in (ResponseCache(max_bytes=1024), None):  # also with the cache switched off
        fanout = Fanout()
        conn = await asyncpg.connect(database_url)
        listening = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        try:
            with fanout.subscribed() as woken:
                async with changes.listening(lambda: database_url, cache, fanout):
                    # Listening wakes them (to read what was written before), then each
                    # change does, and a mutation's own sync does not.
                    await asyncio.wait_for(woken.wait(), 5)
                    woken.clear()
                    if cache is not None:
                        generation, heard = cache.generation, cache.expect("t")
                        await conn.execute("SELECT pg_notify('registry_changes', 'sync:t')")
                        await asyncio.wait_for(heard, 5)
                        assert not woken.is_set()
                        assert cache.generation == generation
                    await conn.execute("SELECT pg_notify('registry_changes', 'lab')")
                    await asyncio.wait_for(woken.wait(), 5)
                    await _until_async(conn, listening, 1)
            await _until_async(conn, listening, 0)  # its connection is closed, not left open
        finally:
            await conn.close()


async def _until_async(conn: asyncpg.Connection, query: str, value: int) -> None:
    for _ in range(500):
        if await conn.fetchval(query) == value:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{query} never gave {value}")


async def test_an_answer_reading_scores_outside_its_root_s_claim_is_dropped_by_any_score(
    cached_api: Api, database_url: str
) -> None:
    """A model page claims the scores of its own versions; one that also shows its lab's
    other models' scores read the score table beyond that claim, so any score drops it."""
    query = (
        '{ model(slug: "solar-pro") { slug lab { models(first: 5) { slug versions(first: 5) {'
        " scores(first: 5) { value } } } } } }"
    )
    await cached_api.data(query)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(INSERT_SCORES, "solar-10.7b", 13.75)  # the lab's other model
        await _heard(cached_api, conn)
    finally:
        await conn.close()
    assert not await _from_memory(cached_api, query)
    page = await cached_api.data(query)
    models = page["model"]["lab"]["models"]
    assert 13.75 in [s["value"] for m in models for v in m["versions"] for s in v["scores"]]


async def test_a_score_on_another_benchmark_moves_the_known_at_a_board_shows(
    cached_api: Api, database_url: str
) -> None:
    """A leaderboard that shows its knownAt read the registry's clock, which every write
    moves; one that does not show it is kept across a write its rows do not meet."""
    await _other_benchmark(cached_api, database_url)
    shown = await cached_api.data(KNOWN)
    await cached_api.data(LAB_BOARD, benchmark="aa-intelligence-index")
    await _record_score(cached_api, database_url, benchmark="other-index", value=70)
    assert await _from_memory(cached_api, LAB_BOARD, benchmark="aa-intelligence-index")
    later = await cached_api.data(KNOWN)
    assert later["leaderboard"]["knownAt"] > shown["leaderboard"]["knownAt"]


async def test_a_version_renamed_drops_its_model_s_page_and_keeps_the_others(
    cached_api: Api, database_url: str
) -> None:
    kept = await cached_api.data(PAGE, slug=KEPT)
    await cached_api.data(PAGE, slug=WRITTEN)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE model_version SET label = 'renamed' WHERE label = 'release' "
            "AND model_id = (SELECT id FROM model WHERE slug = $1)",
            WRITTEN,
        )
        await _heard(cached_api, conn)
    finally:
        await conn.close()
    assert await _from_memory(cached_api, PAGE, slug=KEPT)
    assert await cached_api.data(PAGE, slug=KEPT) == kept
    page = await cached_api.data(PAGE, slug=WRITTEN)
    assert "renamed" in [v["label"] for v in page["model"]["versions"]]
