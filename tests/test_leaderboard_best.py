"""Leaderboards from leaderboard_best (migrations 0009, 0010) answer as the walk does.

The table answers a leaderboard for the latest write (knownAt left out) on any date; the same
question with the `knownAt` that answer carries is the walk's (service/db/rankings.py). Both
are asked on both paths (the compiled statement and the resolvers), after scripted and random
write histories through the commands, with facts dated before and after today (a score
measured last week, one measured tomorrow, a retraction next week), on days before, at and
after today, so that the whole history the table holds is checked against the walk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import clock, commands, ids, inputs
from service.db import Conn
from service.db.pool import connect, create_pool
from service.errors import RegistryError
from service.graphql.schema import RawResult, RegistrySchema, build_schema
from tests.test_compiled import _context
from tests.test_known_at import SOURCE, _parse

INDEX = "aa-intelligence-index"
Paths = tuple[RegistrySchema, RegistrySchema, Any]

BOARD = """
query Board($asOf: Date, $knownAt: DateTime, $first: Int, $after: String,
            $provenance: [Provenance!], $verification: [Verification!],
            $stages: [VersionStage!], $countries: [String!]) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, knownAt: $knownAt,
              first: $first, after: $after, provenance: $provenance,
              verification: $verification, stages: $stages, countries: $countries) {
    asOf knownAt totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { rank model { slug } version { label stage } lab { slug }
                          country { code }
                          score { id value measuredOn verification verificationChangedOn } } }
  }
}
"""

# Two labs of their own (one in a country the demo has, one not), two models each, each
# with a preview and a final.
LABS = {"best-lab-de": "DE", "best-lab-kr": "KR"}
MODELS = {"best-a": "best-lab-de", "best-b": "best-lab-de", "best-c": "best-lab-kr"}


def _day(offset: int) -> str:
    return (clock.today() + dt.timedelta(days=offset)).isoformat()


async def _write(database_url: str, write: Callable[[Conn], Awaitable[Any]]) -> None:
    """A write through the commands, recorded now (the registry's own clock)."""
    conn = await connect(database_url)
    try:
        await write(conn)
    except RegistryError:
        pass  # refused (a correction dated before its score ...): nothing written
    finally:
        await conn.close()


async def _setup(conn: Conn) -> None:
    for slug, country in LABS.items():
        data = {"slug": slug, "name": slug, "country": country}
        await commands.create_lab(conn, "editor", _parse(inputs.LabInput, data))
    for slug, lab in MODELS.items():
        model = {"slug": slug, "name": slug, "lab": lab}
        await commands.create_model(conn, "editor", _parse(inputs.ModelInput, model))
        for label, stage in (("preview", "PREVIEW"), ("final", "FINAL")):
            version = {"model": slug, "label": label, "stage": stage}
            await commands.create_version(conn, "editor", _parse(inputs.VersionInput, version))


def _record(model: str, label: str, value: float, day: int, provenance: str) -> Any:
    async def write(conn: Conn) -> None:
        data = {
            "model": model,
            "version": label,
            "benchmark": INDEX,
            "value": value,
            "measuredOn": _day(day),
            "provenance": provenance,
            "source": SOURCE,
        }
        await commands.record_score(conn, "editor", _parse(inputs.ScoreInput, data))

    return write


async def _our_scores(conn: Conn) -> list[int]:
    rows = await conn.fetch(
        "SELECT score.id FROM score JOIN model ON model.id = score.model_id "
        "WHERE model.slug LIKE 'best-%' ORDER BY score.id"
    )
    return [row["id"] for row in rows]


def _verify(pick: int, verification: str, day: int) -> Any:
    async def write(conn: Conn) -> None:
        scores = await _our_scores(conn)
        if not scores:
            return
        data = {
            "score": ids.encode("Score", scores[pick % len(scores)]),
            "verification": verification,
            "changedOn": _day(day),
        }
        await commands.set_score_verification(
            conn, "editor", _parse(inputs.ScoreVerificationInput, data)
        )

    return write


def _correct(pick: int, value: float, day: int) -> Any:
    async def write(conn: Conn) -> None:
        scores = await _our_scores(conn)
        if not scores:
            return
        data = {
            "score": ids.encode("Score", scores[pick % len(scores)]),
            "value": value,
            "measuredOn": _day(day),
            "source": SOURCE,
        }
        await commands.supersede_score(conn, "editor", _parse(inputs.SupersedeScoreInput, data))

    return write


def _archival(kind: str, slug: str) -> Any:
    async def write(conn: Conn) -> None:
        lab = slug in LABS
        command = {
            ("archive", True): commands.archive_lab,
            ("restore", True): commands.restore_lab,
            ("archive", False): commands.archive_model,
            ("restore", False): commands.restore_model,
        }[(kind, lab)]
        await command(conn, "editor", _parse(inputs.ArchiveInput, {"slug": slug}))

    return write


async def _execute(schema: RegistrySchema, pool: Any, variables: dict[str, Any]) -> Any:
    result = await schema.execute(BOARD, variables, _context(pool))
    assert result.errors is None, result.errors
    # The compiled schema must answer on its compiled path: a failing statement would fall
    # back to the resolvers with their answer, and the two paths would agree by default.
    assert isinstance(result, RawResult) == (schema.fast_path is not None), "fell back"
    # A compiled answer's data is its JSON text (an orjson.Fragment): read as the response
    # carries it.
    return orjson.loads(orjson.dumps(result.data))


async def _same_on_both(paths: Paths, variables: dict[str, Any]) -> dict[str, Any]:
    """The question for the latest write (the table where it answers) and with the knownAt
    its answer carries (the walk), each on the compiled path and the resolvers: one answer."""
    compiled, plain, pool = paths
    latest = await _execute(compiled, pool, variables)
    known_at = latest["leaderboard"]["knownAt"]
    for schema in (compiled, plain):
        for asked in (None, known_at):
            found = await _execute(schema, pool, {**variables, "knownAt": asked})
            assert found == latest, (schema is compiled, asked, variables)
    answer: dict[str, Any] = latest["leaderboard"]
    return answer


async def _paged_alike(paths: Paths, variables: dict[str, Any]) -> None:
    """The whole board, and the same board two entries a page, follow one ranking."""
    whole = await _same_on_both(paths, {**variables, "first": 100})
    after = None
    walked: list[Any] = []
    while True:
        page = await _same_on_both(paths, {**variables, "first": 2, "after": after})
        walked += page["edges"]
        assert page["totalCount"] == whole["totalCount"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [e["node"] for e in walked] == [e["node"] for e in whole["edges"]]


async def _table_holds_the_board(database_url: str) -> None:
    """The table has rows for the benchmark's version in effect today: the answers for the
    latest write compared below are read from it, not from an empty table."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetchval(
            "SELECT count(*) FROM leaderboard_best AS best "
            "WHERE best.benchmark_version_id = (SELECT bv.id FROM benchmark_version AS bv "
            "JOIN benchmark ON benchmark.id = bv.benchmark_id "
            "WHERE benchmark.slug = $1 AND bv.effective_on <= $2 "
            "ORDER BY bv.effective_on DESC LIMIT 1)",
            INDEX,
            clock.today(),
        )
    finally:
        await conn.close()
    assert rows > 0


# The filters the table answers (countries); today, and days of its history and ahead.
COUNTRIES = [None, ["DE"], ["kr", "de"], ["US"]]
DAYS = [0, -5, -2, 1, 3, 8]


async def _parity(paths: Paths, database_url: str) -> None:
    await _table_holds_the_board(database_url)
    for countries in COUNTRIES:
        await _paged_alike(paths, {"countries": countries})
    for offset in DAYS[1:]:
        await _same_on_both(paths, {"asOf": _day(offset), "first": 100})


@pytest.fixture
async def paths(database_url: str) -> AsyncIterator[Paths]:
    """The compiled path's schema, the resolvers' and a pool: tests/test_compiled.py's pair."""
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        yield build_schema(compiled=True), build_schema(compiled=False), pool
    finally:
        await pool.close()


@pytest.fixture
async def board(database_url: str) -> AsyncIterator[str]:
    await _write(database_url, _setup)
    yield database_url


async def test_facts_dated_ahead_of_today_take_effect_on_their_day(
    paths: Paths, board: str
) -> None:
    script = [
        _record("best-a", "final", 63, 0, "INDEPENDENT"),  # first place today
        _record("best-b", "final", 64, 2, "INDEPENDENT"),  # measured the day after tomorrow
        _record("best-c", "preview", 45, -3, "LAB_CLAIM"),
        _verify(0, "RETRACTED", 5),  # best-a's 63, retracted from in five days
        _correct(2, 47, 1),  # best-c's claim corrected from tomorrow
        _record("best-c", "final", 62.5, 7, "THIRD_PARTY"),
    ]
    for write in script:
        await _write(board, write)
        await _parity(paths, board)
    compiled, _, pool = paths

    async def top(offset: int) -> list[tuple[str, float]]:
        data = await _execute(compiled, pool, {"asOf": _day(offset), "first": 3})
        return [
            (e["node"]["model"]["slug"], e["node"]["score"]["value"])
            for e in data["leaderboard"]["edges"]
        ]

    assert (await top(0))[0] == ("best-a", 63.0)
    assert (await top(2))[:2] == [("best-b", 64.0), ("best-a", 63.0)]
    assert (await top(5))[:2] == [("best-b", 64.0), ("claude-opus-4.8", 61.4)]
    assert (await top(7))[:2] == [("best-b", 64.0), ("best-c", 62.5)]


async def test_archiving_a_model_or_its_lab_takes_it_off_at_once(paths: Paths, board: str) -> None:
    await _write(board, _record("best-a", "final", 66, 0, "INDEPENDENT"))
    await _write(board, _record("best-c", "final", 65, -1, "INDEPENDENT"))
    for write in (
        _archival("archive", "best-a"),
        _archival("archive", "best-lab-kr"),
        _archival("restore", "best-lab-kr"),
        _archival("restore", "best-a"),
    ):
        await _write(board, write)
        await _parity(paths, board)
    compiled, _, pool = paths
    data = await _execute(compiled, pool, {"first": 2})
    assert [e["node"]["model"]["slug"] for e in data["leaderboard"]["edges"]] == [
        "best-a",
        "best-c",
    ]


async def test_the_latest_write_on_a_covered_day_is_read_from_the_table(
    paths: Paths, board: str
) -> None:
    """Emptied by hand, the table answers nothing, today or on a past date: the walk is not
    asked. An explicit knownAt or a filter on scores still walk, and a rebuild writes the
    very rows the writes left, history included."""
    await _write(board, _record("best-a", "final", 58, 0, "INDEPENDENT"))
    await _write(board, _record("best-b", "final", 44, 4, "LAB_CLAIM"))
    compiled, plain, pool = paths
    before = await _execute(compiled, pool, {"first": 5})
    known_at = before["leaderboard"]["knownAt"]
    conn = await asyncpg.connect(board)
    try:
        rows = "SELECT * FROM leaderboard_best ORDER BY 1, 2, 3"
        kept = await conn.fetch(rows)
        await conn.execute("DELETE FROM leaderboard_best")
        for schema in (compiled, plain):
            for day in (None, "2026-05-30"):
                emptied = await _execute(schema, pool, {"first": 5, "asOf": day})
                assert emptied["leaderboard"]["edges"] == []
                assert emptied["leaderboard"]["totalCount"] == 0
            walked = await _execute(schema, pool, {"first": 5, "knownAt": known_at})
            assert walked == before
            for walking in (
                {"asOf": "2026-05-30", "knownAt": known_at},
                {"provenance": ["INDEPENDENT"]},
                {"verification": ["UNVERIFIED"]},
                {"stages": ["FINAL"]},
            ):
                assert (await _execute(schema, pool, walking))["leaderboard"]["edges"]
        await conn.execute("SELECT leaderboard_best_rebuild()")
        assert await conn.fetch(rows) == kept
    finally:
        await conn.close()
    assert await _execute(compiled, pool, {"first": 5}) == before


DAY = st.integers(min_value=-4, max_value=6)
ACTIONS = st.lists(
    st.one_of(
        st.builds(
            _record,
            st.sampled_from(sorted(MODELS)),
            st.sampled_from(["preview", "final"]),
            st.integers(min_value=30, max_value=70),
            DAY,
            st.sampled_from(["LAB_CLAIM", "INDEPENDENT", "THIRD_PARTY"]),
        ),
        st.builds(
            _verify,
            st.integers(min_value=0, max_value=30),
            st.sampled_from(["VERIFIED", "DISPUTED", "RETRACTED", "UNVERIFIED"]),
            DAY,
        ),
        st.builds(_correct, st.integers(min_value=0, max_value=30), st.integers(30, 70), DAY),
        st.builds(
            _archival,
            st.sampled_from(["archive", "restore"]),
            st.sampled_from([*MODELS, *LABS]),
        ),
    ),
    min_size=1,
    max_size=5,
)
FILTERS = st.fixed_dictionaries(
    {
        "provenance": st.none() | st.just(["INDEPENDENT"]) | st.just(["LAB_CLAIM", "THIRD_PARTY"]),
        "verification": st.none() | st.just(["VERIFIED"]) | st.just(["UNVERIFIED", "DISPUTED"]),
        "stages": st.none() | st.just(["PREVIEW"]) | st.just(["FINAL"]),
        "countries": st.sampled_from(COUNTRIES),
        "asOf": st.sampled_from(DAYS).map(_day),
    }
)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS, filters=FILTERS)
async def test_random_histories_rank_alike_from_the_table_and_the_walk(
    paths: Paths, board: str, actions: list[Any], filters: dict[str, Any]
) -> None:
    for write in actions:
        await _write(board, write)
    await _parity(paths, board)
    # Any filter combination: the table where it answers, the walk elsewhere, one answer.
    await _same_on_both(paths, {**filters, "first": 100})
    # The rebuild (set-based for pairs never corrected nor re-verified) writes the rows the
    # writes left.
    conn = await asyncpg.connect(board)
    try:
        rows = "SELECT * FROM leaderboard_best ORDER BY 1, 2, 3"
        kept = await conn.fetch(rows)
        await conn.execute("SELECT leaderboard_best_rebuild()")
        assert await conn.fetch(rows) == kept
    finally:
        await conn.close()


async def test_a_compiled_leaderboard_runs_only_the_branch_it_takes(database_url: str) -> None:
    """PostgreSQL sets up every node of a statement's plan on each run, taken or not: the
    latest write's board runs a statement without the walk, a board as known at a time one
    without the table, and both answer as the resolvers do (the tests above)."""
    compiled = build_schema(compiled=True)
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        latest = await _execute(compiled, pool, {"first": 3})
        known_at = latest["leaderboard"]["knownAt"]
        await _execute(compiled, pool, {"first": 3, "knownAt": known_at})
        await _execute(compiled, pool, {"first": 3, "stages": ["FINAL"]})
        async with pool.acquire() as conn:
            statements = await conn.fetch(
                "SELECT statement FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT CASE WHEN%'"
            )
    finally:
        await pool.close()
    texts = [row["statement"] for row in statements]
    assert len(texts) == 2, "one statement per branch, the filters' board and knownAt's alike"
    table = [t for t in texts if "WITH RECURSIVE" not in t]
    walk = [t for t in texts if "FROM leaderboard_best" not in t]
    assert len(table) == 1 and len(walk) == 1 and table != walk


async def test_a_rebuild_writes_the_rows_the_writes_left_ties_and_all(
    paths: Paths, board: str
) -> None:
    """Equal values measured on different days (the earlier ranks first) and on one day (the
    lower id does), a retracted score, a later better one and a correction: the rebuild
    (set-based for pairs never corrected nor re-verified, by history for the others) writes
    what the writes' refreshes did, and both rank as the walk does."""
    for write in (
        _record("best-a", "final", 60, -6, "INDEPENDENT"),
        _record("best-a", "preview", 60, -3, "LAB_CLAIM"),
        _record("best-a", "final", 61, 2, "THIRD_PARTY"),
        _record("best-b", "final", 50, -4, "INDEPENDENT"),
        _record("best-b", "preview", 50, -4, "INDEPENDENT"),
        _record("best-c", "final", 40, -5, "INDEPENDENT"),
        _record("best-c", "preview", 45, -2, "INDEPENDENT"),
        _correct(3, 48, -1),  # best-b's final 50, down to 48 from yesterday: its preview leads
    ):
        await _write(board, write)
    conn = await asyncpg.connect(board)
    try:
        # best-c's first score retracted on its own row (loaded without a history): its
        # pair is rebuilt set-based, without the score.
        retracted = await conn.fetchval(
            "UPDATE score SET verification = 'RETRACTED' FROM model "
            "WHERE model.id = score.model_id AND model.slug = 'best-c' AND score.value = 40 "
            "RETURNING score.id"
        )
        await conn.execute("DELETE FROM verification_change WHERE score_id = $1", retracted)
        await conn.execute("SELECT leaderboard_best_refresh_model(id) FROM model "
                           "WHERE slug = 'best-c'")  # fmt: skip
        rows = "SELECT * FROM leaderboard_best ORDER BY 1, 2, 3"
        kept = await conn.fetch(rows)
        await conn.execute("SELECT leaderboard_best_rebuild()")
        assert await conn.fetch(rows) == kept
        firsts = await conn.fetch(
            "SELECT model.slug, best.valid_from, score.version_id = v.id AS final "
            "FROM leaderboard_best AS best JOIN model ON model.id = best.model_id "
            "JOIN score ON score.id = best.score_id "
            "JOIN model_version AS v ON v.model_id = model.id AND v.label = 'final' "
            "WHERE model.slug LIKE 'best-%' ORDER BY 1, 2"
        )
    finally:
        await conn.close()
    assert [(r["slug"], (r["valid_from"] - clock.today()).days, r["final"]) for r in firsts] == [
        ("best-a", -6, True),  # the earlier 60 keeps its place against the later one
        ("best-a", 2, True),
        ("best-b", -4, True),  # recorded first: the lower id
        ("best-b", -1, False),
        ("best-c", -2, False),
    ]
    await _parity(paths, board)


SCORES_OF_ONE_PAIR = """
INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance, source_id)
SELECT v.id, bv.id, 40 + n % 7, current_date - n, 'INDEPENDENT', (SELECT min(id) FROM source)
FROM model_version AS v JOIN model ON model.id = v.model_id,
     benchmark_version AS bv JOIN benchmark ON benchmark.id = bv.benchmark_id,
     generate_series($2::int, $3::int) AS n
WHERE model.slug = 'best-a' AND v.label = $1 AND benchmark.slug = 'aa-intelligence-index'
"""


async def test_a_transaction_refreshes_each_pair_it_wrote_once(paths: Paths, board: str) -> None:
    """Forty scores of one model written in one transaction: at commit the pair's history is
    written once (migration 0011), not once per score; a score written after the pair was
    refreshed (constraints set immediate) refreshes it again, and the rows are the rebuild's."""
    conn = await asyncpg.connect(board)
    try:
        async with conn.transaction():
            await conn.execute(SCORES_OF_ONE_PAIR, "final", 1, 20)
            await conn.execute(SCORES_OF_ONE_PAIR, "preview", 21, 40)
            await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            written = await conn.fetchval(
                "SELECT pg_stat_get_xact_tuples_inserted('leaderboard_best'::regclass)"
            )
            held = await conn.fetchval(
                "SELECT count(*) FROM leaderboard_best JOIN model ON model.id = model_id "
                "WHERE model.slug = 'best-a'"
            )
            await conn.execute(
                "INSERT INTO score (version_id, benchmark_version_id, value, measured_on, "
                "provenance, source_id) SELECT score.version_id, score.benchmark_version_id, "
                "99, current_date - 3, 'INDEPENDENT', score.source_id FROM score "
                "JOIN model ON model.id = score.model_id WHERE model.slug = 'best-a' LIMIT 1"
            )
        rows = "SELECT * FROM leaderboard_best ORDER BY 1, 2, 3"
        kept = await conn.fetch(rows)
        await conn.execute("SELECT leaderboard_best_rebuild()")
        rebuilt = await conn.fetch(rows)
        leading = await conn.fetchval(
            "SELECT best.value FROM leaderboard_best AS best JOIN model ON model.id = model_id "
            "WHERE model.slug = 'best-a' AND best.valid_until IS NULL"
        )
    finally:
        await conn.close()
    assert held > 1  # forty scores over forty days: a stretch for each better one
    assert written == held  # one refresh; forty would have written 40 x held rows
    assert kept == rebuilt
    assert leading == 99  # the score written after the first refresh counts
    await _parity(paths, board)
