"""A table of bad inputs: each names its field and code, and leaves every table as it was."""

from __future__ import annotations

from typing import Any

import pytest

from service import ids
from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, checksum, demo_source, issue_token, mutation

SOURCE = demo_source("aa-leaderboard")
INDEX = "aa-intelligence-index"
LAB = {"slug": "new-lab", "name": "New Lab", "country": "KR"}
MODEL = {"slug": "new-model", "name": "New Model", "lab": "upstage"}
VERSION = {"model": "solar-next", "label": "v2", "stage": "FINAL"}
SCORE = {
    "model": "solar-next",
    "version": "preview",
    "benchmark": INDEX,
    "value": 42,
    "measuredOn": "2026-06-02",
    "provenance": "INDEPENDENT",
    "source": SOURCE,
}
BENCHMARK = {
    "slug": "new-bench",
    "name": "B",
    "scaleMin": 0,
    "scaleMax": 100,
    "isIndependent": True,
}
TARGET = {
    "lab": "upstage",
    "benchmark": INDEX,
    "value": 50,
    "dueOn": "2027-12-31",
    "duePrecision": "YEAR",
    "statedOn": "2026-06-01",
    "source": SOURCE,
}
LINK = {"parent": "solar-pro-3", "child": "gpt-5.5", "relation": "SUCCESSOR"}
NO_SUCH_SOURCE = {"id": ids.encode("Source", 10**9)}
CLAIM_ID = "$claim"  # replaced by the global id of solar-next's LAB_CLAIM score


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


