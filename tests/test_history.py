"""Questions about time: targets met or missed, score histories, thresholds, method versions."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, demo_source, issue_token

TARGETS = """
query ($asOf: Date, $provenance: [Provenance!]) {
  targets(lab: "upstage", benchmark: "aa-intelligence-index") {
    value due { date precision } statedOn source { kind }
    status(asOf: $asOf, provenance: $provenance)
    metBy(asOf: $asOf, provenance: $provenance) { value measuredOn }
  }
}
"""
CROSSINGS = """
query ($by: CrossingGroup! = COUNTRY, $provenance: [Provenance!], $asOf: Date = "2026-05-30") {
  thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40, by: $by,
                     asOf: $asOf, provenance: $provenance) {
    threshold benchmarkVersion { label }
    crossings { order reachedOn entry { country { code name } lab { slug } model { slug }
                                        version { stage } score { value qualifier } } }
  }
}
"""


async def _execute(database_url: str, sql: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _statuses(data: dict[str, Any]) -> list[tuple[float, str]]:
    return [(target["value"], target["status"]) for target in data["targets"]]


async def test_upstage_targets_open_on_the_day_and_judged_by_their_dates(api: Api) -> None:
    on_the_day = await api.data(TARGETS, asOf="2026-05-30")
    assert _statuses(on_the_day) == [(50, "OPEN"), (60, "OPEN")]
    assert on_the_day["targets"][0]["due"] == {"date": "2026-08-31", "precision": "MONTH"}
    # With no score of 50 or more by the end of summer, the first target is missed.
    autumn = await api.data(TARGETS, asOf="2026-10-01")
    assert _statuses(autumn) == [(50, "MISSED"), (60, "OPEN")]
    new_year = await api.data(TARGETS, asOf="2027-01-01")
    assert _statuses(new_year) == [(50, "MISSED"), (60, "MISSED")]


async def test_a_target_is_met_by_a_counted_score_before_its_due_date(
    api: Api, database_url: str
) -> None:
    await _execute(
        database_url,
        """
        INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                           source_id)
        SELECT v.id, bv.id, 52.5, '2026-07-15', 'INDEPENDENT', s.id
        FROM model_version v JOIN model m ON m.id = v.model_id, benchmark_version bv, source s
        WHERE m.slug = 'solar-next' AND v.label = 'final' AND s.kind = 'LEADERBOARD'
        """,
    )
    before = await api.data(TARGETS, asOf="2026-07-14")
    assert _statuses(before) == [(50, "OPEN"), (60, "OPEN")]
    after = await api.data(TARGETS, asOf="2026-10-01")
    assert _statuses(after) == [(50, "MET"), (60, "OPEN")]
    assert after["targets"][0]["metBy"] == {"value": 52.5, "measuredOn": "2026-07-15"}


async def test_a_lab_claim_counts_for_a_target_only_when_asked(api: Api, database_url: str) -> None:
    await _execute(
        database_url,
        """
        INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                           source_id)
        SELECT v.id, bv.id, 51, '2026-06-20', 'LAB_CLAIM', s.id
        FROM model_version v JOIN model m ON m.id = v.model_id, benchmark_version bv, source s
        WHERE m.slug = 'solar-next' AND v.label = 'preview' AND s.kind = 'ANNOUNCEMENT'
          AND s.publisher = 'Upstage CEO'
        """,
    )
    independent = await api.data(TARGETS, asOf="2026-10-01")
    assert _statuses(independent)[0] == (50, "MISSED")
    claims = await api.data(TARGETS, asOf="2026-10-01", provenance=["LAB_CLAIM"])
    assert _statuses(claims)[0] == (50, "MET")


async def test_the_third_country_past_40_counts_a_lab_claim(api: Api) -> None:
    data = (await api.data(CROSSINGS))["thresholdCrossings"]
    crossings = data["crossings"]
    assert [(c["order"], c["entry"]["country"]["code"]) for c in crossings] == [
        (1, "US"),
        (2, "CN"),
        (3, "KR"),
    ]
    korea = crossings[2]
    assert korea["reachedOn"] == "2026-05-30"
    upstage = await api.data('{ lab(slug: "upstage") { id country { code name } } }')
    assert korea["entry"]["country"] == upstage["lab"]["country"]
    assert korea["entry"]["country"]["name"]
    assert korea["entry"]["version"]["stage"] == "PREVIEW"
    assert korea["entry"]["score"] == {"value": 40, "qualifier": "AT_LEAST"}

    independent = (await api.data(CROSSINGS, provenance=["INDEPENDENT"]))["thresholdCrossings"]
    assert [c["entry"]["country"]["code"] for c in independent["crossings"]] == ["US", "CN"]


async def test_crossings_by_lab(api: Api) -> None:
    data = (await api.data(CROSSINGS, by="LAB"))["thresholdCrossings"]
    labs = [c["entry"]["lab"]["slug"] for c in data["crossings"]]
    assert labs == ["anthropic", "openai", "google", "alibaba-qwen", "moonshot-ai", "upstage"]


async def test_crossings_by_country_show_the_best_of_a_same_day_tie(api: Api) -> None:
    # Three US labs reached 40 on 2026-05-30: the country's entry is the best of them, 61.4.
    data = (await api.data(CROSSINGS))["thresholdCrossings"]
    us = data["crossings"][0]
    assert us["entry"]["country"]["code"] == "US"
    assert us["entry"]["model"]["slug"] == "claude-opus-4.8"
    assert us["entry"]["score"] == {"value": 61.4, "qualifier": "EXACT"}


VERIFIED_CROSSINGS = """
query ($verification: [Verification!]) {
  thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40, by: LAB,
                     asOf: "2026-05-30", verification: $verification) {
    crossings { entry { lab { slug } score { verification } } }
  }
}
"""


async def test_crossings_count_only_the_verifications_asked_for(
    api: Api, database_url: str
) -> None:
    await _execute(
        database_url,
        """
        UPDATE score SET verification = 'VERIFIED'
        WHERE version_id IN (SELECT v.id FROM model_version v JOIN model m ON m.id = v.model_id
                             WHERE m.slug = 'gpt-5.5')
        """,
    )

    async def labs(verification: list[str] | None) -> list[str]:
        data = await api.data(VERIFIED_CROSSINGS, verification=verification)
        return [c["entry"]["lab"]["slug"] for c in data["thresholdCrossings"]["crossings"]]

    assert await labs(["VERIFIED"]) == ["openai"]
    unverified = await labs(["UNVERIFIED"])
    assert "openai" not in unverified
    assert unverified[:2] == ["anthropic", "google"]
    assert len(await labs(None)) == len(unverified) + 1


async def test_score_history_marks_corrections_and_retractions(api: Api, database_url: str) -> None:
    await _execute(
        database_url,
        """
        INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                           source_id, supersedes_id)
        SELECT old.version_id, old.benchmark_version_id, 61.0, '2026-06-02', 'INDEPENDENT',
               old.source_id, old.id
        FROM score old JOIN model_version v ON v.id = old.version_id
        JOIN model m ON m.id = v.model_id WHERE m.slug = 'claude-opus-4.8';
        UPDATE score SET verification = 'RETRACTED', verification_changed_on = '2026-06-03'
        WHERE value = 61.0;
        """,
    )
    query = """
    { scoreHistory(model: "claude-opus-4.8", benchmark: "aa-intelligence-index") {
        value measuredOn superseded verification supersedes { value } } }
    """
    history = (await api.data(query))["scoreHistory"]
    assert history == [
        {
            "value": 61.4,
            "measuredOn": "2026-05-30",
            "superseded": True,
            "verification": "UNVERIFIED",
            "supersedes": None,
        },
        {
            "value": 61.0,
            "measuredOn": "2026-06-02",
            "superseded": False,
            "verification": "RETRACTED",
            "supersedes": {"value": 61.4},
        },
    ]


async def test_rankings_never_mix_method_versions(api: Api, database_url: str) -> None:
    await _execute(
        database_url,
        """
        INSERT INTO benchmark_version (benchmark_id, label, effective_on)
        SELECT id, 'next method', '2026-07-01' FROM benchmark
        WHERE slug = 'aa-intelligence-index';
        INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                           source_id)
        SELECT v.id, bv.id, 44, '2026-07-02', 'INDEPENDENT', s.id
        FROM model_version v JOIN model m ON m.id = v.model_id,
             benchmark_version bv, source s
        WHERE m.slug = 'command-a-plus' AND bv.label = 'next method' AND s.kind = 'LEADERBOARD'
        """,
    )
    query = """
    query ($asOf: Date!, $version: String) {
      leaderboard(benchmark: "aa-intelligence-index", asOf: $asOf, benchmarkVersion: $version) {
        benchmarkVersion { label } totalCount edges { node { model { slug } } } } }
    """
    june = (await api.data(query, asOf="2026-06-15"))["leaderboard"]
    assert june["benchmarkVersion"]["label"] == "as reported 2026-05-30"
    assert june["totalCount"] == 8
    july = (await api.data(query, asOf="2026-07-15"))["leaderboard"]
    # Only the new method's score: the old version's scores are not ranked beside it.
    assert july["benchmarkVersion"]["label"] == "next method"
    assert [e["node"]["model"]["slug"] for e in july["edges"]] == ["command-a-plus"]
    old = await api.data(query, asOf="2026-07-15", version="as reported 2026-05-30")
    assert old["leaderboard"]["totalCount"] == 8
    missing = await api.graphql(query, asOf="2026-07-15", version="v99")
    assert missing["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "benchmarkVersion"}


HISTORY = """
query ($model: String!, $version: String, $benchmark: String) {
  scoreHistory(model: $model, version: $version, benchmark: $benchmark) { value measuredOn }
}
"""


async def test_the_target_value_on_the_due_date_meets_it_and_the_first_score_is_named(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))

    async def record(value: float, measured_on: str) -> str:
        written = await editor.ok(
            "recordScore",
            "RecordScoreInput",
            "score { id }",
            {
                "model": "solar-next",
                "version": "final",
                "benchmark": "aa-intelligence-index",
                "value": value,
                "measuredOn": measured_on,
                "provenance": "INDEPENDENT",
                "source": demo_source("aa-leaderboard"),
            },
        )
        score_id: str = written["score"]["id"]
        return score_id

    # Exactly 50, on the day the first target is due (2026-08-31).
    await record(50, "2026-08-31")
    autumn = await api.data(TARGETS, asOf="2026-10-01")
    assert _statuses(autumn) == [(50, "MET"), (60, "OPEN")]
    assert autumn["targets"][0]["metBy"] == {"value": 50, "measuredOn": "2026-08-31"}
    # Met twice: the first score that met it is named.
    early = await record(55, "2026-08-01")
    autumn = await api.data(TARGETS, asOf="2026-10-01")
    assert autumn["targets"][0]["metBy"] == {"value": 55, "measuredOn": "2026-08-01"}

    final = await api.data(HISTORY, model="solar-next", version="final")
    assert [s["value"] for s in final["scoreHistory"]] == [55, 50]
    everything = await api.data(HISTORY, model="solar-next", benchmark="aa-intelligence-index")
    assert len(everything["scoreHistory"]) == 3  # and the preview's claim
    assert (await api.data(HISTORY, model="solar-next", benchmark="no-such-benchmark")) == {
        "scoreHistory": []
    }

    # Corrected to 45 on 2026-08-10: from that day on, only the 50 of 2026-08-31 meets it.
    await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        "score { id }",
        {
            "score": early,
            "value": 45,
            "measuredOn": "2026-08-10",
            "source": demo_source("aa-leaderboard"),
        },
    )
    assert _statuses(await api.data(TARGETS, asOf="2026-08-09"))[0] == (50, "MET")
    assert _statuses(await api.data(TARGETS, asOf="2026-08-10"))[0] == (50, "OPEN")
    autumn = await api.data(TARGETS, asOf="2026-10-01")
    assert autumn["targets"][0]["metBy"] == {"value": 50, "measuredOn": "2026-08-31"}


LAB_TARGETS = """
query ($benchmark: String!, $asOf: Date) {
  targets(lab: "upstage", benchmark: $benchmark) {
    value status(asOf: $asOf) metBy(asOf: $asOf) { value qualifier }
  }
}
"""


async def test_a_target_on_a_lower_is_better_benchmark_is_met_from_below(
    api: Api, database_url: str
) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    source = demo_source("aa-leaderboard")
    await editor.ok(
        "createBenchmark",
        "CreateBenchmarkInput",
        "benchmark { slug }",
        {
            "slug": "error-rate",
            "name": "Error rate",
            "scaleMin": 0,
            "scaleMax": 100,
            "higherIsBetter": False,
            "isIndependent": True,
        },
    )
    await editor.ok(
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        "benchmarkVersion { label }",
        {"benchmark": "error-rate", "label": "v1", "effectiveOn": "2026-01-01"},
    )
    await editor.ok(
        "stateTarget",
        "StateTargetInput",
        "target { id }",
        {
            "lab": "upstage",
            "benchmark": "error-rate",
            "value": 20,
            "dueOn": "2027-12-31",
            "duePrecision": "YEAR",
            "statedOn": "2026-06-01",
            "source": source,
        },
    )

    async def record(value: float, qualifier: str, measured_on: str) -> None:
        await editor.ok(
            "recordScore",
            "RecordScoreInput",
            "score { id }",
            {
                "model": "solar-next",
                "version": "final",
                "benchmark": "error-rate",
                "value": value,
                "qualifier": qualifier,
                "measuredOn": measured_on,
                "provenance": "INDEPENDENT",
                "source": source,
            },
        )

    async def outcome(as_of: str) -> tuple[str, dict[str, Any] | None]:
        target = (await api.data(LAB_TARGETS, benchmark="error-rate", asOf=as_of))["targets"][0]
        return target["status"], target["metBy"]

    # Above the target, and "at least 15" (which could be above it too): neither meets it.
    await record(25, "EXACT", "2026-07-01")
    await record(15, "AT_LEAST", "2026-07-05")
    assert await outcome("2026-07-09") == ("OPEN", None)
    await record(18, "EXACT", "2026-07-10")
    assert await outcome("2026-07-10") == ("MET", {"value": 18, "qualifier": "EXACT"})
