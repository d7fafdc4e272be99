"""The edges of the write commands: bounds that are allowed, and refusals that write nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from service import ids
from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, checksum, demo_source, issue_token

SOURCE = demo_source("aa-leaderboard")
INDEX = "aa-intelligence-index"
SCORE = (
    "score { id value measuredOn verificationChangedOn evidence { id } benchmarkVersion { label } }"
)


@pytest.fixture
async def editor(api: Api, database_url: str) -> AsyncIterator[Writer]:
    yield Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))


async def _scores(api: Api, model: str) -> dict[str, str]:
    """A model's scores' ids by provenance (the demo data has at most one of each)."""
    read = await api.data(
        "query Scores($slug: String!) {"
        " model(slug: $slug) { versions { scores { id provenance } } } }",
        slug=model,
    )
    return {
        score["provenance"]: score["id"]
        for version in read["model"]["versions"]
        for score in version["scores"]
    }


async def _refused(
    editor: Writer, database_url: str, name: str, input_type: str, data: dict[str, Any]
) -> list[dict[str, str]]:
    """The user errors of a write that must leave every table as it was."""
    before = await checksum(database_url)
    payload = await editor.write(name, input_type, "__typename", data)
    assert await checksum(database_url) == before
    errors: list[dict[str, str]] = payload["userErrors"]
    return errors


def _measured(value: float, measured_on: str, **more: Any) -> dict[str, Any]:
    return {
        "model": "solar-next",
        "version": "final",
        "benchmark": INDEX,
        "value": value,
        "measuredOn": measured_on,
        "provenance": "INDEPENDENT",
        "source": SOURCE,
        **more,
    }


async def test_scores_on_both_ends_of_the_scale_and_on_the_day_of_what_they_follow(
    editor: Writer,
) -> None:
    # The scale's ends are inside it; a method version may be named instead of the one in effect.
    for value, measured_on in ((0, "2026-06-01"), (100, "2026-06-02")):
        written = await editor.ok(
            "recordScore",
            "RecordScoreInput",
            SCORE,
            _measured(value, measured_on, benchmarkVersion="as reported 2026-05-30"),
        )
        assert written["score"]["value"] == value
        assert written["score"]["benchmarkVersion"] == {"label": "as reported 2026-05-30"}
    # The demo claim was measured on 2026-05-30: a verification and a correction that day are
    # not before it.
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    verified = await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        SCORE,
        {"score": claim, "verification": "DISPUTED", "changedOn": "2026-05-30"},
    )
    assert verified["score"]["verificationChangedOn"] == "2026-05-30"
    corrected = await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        SCORE,
        {"score": claim, "value": 39, "measuredOn": "2026-05-30", "source": SOURCE},
    )
    assert corrected["score"]["measuredOn"] == "2026-05-30"


async def test_evidence_is_kept_unless_given_cleared_by_null_and_must_match(
    editor: Writer, database_url: str
) -> None:
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    final = (
        await editor.ok("recordScore", "RecordScoreInput", SCORE, _measured(41, "2026-07-02"))
    )["score"]["id"]
    linked = await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        SCORE,
        {"score": claim, "verification": "VERIFIED", "changedOn": "2026-07-02", "evidence": final},
    )
    assert linked["score"]["evidence"] == {"id": final}
    # Left out, the evidence stays.
    kept = await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        SCORE,
        {"score": claim, "verification": "DISPUTED", "changedOn": "2026-07-03"},
    )
    assert kept["score"]["evidence"] == {"id": final}
    # Another model's measurement is no evidence for this claim.
    other = (await _scores(editor.api, "mistral-medium-3.5"))["INDEPENDENT"]
    errors = await _refused(
        editor,
        database_url,
        "setScoreVerification",
        "SetScoreVerificationInput",
        {"score": claim, "verification": "VERIFIED", "changedOn": "2026-07-04", "evidence": other},
    )
    assert errors == [
        {
            "field": "evidence",
            "code": "INVALID",
            "message": "must measure the same model on the same benchmark",
        }
    ]
    # Null unlinks it.
    cleared = await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        SCORE,
        {"score": claim, "verification": "UNVERIFIED", "changedOn": "2026-07-05", "evidence": None},
    )
    assert cleared["score"]["evidence"] is None


@pytest.mark.parametrize(
    ("name", "input_type", "data", "code", "message"),
    [
        (
            "supersedeScore",
            "SupersedeScoreInput",
            {"value": 41, "measuredOn": "2026-06-01", "source": SOURCE},
            "ARCHIVED",
            "the score's model or lab is archived",
        ),
        (
            "setScoreVerification",
            "SetScoreVerificationInput",
            {"verification": "VERIFIED", "changedOn": "2026-06-01"},
            "ARCHIVED",
            "the score's model or lab is archived",
        ),
    ],
)
async def test_a_score_of_an_archived_model_is_neither_corrected_nor_verified(
    editor: Writer,
    database_url: str,
    name: str,
    input_type: str,
    data: dict[str, Any],
    code: str,
    message: str,
) -> None:
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    await editor.ok("archiveModel", "ArchiveInput", "revision", {"slug": "solar-next"})
    errors = await _refused(editor, database_url, name, input_type, {"score": claim, **data})
    assert errors == [{"field": "score", "code": code, "message": message}]


async def test_a_score_corrected_once_is_not_corrected_again(
    editor: Writer, database_url: str
) -> None:
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    correction = {"score": claim, "value": 41, "measuredOn": "2026-06-01", "source": SOURCE}
    await editor.ok("supersedeScore", "SupersedeScoreInput", "score { id }", correction)
    errors = await _refused(
        editor, database_url, "supersedeScore", "SupersedeScoreInput", correction
    )
    assert errors == [
        {
            "field": "score",
            "code": "CONFLICT",
            "message": "already superseded; correct the latest correction instead",
        }
    ]


# What a transaction inserting a row that refers to a score (a correction of it, a claim
# linking it as evidence) holds on that score until it commits.
KEY_SHARE = "SELECT 1 FROM score WHERE id = $1 FOR KEY SHARE"
WAITING = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


async def _held(database_url: str, score_id: str) -> asyncpg.Connection:
    """A connection holding KEY SHARE on a score, in an open transaction."""
    decoded = ids.decode(score_id)
    assert decoded is not None
    conn = await asyncpg.connect(database_url)
    await conn.execute("BEGIN")
    await conn.execute(KEY_SHARE, decoded[1])
    return conn


@pytest.mark.parametrize(
    ("name", "input_type", "data"),
    [
        (
            "supersedeScore",
            "SupersedeScoreInput",
            {"value": 41, "measuredOn": "2026-06-01", "source": SOURCE},
        ),
        (
            "setScoreVerification",
            "SetScoreVerificationInput",
            {"verification": "DISPUTED", "changedOn": "2026-06-01"},
        ),
    ],
)
async def test_a_correction_or_verification_waits_for_a_write_referring_to_its_score(
    editor: Writer, database_url: str, name: str, input_type: str, data: dict[str, Any]
) -> None:
    # Both lock the score they change, so that two of them on one score run one after the
    # other: they wait even for a lock that their own writes would not conflict with.
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    holder = await _held(database_url, claim)
    try:
        write = asyncio.create_task(
            editor.ok(name, input_type, "score { id }", {"score": claim, **data})
        )
        while not await holder.fetchval(WAITING):
            assert not write.done(), "the write did not wait for the score's lock"
            await asyncio.sleep(0.05)
    finally:
        await holder.execute("ROLLBACK")
        await holder.close()
    await write


async def test_linking_evidence_does_not_lock_the_evidence(
    editor: Writer, database_url: str
) -> None:
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    final = (
        await editor.ok("recordScore", "RecordScoreInput", SCORE, _measured(41, "2026-07-02"))
    )["score"]["id"]
    holder = await _held(database_url, final)
    try:
        linked = await editor.ok(
            "setScoreVerification",
            "SetScoreVerificationInput",
            "score { evidence { id } }",
            {
                "score": claim,
                "verification": "VERIFIED",
                "changedOn": "2026-07-02",
                "evidence": final,
            },
        )
    finally:
        await holder.execute("ROLLBACK")
        await holder.close()
    assert linked["score"]["evidence"] == {"id": final}