# (mutation, input type, input, field, code)
BAD_INPUTS: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("createLab", "CreateLabInput", _with(LAB, slug="New Lab"), "slug", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, slug="a--b"), "slug", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, slug=""), "slug", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, country="XX"), "country", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, country="KOR"), "country", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, website="ftp://x.org"), "website", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, foundedYear=1850), "foundedYear", "OUT_OF_RANGE"),
    ("createLab", "CreateLabInput", _with(LAB, name=""), "name", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, name="x" * 201), "name", "INVALID"),
    ("createLab", "CreateLabInput", _with(LAB, slug="upstage"), "slug", "ALREADY_EXISTS"),
    ("updateLab", "UpdateLabInput", {"slug": "upstage", "expectedRevision": 1}, "input", "INVALID"),
    (
        "updateLab",
        "UpdateLabInput",
        {"slug": "upstage", "expectedRevision": 1, "name": None},
        "name",
        "INVALID",
    ),
    (
        "updateLab",
        "UpdateLabInput",
        {"slug": "upstage", "expectedRevision": 0, "name": "U"},
        "expectedRevision",
        "OUT_OF_RANGE",
    ),
    (
        "updateLab",
        "UpdateLabInput",
        {"slug": "upstage", "expectedRevision": 2, "name": "U"},
        "expectedRevision",
        "CONFLICT",
    ),
    (
        "updateLab",
        "UpdateLabInput",
        {"slug": "nobody", "expectedRevision": 1, "name": "U"},
        "slug",
        "NOT_FOUND",
    ),
    ("createModel", "CreateModelInput", _with(MODEL, lab="nobody"), "lab", "NOT_FOUND"),
    ("createModel", "CreateModelInput", _with(MODEL, family="nope"), "family", "NOT_FOUND"),
    ("createModel", "CreateModelInput", _with(MODEL, slug="solar-next"), "slug", "ALREADY_EXISTS"),
    (
        "updateModel",
        "UpdateModelInput",
        {"slug": "solar-next", "expectedRevision": 1, "family": "nope"},
        "family",
        "NOT_FOUND",
    ),
    ("createVersion", "CreateVersionInput", _with(VERSION, model="nope"), "model", "NOT_FOUND"),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, totalParameters=0),
        "totalParameters",
        "OUT_OF_RANGE",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, totalParameters=10, activeParameters=20),
        "activeParameters",
        "INVALID",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, plannedOn="2026-09-30"),
        "plannedPrecision",
        "INVALID",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, releasedPrecision="DAY"),
        "releasedOn",
        "INVALID",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, stage="PREVIEW", promotedFrom="preview"),
        "promotedFrom",
        "INVALID",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, source=NO_SUCH_SOURCE),
        "source.id",
        "NOT_FOUND",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, hardwareTargets=[{"accelerator": "H100", "acceleratorCount": 0}]),
        "hardwareTargets.0.acceleratorCount",
        "OUT_OF_RANGE",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, hardwareTargets=[{"accelerator": "H100", "source": NO_SUCH_SOURCE}]),
        "hardwareTargets.0.source.id",
        "NOT_FOUND",
    ),
    (
        "updateVersion",
        "UpdateVersionInput",
        {
            "model": "solar-next",
            "label": "preview",
            "expectedRevision": 1,
            "activeParameters": 5,
            "totalParameters": 4,
        },
        "activeParameters",
        "INVALID",
    ),
    (
        "updateVersion",
        "UpdateVersionInput",
        {"model": "solar-next", "label": "final", "expectedRevision": 1, "plannedPrecision": None},
        "plannedPrecision",
        "INVALID",
    ),
    (
        "updateVersion",
        "UpdateVersionInput",
        {"model": "solar-next", "label": "preview", "expectedRevision": 1, "newLabel": "final"},
        "newLabel",
        "ALREADY_EXISTS",
    ),
    (
        "promoteVersion",
        "PromoteVersionInput",
        {"model": "solar-next", "preview": "preview", "label": "final-2"},
        "preview",
        "ALREADY_EXISTS",
    ),
    (
        "promoteVersion",
        "PromoteVersionInput",
        {"model": "solar-next", "preview": "final", "label": "final-2"},
        "preview",
        "INVALID",
    ),
    (
        "promoteVersion",
        "PromoteVersionInput",
        {"model": "solar-next", "preview": "nope", "label": "final-2"},
        "preview",
        "NOT_FOUND",
    ),
    (
        "setHardwareTargets",
        "SetHardwareTargetsInput",
        {"model": "solar-next", "version": "preview", "expectedRevision": 3, "targets": []},
        "expectedRevision",
        "CONFLICT",
    ),
    (
        "createBenchmark",
        "CreateBenchmarkInput",
        _with(BENCHMARK, scaleMax=0),
        "scaleMax",
        "INVALID",
    ),
    (
        "createBenchmark",
        "CreateBenchmarkInput",
        _with(BENCHMARK, url="not a url"),
        "url",
        "INVALID",
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        {
            "benchmark": INDEX,
            "label": "v9",
            "effectiveOn": "2026-08-01",
            "components": [{"benchmark": INDEX, "weight": 1}],
        },
        "components.0.benchmark",
        "INVALID",
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        {
            "benchmark": INDEX,
            "label": "v9",
            "effectiveOn": "2026-08-01",
            "components": [{"benchmark": "gpqa", "weight": 0.5}],
        },
        "components",
        "INVALID",
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        {
            "benchmark": INDEX,
            "label": "v9",
            "effectiveOn": "2026-08-01",
            "components": [{"benchmark": "gpqa", "weight": 1.5}],
        },
        "components.0.weight",
        "OUT_OF_RANGE",
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        {"benchmark": INDEX, "label": "as reported 2026-05-30", "effectiveOn": "2026-08-01"},
        "label",
        "ALREADY_EXISTS",
    ),
    ("recordScore", "RecordScoreInput", _with(SCORE, value=-1), "value", "OUT_OF_RANGE"),
    (
        "recordScore",
        "RecordScoreInput",
        _with(SCORE, measuredOn="2025-01-01"),
        "benchmarkVersion",
        "NOT_FOUND",
    ),
    ("recordScore", "RecordScoreInput", _with(SCORE, version="v7"), "version", "NOT_FOUND"),
    (
        "recordScore",
        "RecordScoreInput",
        _with(SCORE, uncertainty=-0.5),
        "uncertainty",
        "OUT_OF_RANGE",
    ),
    (
        "recordScore",
        "RecordScoreInput",
        _with(SCORE, source=NO_SUCH_SOURCE),
        "source.id",
        "NOT_FOUND",
    ),
    (
        "recordScore",
        "RecordScoreInput",
        _with(SCORE, source={"id": ids.encode("Lab", 1)}),
        "source.id",
        "INVALID",
    ),
    (
        "recordScore",
        "RecordScoreInput",
        _with(SCORE, source={"new": {**SOURCE["new"], "title": "Another title"}}),
        "source.new.url",
        "ALREADY_EXISTS",
    ),
    (
        "recordScore",
        "RecordScoreInput",
        _with(SCORE, source={"new": {"title": "T", "kind": "NEWS", "url": "ftp://x.org/a"}}),
        "source.new.url",
        "INVALID",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        _with(
            VERSION,
            hardwareTargets=[
                {"accelerator": "H100", "source": {"new": {"title": " ", "kind": "NEWS"}}}
            ],
        ),
        "hardwareTargets.0.source.new.title",
        "INVALID",
    ),
    (
        "supersedeScore",
        "SupersedeScoreInput",
        {"score": CLAIM_ID, "value": 41, "measuredOn": "2026-05-01", "source": SOURCE},
        "measuredOn",
        "INVALID",
    ),
    (
        "supersedeScore",
        "SupersedeScoreInput",
        {"score": CLAIM_ID, "value": 410, "measuredOn": "2026-06-01", "source": SOURCE},
        "value",
        "OUT_OF_RANGE",
    ),
    (
        "setScoreVerification",
        "SetScoreVerificationInput",
        {
            "score": CLAIM_ID,
            "verification": "VERIFIED",
            "changedOn": "2026-06-01",
            "evidence": CLAIM_ID,
        },
        "evidence",
        "INVALID",
    ),
    (
        "setScoreVerification",
        "SetScoreVerificationInput",
        {"score": CLAIM_ID, "verification": "VERIFIED", "changedOn": "2020-01-01"},
        "changedOn",
        "INVALID",
    ),
    (
        "setScoreVerification",
        "SetScoreVerificationInput",
        {"score": "not-an-id", "verification": "VERIFIED", "changedOn": "2026-06-01"},
        "score",
        "INVALID",
    ),
    (
        "supersedeScore",
        "SupersedeScoreInput",
        {
            "score": ids.encode("Score", 2**70),
            "value": 1,
            "measuredOn": "2026-06-01",
            "source": SOURCE,
        },
        "score",
        "OUT_OF_RANGE",
    ),
    ("linkModels", "LinkModelsInput", _with(LINK, child="solar-pro-3"), "child", "CYCLE"),
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, parent="solar-next", child="solar-10.7b"),
        "child",
        "CYCLE",
    ),
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, parent="solar-pro-2", child="solar-pro-3"),
        "relation",
        "ALREADY_EXISTS",
    ),
    ("unlinkModels", "UnlinkModelsInput", LINK, "relation", "NOT_FOUND"),
    (
        "createProgram",
        "CreateProgramInput",
        {"slug": "p", "name": "P", "sponsor": "S", "country": "KR", "startedOn": "2026-01-01"},
        "startedPrecision",
        "INVALID",
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        {"program": "nope", "lab": "upstage", "status": "ACTIVE", "effectiveOn": "2026-07-01"},
        "program",
        "NOT_FOUND",
    ),
    ("stateTarget", "StateTargetInput", _with(TARGET, model="nope"), "model", "NOT_FOUND"),
    (
        "addSource",
        "AddSourceInput",
        {"url": "https://artificialanalysis.ai/", "title": "Again", "kind": "NEWS"},
        "url",
        "ALREADY_EXISTS",
    ),
    (
        "addSource",
        "AddSourceInput",
        {"title": "South Korea Breaks Into US-China AI Top Tier", "kind": "NEWS"},
        "title",
        "ALREADY_EXISTS",
    ),
    (
        "setExternalId",
        "SetExternalIdInput",
        {
            "system": "HUGGING_FACE",
            "externalKey": "upstage/SOLAR-10.7B-v1.0",
            "subject": {"lab": "upstage"},
        },
        "externalKey",
        "ALREADY_EXISTS",
    ),
    (
        "setExternalId",
        "SetExternalIdInput",
        {"system": "LMARENA", "externalKey": "x", "subject": {"model": "nope"}},
        "subject.model",
        "NOT_FOUND",
    ),
    ("restoreLab", "ArchiveInput", {"slug": "upstage"}, "slug", "INVALID"),
    (
        "archiveModel",
        "ArchiveInput",
        {"slug": "solar-next", "expectedRevision": 9},
        "expectedRevision",
        "CONFLICT",
    ),
]


