"""What the registry said at any time: answers for a past `knownAt` are reproducible.

Writes go through the command layer, as the mutations do, on a connection whose
`registry.clock` (migration 0007) pins the transaction time to the day the script names: a
claim, an independent measurement, a verification, a correction, a retraction and an archive,
each recorded on its own day. The questions are asked as of one valid date throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from service import commands, ids, inputs, validation
from service.db import Conn
from service.db.pool import connect
from service.validation import InputT
from tests.conftest import Api
from tests.writing import demo_source

INDEX = "aa-intelligence-index"
SOURCE = demo_source("aa-leaderboard")
AS_OF = "2026-06-30"

QUESTIONS = """
query KnownAt($asOf: Date!, $knownAt: DateTime) {
  leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, knownAt: $knownAt, first: 6) {
    knownAt
    edges { node { rank model { slug } score { value verification } } }
  }
  verified: leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, knownAt: $knownAt,
                        verification: [VERIFIED]) {
    edges { node { model { slug } } }
  }
  countryRanking(benchmark: "aa-intelligence-index", asOf: $asOf, knownAt: $knownAt, first: 5) {
    knownAt
    edges { node { country { code } entry { score { value } } } }
  }
  thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 60, asOf: $asOf,
                     knownAt: $knownAt) {
    knownAt
    crossings { entry { country { code } model { slug } } }
  }
  targets(lab: "example-lab", knownAt: $knownAt) { value knownAt status(asOf: $asOf) }
}
"""

Write = Callable[[Conn], Awaitable[Any]]


def _parse(model: type[InputT], data: dict[str, Any]) -> InputT:
    return validation.parse(model, data)


def _score(value: float, qualifier: str, measured_on: str, provenance: str) -> inputs.ScoreInput:
    return _parse(
        inputs.ScoreInput,
        {
            "model": "example-model",
            "version": "final",
            "benchmark": INDEX,
            "value": value,
            "qualifier": qualifier,
            "measuredOn": measured_on,
            "provenance": provenance,
            "source": SOURCE,
        },
    )


async def _score_id(conn: Conn, value: float) -> str:
    row_id = await conn.fetchval(
        "SELECT score.id FROM score JOIN model ON model.id = score.model_id "
        "WHERE model.slug = 'example-model' AND score.value = $1",
        value,
    )
    return ids.encode("Score", row_id)


async def _claim(conn: Conn) -> None:
    await commands.create_lab(
        conn,
        "editor",
        _parse(inputs.LabInput, {"slug": "example-lab", "name": "Example", "country": "DE"}),
    )
    await commands.create_model(
        conn,
        "editor",
        _parse(
            inputs.ModelInput, {"slug": "example-model", "name": "Example", "lab": "example-lab"}
        ),
    )
    await commands.create_version(
        conn,
        "editor",
        _parse(inputs.VersionInput, {"model": "example-model", "label": "final", "stage": "FINAL"}),
    )
    await commands.record_score(conn, "editor", _score(45, "AT_LEAST", "2026-06-01", "LAB_CLAIM"))
    await commands.state_target(
        conn,
        "editor",
        _parse(
            inputs.TargetInput,
            {
                "lab": "example-lab",
                "benchmark": INDEX,
                "value": 50,
                "dueOn": "2026-06-30",
                "duePrecision": "DAY",
                "statedOn": "2026-05-01",
                "source": SOURCE,
            },
        ),
    )


async def _measurement(conn: Conn) -> None:
    await commands.record_score(conn, "editor", _score(44, "EXACT", "2026-06-05", "INDEPENDENT"))


async def _verification(conn: Conn) -> None:
    data = {
        "score": await _score_id(conn, 45),
        "verification": "VERIFIED",
        "changedOn": "2026-06-05",
        "evidence": await _score_id(conn, 44),
    }
    await commands.set_score_verification(
        conn, "editor", _parse(inputs.ScoreVerificationInput, data)
    )


async def _correction(conn: Conn) -> None:
    data = {
        "score": await _score_id(conn, 44),
        "value": 62,
        "measuredOn": "2026-06-06",
        "source": SOURCE,
    }
    await commands.supersede_score(conn, "editor", _parse(inputs.SupersedeScoreInput, data))


async def _retraction(conn: Conn) -> None:
    data = {
        "score": await _score_id(conn, 62),
        "verification": "RETRACTED",
        "changedOn": "2026-06-06",
    }
    await commands.set_score_verification(
        conn, "editor", _parse(inputs.ScoreVerificationInput, data)
    )


async def _archive(conn: Conn) -> None:
    await commands.archive_model(
        conn, "editor", _parse(inputs.ArchiveInput, {"slug": "example-model"})
    )


# Far past the template's own writes: the registry's clock only moves forward.
FIRST_DAY = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
SCRIPT: list[Write] = [_claim, _measurement, _verification, _correction, _retraction, _archive]


async def write_on(database_url: str, moment: dt.datetime, write: Write) -> None:
    """Run a write through the commands, recorded at `moment` (the transaction time)."""
    conn = await connect(database_url)
    try:
        await conn.execute(f"SET registry.clock = '{moment.isoformat()}'")
        await write(conn)
    finally:
        await conn.close()


def _end_of(day: int) -> str:
    return (FIRST_DAY + dt.timedelta(days=day, hours=11)).isoformat().replace("+00:00", "Z")


US_TOP = [
    (1, "claude-opus-4.8", 61.4, "UNVERIFIED"),
    (2, "gpt-5.5", 60.2, "UNVERIFIED"),
    (3, "gemini-3.1-pro", 57.2, "UNVERIFIED"),
]
CHINA = [(4, "qwen-flagship", 50.0, "UNVERIFIED"), (4, "kimi-flagship", 50.0, "UNVERIFIED")]
DEMO_COUNTRIES = [("US", 61.4), ("CN", 50.0), ("KR", 40.0), ("FR", 39.2), ("CA", 37.2)]
WITH_GERMANY = [("US", 61.4), ("CN", 50.0), ("DE", 45.0), ("KR", 40.0), ("FR", 39.2)]
CLAIM = (6, "example-model", 45.0, "UNVERIFIED")
VERIFIED_CLAIM = (6, "example-model", 45.0, "VERIFIED")
CORRECTION = (1, "example-model", 62.0, "UNVERIFIED")

# For the end of each day (-1: the day before the script), what the registry answered then.
EXPECTED: dict[int, dict[str, Any]] = {
    -1: {
        "leaderboard": [*US_TOP, *CHINA, (6, "solar-next", 40.0, "UNVERIFIED")],
        "verified": [],
        "countries": DEMO_COUNTRIES,
        "crossings": [("US", "claude-opus-4.8")],
        "targets": [],
    },
    0: {  # the lab's claim, and its target
        "leaderboard": [*US_TOP, *CHINA, CLAIM],
        "verified": [],
        "countries": WITH_GERMANY,
        "crossings": [("US", "claude-opus-4.8")],
        "targets": [(50.0, "OPEN")],
    },
    1: {  # an independent measurement below the claim
        "leaderboard": [*US_TOP, *CHINA, CLAIM],
        "verified": [],
        "countries": WITH_GERMANY,
        "crossings": [("US", "claude-opus-4.8")],
        "targets": [(50.0, "OPEN")],
    },
    2: {  # the claim verified, with the measurement as evidence
        "leaderboard": [*US_TOP, *CHINA, VERIFIED_CLAIM],
        "verified": ["example-model"],
        "countries": WITH_GERMANY,
        "crossings": [("US", "claude-opus-4.8")],
        "targets": [(50.0, "OPEN")],
    },
    3: {  # the measurement corrected to 62: first place, past 60, the target met
        "leaderboard": [
            CORRECTION,
            (2, "claude-opus-4.8", 61.4, "UNVERIFIED"),
            (3, "gpt-5.5", 60.2, "UNVERIFIED"),
            (4, "gemini-3.1-pro", 57.2, "UNVERIFIED"),
            (5, "qwen-flagship", 50.0, "UNVERIFIED"),
            (5, "kimi-flagship", 50.0, "UNVERIFIED"),
        ],
        "verified": ["example-model"],
        "countries": [("DE", 62.0), ("US", 61.4), ("CN", 50.0), ("KR", 40.0), ("FR", 39.2)],
        "crossings": [("US", "claude-opus-4.8"), ("DE", "example-model")],
        "targets": [(50.0, "MET")],
    },
    4: {  # the correction retracted from the day it was measured
        "leaderboard": [*US_TOP, *CHINA, VERIFIED_CLAIM],
        "verified": ["example-model"],
        "countries": WITH_GERMANY,
        "crossings": [("US", "claude-opus-4.8")],
        "targets": [(50.0, "OPEN")],
    },
    5: {  # the model archived
        "leaderboard": [*US_TOP, *CHINA, (6, "solar-next", 40.0, "UNVERIFIED")],
        "verified": [],
        "countries": DEMO_COUNTRIES,
        "crossings": [("US", "claude-opus-4.8")],
        "targets": [(50.0, "OPEN")],
    },
}


def _answer(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "leaderboard": [
            (
                e["node"]["rank"],
                e["node"]["model"]["slug"],
                e["node"]["score"]["value"],
                e["node"]["score"]["verification"],
            )
            for e in data["leaderboard"]["edges"]
        ],
        "verified": [e["node"]["model"]["slug"] for e in data["verified"]["edges"]],
        "countries": [
            (e["node"]["country"]["code"], e["node"]["entry"]["score"]["value"])
            for e in data["countryRanking"]["edges"]
        ],
        "crossings": [
            (c["entry"]["country"]["code"], c["entry"]["model"]["slug"])
            for c in data["thresholdCrossings"]["crossings"]
        ],
        "targets": [(t["value"], t["status"]) for t in data["targets"]],
    }


async def _ask(api: Api, known_at: str | None) -> dict[str, Any]:
    return await api.data(QUESTIONS, asOf=AS_OF, knownAt=known_at)


async def test_every_day_of_a_scripted_history_answers_as_it_did_then(
    api: Api, database_url: str
) -> None:
    before = await _ask(api, _end_of(-1))
    assert _answer(before) == EXPECTED[-1]
    for day, write in enumerate(SCRIPT):
        await write_on(database_url, FIRST_DAY + dt.timedelta(days=day), write)
        # Asked that day, "now" and the end of the day both answer for the day's write.
        assert _answer(await _ask(api, None)) == EXPECTED[day], day
        assert _answer(await _ask(api, _end_of(day))) == EXPECTED[day], day
    # Whatever was written since, every day still answers as it did.
    for day in EXPECTED:
        data = await _ask(api, _end_of(day))
        assert _answer(data) == EXPECTED[day], day
        # The answer carries its time; past the last write, the last write's.
        last_write = FIRST_DAY + dt.timedelta(days=len(SCRIPT) - 1)
        settled = min(dt.datetime.fromisoformat(_end_of(day)), last_write).isoformat()
        times = {data[field]["knownAt"] for field in ("leaderboard", "countryRanking")}
        assert times == {settled}


async def test_an_answer_carries_the_time_it_is_final_for(api: Api, database_url: str) -> None:
    await write_on(database_url, FIRST_DAY, _claim)
    clock = await _registry_clock(database_url)
    # Past the registry's latest write nothing is final yet: the answer is for that write.
    for asked in (None, "2031-01-01T00:00:00Z", "2031-01-01T09:00:00+09:00"):
        data = await _ask(api, asked)
        assert data["leaderboard"]["knownAt"] == clock.isoformat()
        assert data["thresholdCrossings"]["knownAt"] == clock.isoformat()
        assert {t["knownAt"] for t in data["targets"]} == {clock.isoformat()}
    # A time without an offset is UTC.
    data = await _ask(api, "2030-01-01T11:00:00")
    assert data["leaderboard"]["knownAt"] == "2030-01-01T11:00:00+00:00"
    assert _answer(data)["targets"] == []


async def _registry_clock(database_url: str) -> dt.datetime:
    conn = await asyncpg.connect(database_url)
    try:
        clock: dt.datetime = await conn.fetchval("SELECT last_at FROM transaction_clock")
        return clock
    finally:
        await conn.close()


async def test_verification_is_a_history_with_times_and_sources(
    api: Api, database_url: str
) -> None:
    for day, write in enumerate(SCRIPT[:3]):
        await write_on(database_url, FIRST_DAY + dt.timedelta(days=day), write)
    query = """
    query ClaimHistory {
      scoreHistory(model: "example-model") {
        value recordedAt
        verificationHistory { verification changedOn recordedAt source { kind }
                              evidence { value } }
      }
    }
    """
    history = (await api.data(query))["scoreHistory"]
    claim = history[0]
    # Each transaction of a day is a microsecond after the one before: times never repeat.
    assert claim["recordedAt"].startswith("2030-01-01T12:00:00.0000")
    for change in claim["verificationHistory"]:
        change["recordedAt"] = change["recordedAt"][:10]
    assert claim["verificationHistory"] == [
        {
            "verification": "UNVERIFIED",
            "changedOn": None,
            "recordedAt": "2030-01-01",
            "source": {"kind": "LEADERBOARD"},
            "evidence": None,
        },
        {
            "verification": "VERIFIED",
            "changedOn": "2026-06-05",
            "recordedAt": "2030-01-03",
            "source": {"kind": "LEADERBOARD"},
            "evidence": {"value": 44.0},
        },
    ]
    # Asked for the day before the verification, the history shows the claim unverified.
    before = """
    query ClaimBefore($knownAt: DateTime) {
      scoreHistory(model: "example-model", knownAt: $knownAt) { value verification }
    }
    """
    earlier = (await api.data(before, knownAt="2030-01-02T23:00:00Z"))["scoreHistory"]
    assert earlier == [
        {"value": 45.0, "verification": "UNVERIFIED"},
        {"value": 44.0, "verification": "UNVERIFIED"},
    ]


async def test_a_method_version_recorded_later_leaves_past_answers_alone(
    api: Api, database_url: str
) -> None:
    async def new_version(conn: Conn) -> None:
        data = {"benchmark": INDEX, "label": "v2", "effectiveOn": "2026-06-15"}
        await commands.create_benchmark_version(
            conn, "editor", _parse(inputs.BenchmarkVersionInput, data)
        )

    query = """
    query Method($knownAt: DateTime) {
      leaderboard(benchmark: "aa-intelligence-index", asOf: "2026-06-30", knownAt: $knownAt,
                  first: 1) { benchmarkVersion { label } edges { node { model { slug } } } }
    }
    """
    await write_on(database_url, FIRST_DAY, new_version)
    before = (await api.data(query, knownAt=_end_of(-1)))["leaderboard"]
    after = (await api.data(query, knownAt=_end_of(0)))["leaderboard"]
    assert before["benchmarkVersion"]["label"] != "v2"
    assert before["edges"] != []
    assert after == {"benchmarkVersion": {"label": "v2"}, "edges": []}
