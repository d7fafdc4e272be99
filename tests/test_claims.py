"""Claims and their evidence: confirmed, refuted or pending, with the gap and the wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, demo_source, issue_token

INDEX = "aa-intelligence-index"
LEADERBOARD = demo_source("aa-leaderboard")
CLAIMS = """
query Claims($status: [ClaimStatus!], $lab: String, $benchmark: String, $minValue: Float,
             $asOf: Date, $first: Int) {
  claims(status: $status, lab: $lab, benchmark: $benchmark, minValue: $minValue, asOf: $asOf,
         first: $first) {
    totalCount
    pageInfo { hasNextPage }
    nodes {
      status gap daysToEvidence
      score { id value qualifier provenance measuredOn }
      evidence { id value qualifier provenance measuredOn }
      model { id slug } lab { id slug }
    }
  }
}
"""
# The question README answers: which claims past 40 were never independently confirmed?
NEVER_CONFIRMED = {"status": ["PENDING", "REFUTED"], "minValue": 40}


@pytest.fixture
async def editor(api: Api, database_url: str) -> AsyncIterator[Writer]:
    yield Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))


async def _claims(api: Api, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await api.data(CLAIMS, **variables))["claims"]["nodes"]
    return nodes


async def _score(editor: Writer, **fields: Any) -> str:
    data = {"benchmark": INDEX, "source": LEADERBOARD, "provenance": "INDEPENDENT", **fields}
    written = await editor.ok("recordScore", "RecordScoreInput", "score { id }", data)
    score_id: str = written["score"]["id"]
    return score_id


async def _link(editor: Writer, claim: str, evidence: str, on: str) -> None:
    await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        "score { id }",
        {"score": claim, "verification": "VERIFIED", "changedOn": on, "evidence": evidence},
    )


async def test_the_demo_claim_past_40_was_never_independently_confirmed(api: Api) -> None:
    claims = await _claims(api, **NEVER_CONFIRMED)
    assert [(c["model"]["slug"], c["status"], c["gap"], c["evidence"]) for c in claims] == [
        ("solar-next", "PENDING", None, None)
    ]
    assert claims[0]["score"]["qualifier"] == "AT_LEAST"
    assert claims[0]["score"]["value"] == 40
    assert claims[0]["lab"]["slug"] == "upstage"


async def test_at_least_40_is_confirmed_by_41_and_refuted_by_a_correction_to_38(
    editor: Writer,
) -> None:
    api = editor.api
    claim = (await _claims(api, lab="upstage"))[0]["score"]["id"]
    measured = await _score(
        editor, model="solar-next", version="final", value=41, measuredOn="2026-07-02"
    )
    await _link(editor, claim, measured, "2026-07-02")

    confirmed = await _claims(api, lab="upstage", asOf="2026-07-05")
    assert [(c["status"], c["gap"], c["daysToEvidence"]) for c in confirmed] == [
        ("CONFIRMED", 1.0, 33)
    ]
    assert confirmed[0]["evidence"]["id"] == measured
    assert await _claims(api, asOf="2026-07-05", **NEVER_CONFIRMED) == []
    # Before the measurement existed, the same claim was still waiting for evidence.
    assert [c["status"] for c in await _claims(api, lab="upstage", asOf="2026-06-30")] == [
        "PENDING"
    ]

    corrected = await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        "score { id }",
        {"score": measured, "value": 38, "measuredOn": "2026-07-10", "source": LEADERBOARD},
    )
    refuted = await _claims(api, asOf="2026-07-15", **NEVER_CONFIRMED)
    assert [(c["status"], c["gap"], c["daysToEvidence"]) for c in refuted] == [
        ("REFUTED", -2.0, 41)
    ]
    assert refuted[0]["evidence"]["id"] == corrected["score"]["id"]
    assert [c["status"] for c in await _claims(api, status="CONFIRMED", asOf="2026-07-15")] == []


async def test_qualifiers_and_uncertainty_decide_what_evidence_can_tell(editor: Writer) -> None:
    api = editor.api
    # Mistral's own claim of 45 +/- 1 against the independent 39.2 already recorded.
    exact = await _score(
        editor,
        model="mistral-medium-3.5",
        version="release",
        value=45,
        uncertainty=1,
        measuredOn="2026-05-30",
        provenance="LAB_CLAIM",
    )
    scores = await api.data(
        '{ version(model: "mistral-medium-3.5", label: "release") { id scores { id provenance } } }'
    )
    independent = next(
        score["id"] for score in scores["version"]["scores"] if score["provenance"] == "INDEPENDENT"
    )
    await _link(editor, exact, independent, "2026-05-30")
    # Cohere claims at most 45 (a cost claim, say); "at least 30" can tell nothing about it.
    at_most = await _score(
        editor,
        model="command-a-plus",
        version="release",
        value=45,
        qualifier="AT_MOST",
        measuredOn="2026-05-30",
        provenance="LAB_CLAIM",
    )
    bound = await _score(
        editor,
        model="command-a-plus",
        version="release",
        value=30,
        qualifier="AT_LEAST",
        measuredOn="2026-06-01",
    )
    await _link(editor, at_most, bound, "2026-06-01")

    mistral = await _claims(api, lab="mistral-ai", asOf="2026-06-05")
    assert [(c["status"], round(c["gap"], 1), c["daysToEvidence"]) for c in mistral] == [
        ("REFUTED", -5.8, 0)
    ]
    cohere = await _claims(api, lab="cohere", asOf="2026-06-05")
    assert [(c["status"], c["gap"], c["daysToEvidence"]) for c in cohere] == [("PENDING", -15.0, 2)]
    # An AT_MOST claim asserts nothing upwards: it is not a claim past 40.
    past_40 = await _claims(api, asOf="2026-06-05", minValue=40)
    assert {c["model"]["slug"] for c in past_40} == {"mistral-medium-3.5", "solar-next"}
    assert len(await _claims(api, asOf="2026-06-05", benchmark=INDEX)) == 3
    assert await _claims(api, asOf="2026-06-05", benchmark="no-such-benchmark") == []


async def test_a_lab_claim_is_no_independent_evidence(editor: Writer) -> None:
    api = editor.api
    claim = (await _claims(api, lab="upstage"))[0]["score"]["id"]
    again = await _score(
        editor,
        model="solar-next",
        version="final",
        value=44,
        measuredOn="2026-07-01",
        provenance="LAB_CLAIM",
    )
    await _link(editor, claim, again, "2026-07-01")
    statuses = {
        c["score"]["id"]: (c["status"], c["evidence"])
        for c in await _claims(api, lab="upstage", asOf="2026-07-02")
    }
    assert statuses == {claim: ("PENDING", None), again: ("PENDING", None)}


async def test_claims_page_with_a_bounded_number_of_statements(editor: Writer) -> None:
    api = editor.api
    for day in range(1, 6):
        await _score(
            editor,
            model="gpt-5.5",
            version="release",
            value=60 + day,
            measuredOn=f"2026-06-0{day}",
            provenance="LAB_CLAIM",
        )
    await api.data(CLAIMS, first=2, asOf="2026-06-30")
    api.queries.clear()
    page = (await api.data(CLAIMS, first=2, asOf="2026-06-30"))["claims"]
    few = len(api.queries.statements)
    assert page["totalCount"] == 6 and page["pageInfo"]["hasNextPage"] is True
    assert [c["score"]["value"] for c in page["nodes"]] == [65, 64]
    api.queries.clear()
    everything = (await api.data(CLAIMS, first=6, asOf="2026-06-30"))["claims"]
    assert len(everything["nodes"]) == 6
    assert len(api.queries.statements) == few


CLAIMS_FROM_THE_END = """
query ClaimsFromTheEnd($asOf: Date, $last: Int, $before: String) {
  claims(asOf: $asOf, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor }
    nodes { score { id value } }
  }
}
"""


async def test_claims_page_back_from_the_end_of_the_list(editor: Writer) -> None:
    api = editor.api
    for day in range(1, 6):
        await _score(
            editor,
            model="gpt-5.5",
            version="release",
            value=60 + day,
            measuredOn=f"2026-06-0{day}",
            provenance="LAB_CLAIM",
        )
    whole = [c["score"]["id"] for c in await _claims(api, first=100, asOf="2026-06-30")]
    assert len(whole) == 6
    # `last` without `before`: the list's last two, still in list order (newest first).
    tail = (await api.data(CLAIMS_FROM_THE_END, last=2, asOf="2026-06-30"))["claims"]
    assert [c["score"]["id"] for c in tail["nodes"]] == whole[-2:]
    assert (tail["pageInfo"]["hasNextPage"], tail["pageInfo"]["hasPreviousPage"]) == (False, True)
    assert tail["totalCount"] == 6
    earlier = (
        await api.data(
            CLAIMS_FROM_THE_END, last=2, before=tail["pageInfo"]["startCursor"], asOf="2026-06-30"
        )
    )["claims"]
    assert [c["score"]["id"] for c in earlier["nodes"]] == whole[-4:-2]


async def test_each_date_counts_from_its_own_day_on(editor: Writer) -> None:
    """A claim, its evidence, a correction of either and a retraction each count from the day
    they carry: asked for that very day, the claim stands as it does from then on."""
    api = editor.api

    async def judged(day: str) -> list[tuple[str, str, str | None]]:
        return [
            (c["score"]["id"], c["status"], c["evidence"] and c["evidence"]["id"])
            for c in await _claims(api, lab="upstage", asOf=day)
        ]

    claim = (await _claims(api, lab="upstage"))[0]["score"]["id"]
    assert await judged("2026-05-29") == []
    assert await judged("2026-05-30") == [(claim, "PENDING", None)]
    measured = await _score(
        editor, model="solar-next", version="final", value=41, measuredOn="2026-07-02"
    )
    await _link(editor, claim, measured, "2026-07-02")
    assert await judged("2026-07-01") == [(claim, "PENDING", None)]
    assert await judged("2026-07-02") == [(claim, "CONFIRMED", measured)]

    corrected = await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        "score { id }",
        {"score": measured, "value": 38, "measuredOn": "2026-07-10", "source": LEADERBOARD},
    )
    correction = corrected["score"]["id"]
    assert await judged("2026-07-09") == [(claim, "CONFIRMED", measured)]
    assert await judged("2026-07-10") == [(claim, "REFUTED", correction)]

    await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        "score { id }",
        {"score": correction, "verification": "RETRACTED", "changedOn": "2026-07-12"},
    )
    assert await judged("2026-07-11") == [(claim, "REFUTED", correction)]
    # Retracted evidence is no evidence: the claim waits again.
    assert await judged("2026-07-12") == [(claim, "PENDING", None)]

    restated = await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        "score { id }",
        {"score": claim, "value": 42, "measuredOn": "2026-07-20", "source": LEADERBOARD},
    )
    assert [row[0] for row in await judged("2026-07-19")] == [claim]
    assert [row[0] for row in await judged("2026-07-20")] == [restated["score"]["id"]]