def test_the_table_has_at_least_thirty_rows() -> None:
    assert len(BAD_INPUTS) >= 30


@pytest.mark.parametrize(
    ("name", "input_type", "data", "field", "code"),
    BAD_INPUTS,
    ids=[f"{row[0]}-{row[3]}-{row[4]}-{index}" for index, row in enumerate(BAD_INPUTS)],
)
async def test_a_bad_input_is_refused_and_nothing_changes(
    api: Api,
    database_url: str,
    name: str,
    input_type: str,
    data: dict[str, Any],
    field: str,
    code: str,
) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    claim = await api.data(
        '{ model(slug: "solar-next") { versions { label scores { id provenance } } } }'
    )
    claim_id = next(
        score["id"]
        for version in claim["model"]["versions"]
        for score in version["scores"]
        if score["provenance"] == "LAB_CLAIM"
    )
    assert ids.decode(claim_id) is not None
    data = {key: claim_id if value == CLAIM_ID else value for key, value in data.items()}
    before = await checksum(database_url)
    payload = await editor.write(name, input_type, "__typename", data)
    errors = [(error["field"], error["code"]) for error in payload["userErrors"]]
    assert (field, code) in errors, payload["userErrors"]
    assert all(error["message"] for error in payload["userErrors"])
    assert await checksum(database_url) == before


# (mutation, input type, input): inputs whose type already says they cannot be, refused by
# GraphQL before any resolver runs: a GraphQL error BAD_USER_INPUT, never a user error.
BAD_BY_TYPE: list[tuple[str, str, dict[str, Any]]] = [
    # A citation is exactly one of a recorded source's id and a new source's details (@oneOf).
    ("recordScore", "RecordScoreInput", _with(SCORE, source={})),
    ("recordScore", "RecordScoreInput", _with(SCORE, source={**SOURCE, **NO_SUCH_SOURCE})),
    (
        "setExternalId",
        "SetExternalIdInput",
        {
            "system": "LMARENA",
            "externalKey": "x",
            "subject": {"lab": "upstage", "model": "solar-next"},
        },
    ),
    # A field with a server default is non-null: left out, it is the default; null is no value.
    ("createModel", "CreateModelInput", _with(MODEL, modality=None)),
    ("recordScore", "RecordScoreInput", _with(SCORE, qualifier=None)),
    (
        "createVersion",
        "CreateVersionInput",
        _with(VERSION, hardwareTargets=[{"accelerator": "H100", "acceleratorCount": None}]),
    ),
]


@pytest.mark.parametrize(("name", "input_type", "data"), BAD_BY_TYPE)
async def test_an_input_its_type_forbids_is_a_graphql_error_and_nothing_changes(
    api: Api, database_url: str, name: str, input_type: str, data: dict[str, Any]
) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    before = await checksum(database_url)
    body = await editor.run(mutation(name, input_type, "__typename"), {"input": data})
    assert body.get("data") is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert await checksum(database_url) == before
