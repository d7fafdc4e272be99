"""Every mutation through /graphql: its success, each error code, and who may call it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service import ids
from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, checksum, demo_source, fetchval, issue_token, mutation

SOURCE = demo_source("aa-leaderboard")
INDEX = "aa-intelligence-index"


@pytest.fixture
async def editor(api: Api, database_url: str) -> AsyncIterator[Writer]:
    yield Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))


async def _score_id(database_url: str, model: str, label: str) -> str:
    row_id = await fetchval(
        database_url,
        """SELECT score.id FROM score
           JOIN model_version AS v ON v.id = score.version_id JOIN model ON model.id = v.model_id
           WHERE model.slug = $1 AND v.label = $2 ORDER BY score.id DESC LIMIT 1""",
        model,
        label,
    )
    return ids.encode("Score", row_id)


async def test_create_update_archive_and_restore_a_lab(editor: Writer) -> None:
    created = await editor.ok(
        "createLab",
        "CreateLabInput",
        "lab { slug name country { code } } revision",
        {"slug": "sakana-ai", "name": "Sakana AI", "country": "jp", "foundedYear": 2023},
    )
    assert created["lab"] == {"slug": "sakana-ai", "name": "Sakana AI", "country": {"code": "JP"}}
    assert created["revision"] == 1
    updated = await editor.ok(
        "updateLab",
        "UpdateLabInput",
        "lab { headquarters foundedYear } revision",
        {"slug": "sakana-ai", "expectedRevision": 1, "headquarters": "Tokyo", "foundedYear": None},
    )
    assert updated == {
        "lab": {"headquarters": "Tokyo", "foundedYear": None},
        "revision": 2,
        "userErrors": [],
    }
    archived = await editor.ok("archiveLab", "ArchiveInput", "revision", {"slug": "sakana-ai"})
    assert archived["revision"] == 3
    listed = await editor.api.data("{ labs(first: 100) { edges { node { slug } } } }")
    assert "sakana-ai" not in {edge["node"]["slug"] for edge in listed["labs"]["edges"]}
    restored = await editor.ok(
        "restoreLab", "ArchiveInput", "lab { slug } revision", {"slug": "sakana-ai"}
    )
    assert restored["revision"] == 4


async def test_create_update_archive_and_restore_a_model(editor: Writer) -> None:
    created = await editor.ok(
        "createModel",
        "CreateModelInput",
        "model { slug lab { slug } family { slug } modality openWeights } revision",
        {"slug": "solar-mini", "name": "Solar Mini", "lab": "upstage", "family": "solar"},
    )
    assert created["model"] == {
        "slug": "solar-mini",
        "lab": {"slug": "upstage"},
        "family": {"slug": "solar"},
        "modality": "TEXT",
        "openWeights": False,
    }
    updated = await editor.ok(
        "updateModel",
        "UpdateModelInput",
        "model { openWeights license family { slug } } revision",
        {
            "slug": "solar-mini",
            "expectedRevision": 1,
            "openWeights": True,
            "license": "Apache-2.0",
            "family": None,
        },
    )
    assert updated["model"] == {"openWeights": True, "license": "Apache-2.0", "family": None}
    assert updated["revision"] == 2
    await editor.ok("archiveModel", "ArchiveInput", "revision", {"slug": "solar-mini"})
    refused = await editor.write(
        "createVersion",
        "CreateVersionInput",
        "version { label }",
        {"model": "solar-mini", "label": "v1", "stage": "FINAL"},
    )
    assert [error["code"] for error in refused["userErrors"]] == ["ARCHIVED"]
    await editor.ok("restoreModel", "ArchiveInput", "revision", {"slug": "solar-mini"})


# Every listed model with what a write could touch, lab by lab (the per-field path: `labs`
# is not compiled, so each lab's models come from its loader).
EVERY_MODEL = """
{ labs(first: 20) { nodes { slug models(first: 20) {
    slug name license openWeights revision archivedAt
    versions(first: 5) { label revision planned { date } hardwareTargets { accelerator } } } } } }
"""


def _models_of(data: dict[str, Any], lab: str) -> list[str]:
    [found] = [node for node in data["labs"]["nodes"] if node["slug"] == lab]
    return [model["slug"] for model in found["models"]]


def _others(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        model
        for lab in data["labs"]["nodes"]
        for model in lab["models"]
        if model["slug"] not in ("solar-mini", "solar-micro")
    ]


async def test_writes_to_one_model_touch_no_other_and_archiving_hides_it(
    editor: Writer,
) -> None:
    for slug, name in (("solar-mini", "Solar Mini"), ("solar-micro", "Solar Micro")):
        await editor.ok(
            "createModel",
            "CreateModelInput",
            "model { slug }",
            {"slug": slug, "name": name, "lab": "upstage"},
        )
    for label in ("v1", "v2"):
        await editor.ok(
            "createVersion",
            "CreateVersionInput",
            "version { label }",
            {"model": "solar-mini", "label": label, "stage": "FINAL"},
        )
    before = await editor.api.data(EVERY_MODEL)
    assert {"solar-mini", "solar-micro"} <= set(_models_of(before, "upstage"))
    # Each write is at revision 1, as most other models are, and moves it by one; the
    # other models keep their revisions and fields.
    updated = await editor.ok(
        "updateModel",
        "UpdateModelInput",
        "revision",
        {"slug": "solar-mini", "expectedRevision": 1, "license": "MIT", "openWeights": True},
    )
    assert updated["revision"] == 2
    version = await editor.ok(
        "updateVersion",
        "UpdateVersionInput",
        "revision",
        {
            "model": "solar-mini",
            "label": "v1",
            "expectedRevision": 1,
            "plannedOn": "2026-09-01",
            "plannedPrecision": "MONTH",
        },
    )
    assert version["revision"] == 2
    hardware = await editor.ok(
        "setHardwareTargets",
        "SetHardwareTargetsInput",
        "revision",
        {
            "model": "solar-mini",
            "version": "v2",
            "expectedRevision": 1,
            "targets": [{"accelerator": "TPU", "acceleratorCount": 1}],
        },
    )
    assert hardware["revision"] == 2
    archived = await editor.ok("archiveModel", "ArchiveInput", "revision", {"slug": "solar-micro"})
    assert archived["revision"] == 2
    hidden = await editor.api.data(EVERY_MODEL)
    assert "solar-micro" not in _models_of(hidden, "upstage")
    assert _others(hidden) == _others(before)
    restored = await editor.ok("restoreModel", "ArchiveInput", "revision", {"slug": "solar-micro"})
    assert restored["revision"] == 3
    after = await editor.api.data(EVERY_MODEL)
    assert "solar-micro" in _models_of(after, "upstage")
    assert _others(after) == _others(before)


async def test_versions_promotion_and_hardware(editor: Writer, database_url: str) -> None:
    await editor.ok(
        "createModel",
        "CreateModelInput",
        "model { slug }",
        {"slug": "solar-open", "name": "Solar Open", "lab": "upstage"},
    )
    preview = await editor.ok(
        "createVersion",
        "CreateVersionInput",
        "version { label stage totalParameters hardwareTargets { accelerator } } revision",
        {
            "model": "solar-open",
            "label": "preview",
            "stage": "PREVIEW",
            "announcedOn": "2026-06-01",
            "totalParameters": 102_000_000_000,
            "activeParameters": 12_000_000_000,
            "hardwareTargets": [{"accelerator": "H100", "acceleratorCount": 8, "memoryGb": 80}],
        },
    )
    assert preview["version"] == {
        "label": "preview",
        "stage": "PREVIEW",
        "totalParameters": 102_000_000_000,
        "hardwareTargets": [{"accelerator": "H100"}],
    }
    updated = await editor.ok(
        "updateVersion",
        "UpdateVersionInput",
        "version { planned { date precision } } revision",
        {
            "model": "solar-open",
            "label": "preview",
            "expectedRevision": 1,
            "plannedOn": "2026-06-30",
            "plannedPrecision": "MONTH",
        },
    )
    assert updated["version"]["planned"] == {"date": "2026-06-30", "precision": "MONTH"}
    hardware = await editor.ok(
        "setHardwareTargets",
        "SetHardwareTargetsInput",
        "version { hardwareTargets { accelerator acceleratorCount precision } } revision",
        {
            "model": "solar-open",
            "version": "preview",
            "expectedRevision": 2,
            "targets": [{"accelerator": "B200", "acceleratorCount": 4, "precision": "FP8"}],
        },
    )
    assert hardware["version"]["hardwareTargets"] == [
        {"accelerator": "B200", "acceleratorCount": 4, "precision": "FP8"}
    ]
    assert hardware["revision"] == 3
    final = await editor.ok(
        "promoteVersion",
        "PromoteVersionInput",
        "version { label stage promotedFrom { label stage } }",
        {
            "model": "solar-open",
            "preview": "preview",
            "label": "final",
            "releasedOn": "2026-07-02",
            "releasedPrecision": "DAY",
        },
    )
    assert final["version"] == {
        "label": "final",
        "stage": "FINAL",
        "promotedFrom": {"label": "preview", "stage": "PREVIEW"},
    }
    stages = await fetchval(
        database_url,
        "SELECT array_agg(stage::text ORDER BY id) FROM model_version WHERE model_id = "
        "(SELECT id FROM model WHERE slug = 'solar-open')",
    )
    assert stages == ["PREVIEW", "FINAL"]


async def test_benchmarks_scores_corrections_and_verification(editor: Writer) -> None:
    await editor.ok(
        "createBenchmark",
        "CreateBenchmarkInput",
        "benchmark { slug scaleMax }",
        {
            "slug": "gpqa",
            "name": "GPQA Diamond",
            "scaleMin": 0,
            "scaleMax": 100,
            "isIndependent": True,
        },
    )
    await editor.ok(
        "createBenchmark",
        "CreateBenchmarkInput",
        "benchmark { slug }",
        {
            "slug": "mini-index",
            "name": "Mini index",
            "scaleMin": 0,
            "scaleMax": 100,
            "isIndependent": True,
            "isIndex": True,
        },
    )
    version = await editor.ok(
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        "benchmarkVersion { label effectiveOn }",
        {
            "benchmark": "mini-index",
            "label": "v1",
            "effectiveOn": "2026-01-01",
            "components": [
                {"benchmark": "gpqa", "weight": 0.7},
                {"benchmark": INDEX, "weight": 0.3},
            ],
        },
    )
    assert version["benchmarkVersion"] == {"label": "v1", "effectiveOn": "2026-01-01"}
    # An index's components are listed heaviest first.
    read = await editor.api.data(
        '{ benchmark(slug: "mini-index") {'
        " versions { components { weight benchmark { slug } } } } }"
    )
    assert read["benchmark"]["versions"][0]["components"] == [
        {"weight": 0.7, "benchmark": {"slug": "gpqa"}},
        {"weight": 0.3, "benchmark": {"slug": INDEX}},
    ]
    claim = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id value qualifier provenance verification superseded }",
        {
            "model": "solar-next",
            "version": "preview",
            "benchmark": INDEX,
            "value": 41.5,
            "measuredOn": "2026-06-02",
            "provenance": "LAB_CLAIM",
            "source": SOURCE,
        },
    )
    assert claim["score"]["verification"] == "UNVERIFIED"
    corrected = await editor.ok(
        "supersedeScore",
        "SupersedeScoreInput",
        "score { id value provenance supersedes { id superseded } }",
        {
            "score": claim["score"]["id"],
            "value": 41.2,
            "measuredOn": "2026-06-03",
            "source": SOURCE,
        },
    )
    assert corrected["score"]["value"] == 41.2
    assert corrected["score"]["provenance"] == "LAB_CLAIM"
    assert corrected["score"]["supersedes"] == {"id": claim["score"]["id"], "superseded": True}
    verified = await editor.ok(
        "setScoreVerification",
        "SetScoreVerificationInput",
        "score { verification evidence { id } }",
        {"score": corrected["score"]["id"], "verification": "DISPUTED", "changedOn": "2026-06-04"},
    )
    assert verified["score"] == {"verification": "DISPUTED", "evidence": None}


async def test_lineage_programmes_targets_sources_and_external_ids(editor: Writer) -> None:
    linked = await editor.ok(
        "linkModels",
        "LinkModelsInput",
        "link { relation parent { slug } child { slug } }",
        {"parent": "mistral-7b", "child": "solar-pro", "relation": "DISTILLED"},
    )
    assert linked["link"]["child"] == {"slug": "solar-pro"}
    unlinked = await editor.ok(
        "unlinkModels",
        "UnlinkModelsInput",
        "link { relation parent { slug } }",
        {"parent": "mistral-7b", "child": "solar-pro", "relation": "DISTILLED"},
    )
    assert unlinked["link"] == {"relation": "DISTILLED", "parent": {"slug": "mistral-7b"}}
    program = await editor.ok(
        "createProgram",
        "CreateProgramInput",
        "program { slug started { date precision } }",
        {
            "slug": "genai-accelerator",
            "name": "GENIAC",
            "sponsor": "METI",
            "country": "JP",
            "startedOn": "2024-12-31",
            "startedPrecision": "YEAR",
        },
    )
    assert program["program"]["started"] == {"date": "2024-12-31", "precision": "YEAR"}
    status = await editor.ok(
        "setParticipantStatus",
        "SetParticipantStatusInput",
        "statusChange { status effective { date } }",
        {
            "program": "genai-accelerator",
            "lab": "upstage",
            "status": "SELECTED",
            "effectiveOn": "2025-01-15",
        },
    )
    assert status["statusChange"]["status"] == "SELECTED"
    source = await editor.ok(
        "addSource",
        "AddSourceInput",
        "source { id url kind }",
        {"url": "https://example.org/solar-target", "title": "Upstage roadmap", "kind": "NEWS"},
    )
    assert source["source"]["kind"] == "NEWS"
    target = await editor.ok(
        "stateTarget",
        "StateTargetInput",
        "target { value due { date precision } }",
        {
            "lab": "upstage",
            "benchmark": INDEX,
            "value": 60,
            "dueOn": "2027-12-31",
            "duePrecision": "YEAR",
            "statedOn": "2026-06-01",
            "source": {"id": source["source"]["id"]},
        },
    )
    assert target["target"]["value"] == 60
    external = await editor.ok(
        "setExternalId",
        "SetExternalIdInput",
        "externalId { system externalKey }",
        {
            "system": "OPENROUTER",
            "externalKey": "upstage/solar-pro-3",
            "subject": {"model": "solar-pro-3"},
        },
    )
    assert external["externalId"] == {"system": "OPENROUTER", "externalKey": "upstage/solar-pro-3"}


# One refusal per code, each through a different mutation.
ERROR_CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    (
        "createLab",
        "CreateLabInput",
        {"slug": "Bad Slug", "name": "X", "country": "US"},
        "slug",
        "INVALID",
    ),
    (
        "createModel",
        "CreateModelInput",
        {"slug": "m", "name": "M", "lab": "no-such-lab"},
        "lab",
        "NOT_FOUND",
    ),
    (
        "createVersion",
        "CreateVersionInput",
        {"model": "solar-next", "label": "preview", "stage": "PREVIEW"},
        "label",
        "ALREADY_EXISTS",
    ),
    (
        "recordScore",
        "RecordScoreInput",
        {
            "model": "solar-next",
            "version": "preview",
            "benchmark": INDEX,
            "value": 101,
            "measuredOn": "2026-06-02",
            "provenance": "LAB_CLAIM",
            "source": SOURCE,
        },
        "value",
        "OUT_OF_RANGE",
    ),
    (
        "linkModels",
        "LinkModelsInput",
        {"parent": "solar-next", "child": "mistral-7b", "relation": "SUCCESSOR"},
        "child",
        "CYCLE",
    ),
    (
        "updateLab",
        "UpdateLabInput",
        {"slug": "upstage", "expectedRevision": 7, "name": "U"},
        "expectedRevision",
        "CONFLICT",
    ),
]


@pytest.mark.parametrize(("name", "input_type", "data", "field", "code"), ERROR_CASES)
async def test_each_error_code(
    editor: Writer,
    database_url: str,
    name: str,
    input_type: str,
    data: dict[str, Any],
    field: str,
    code: str,
) -> None:
    before = await checksum(database_url)
    payload = await editor.write(name, input_type, "__typename", data)
    assert [(error["field"], error["code"]) for error in payload["userErrors"]] == [(field, code)]
    assert await checksum(database_url) == before


async def test_archived_code(editor: Writer, database_url: str) -> None:
    await editor.ok("archiveLab", "ArchiveInput", "revision", {"slug": "cohere"})
    before = await checksum(database_url)
    payload = await editor.write(
        "createModel",
        "CreateModelInput",
        "model { slug }",
        {"slug": "command-b", "name": "Command B", "lab": "cohere"},
    )
    assert payload == {
        "model": None,
        "userErrors": [
            {
                "field": "lab",
                "code": "ARCHIVED",
                "message": "lab 'cohere' is archived; restore it first",
            }
        ],
    }
    assert await checksum(database_url) == before


async def test_a_stale_revision_names_the_current_one(editor: Writer, database_url: str) -> None:
    before = await checksum(database_url)
    payload = await editor.write(
        "updateLab",
        "UpdateLabInput",
        "lab { slug }",
        {"slug": "upstage", "expectedRevision": 7, "name": "U"},
    )
    assert payload == {
        "lab": None,
        "userErrors": [
            {
                "field": "expectedRevision",
                "code": "CONFLICT",
                "message": "is stale: the current revision is 1; read it again",
            }
        ],
    }
    assert await checksum(database_url) == before


@pytest.mark.parametrize(
    ("first", "then", "slug", "code", "message"),
    [
        ("archiveLab", "archiveLab", "cohere", "ARCHIVED", "the lab is already archived"),
        (None, "restoreLab", "cohere", "INVALID", "the lab is not archived"),
        (
            "archiveModel",
            "archiveModel",
            "command-a-plus",
            "ARCHIVED",
            "the model is already archived",
        ),
        (None, "restoreModel", "command-a-plus", "INVALID", "the model is not archived"),
    ],
)
async def test_archiving_twice_or_restoring_what_is_live_is_refused(
    editor: Writer,
    database_url: str,
    first: str | None,
    then: str,
    slug: str,
    code: str,
    message: str,
) -> None:
    if first is not None:
        await editor.ok(first, "ArchiveInput", "revision", {"slug": slug})
    before = await checksum(database_url)
    payload = await editor.write(then, "ArchiveInput", "revision", {"slug": slug})
    assert payload == {
        "revision": None,
        "userErrors": [{"field": "slug", "code": code, "message": message}],
    }
    assert await checksum(database_url) == before


async def test_an_archive_with_the_current_revision_is_done_and_a_stale_one_refused(
    editor: Writer, database_url: str
) -> None:
    before = await checksum(database_url)
    stale = await editor.write(
        "archiveLab", "ArchiveInput", "revision", {"slug": "cohere", "expectedRevision": 2}
    )
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [
        ("expectedRevision", "CONFLICT")
    ]
    assert await checksum(database_url) == before
    done = await editor.ok(
        "archiveLab", "ArchiveInput", "revision", {"slug": "cohere", "expectedRevision": 1}
    )
    assert done["revision"] == 2


@pytest.mark.parametrize(
    ("name", "input_type", "data", "field"),
    [
        (
            "updateVersion",
            "UpdateVersionInput",
            {"model": "solar-next", "label": "v9", "expectedRevision": 1, "contextWindow": 8},
            "label",
        ),
        (
            "setHardwareTargets",
            "SetHardwareTargetsInput",
            {"model": "solar-next", "version": "v9", "expectedRevision": 1, "targets": []},
            "version",
        ),
    ],
)
async def test_an_unknown_version_is_named_and_nothing_is_written(
    editor: Writer, database_url: str, name: str, input_type: str, data: dict[str, Any], field: str
) -> None:
    before = await checksum(database_url)
    payload = await editor.write(name, input_type, "__typename", data)
    assert payload["userErrors"] == [
        {"field": field, "code": "NOT_FOUND", "message": "no version with this key"}
    ]
    assert await checksum(database_url) == before


@pytest.mark.parametrize("archived", ["archiveLab", "archiveModel"])
async def test_a_model_archived_or_under_an_archived_lab_is_not_updated(
    editor: Writer, database_url: str, archived: str
) -> None:
    slug = "cohere" if archived == "archiveLab" else "command-a-plus"
    await editor.ok(archived, "ArchiveInput", "revision", {"slug": slug})
    before = await checksum(database_url)
    payload = await editor.write(
        "updateModel",
        "UpdateModelInput",
        "model { slug }",
        {"slug": "command-a-plus", "expectedRevision": 1, "name": "Command A"},
    )
    assert payload == {
        "model": None,
        "userErrors": [
            {
                "field": "slug",
                "code": "ARCHIVED",
                "message": "the model or its lab is archived; restore it first",
            }
        ],
    }
    assert await checksum(database_url) == before


async def test_an_archived_lab_is_not_updated(editor: Writer, database_url: str) -> None:
    await editor.ok("archiveLab", "ArchiveInput", "revision", {"slug": "cohere"})
    before = await checksum(database_url)
    payload = await editor.write(
        "updateLab",
        "UpdateLabInput",
        "lab { slug }",
        {"slug": "cohere", "expectedRevision": 2, "name": "C"},
    )
    assert payload == {
        "lab": None,
        "userErrors": [
            {
                "field": "slug",
                "code": "ARCHIVED",
                "message": "the lab is archived; restore it first",
            }
        ],
    }
    assert await checksum(database_url) == before


# A type-correct input for every mutation: the role check runs before any validation.
ROLE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("createLab", "CreateLabInput", {"slug": "x", "name": "X", "country": "US"}),
    ("updateLab", "UpdateLabInput", {"slug": "upstage", "expectedRevision": 1, "name": "U"}),
    ("archiveLab", "ArchiveInput", {"slug": "upstage"}),
    ("restoreLab", "ArchiveInput", {"slug": "upstage"}),
    ("createModel", "CreateModelInput", {"slug": "x", "name": "X", "lab": "upstage"}),
    ("updateModel", "UpdateModelInput", {"slug": "solar-next", "expectedRevision": 1, "name": "S"}),
    ("archiveModel", "ArchiveInput", {"slug": "solar-next"}),
    ("restoreModel", "ArchiveInput", {"slug": "solar-next"}),
    (
        "createVersion",
        "CreateVersionInput",
        {"model": "solar-next", "label": "x", "stage": "FINAL"},
    ),
    (
        "updateVersion",
        "UpdateVersionInput",
        {"model": "solar-next", "label": "preview", "expectedRevision": 1, "contextWindow": 8},
    ),
    (
        "promoteVersion",
        "PromoteVersionInput",
        {"model": "solar-next", "preview": "preview", "label": "x"},
    ),
    (
        "setHardwareTargets",
        "SetHardwareTargetsInput",
        {"model": "solar-next", "version": "preview", "expectedRevision": 1, "targets": []},
    ),
    (
        "createBenchmark",
        "CreateBenchmarkInput",
        {"slug": "x", "name": "X", "scaleMin": 0, "scaleMax": 1, "isIndependent": True},
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        {"benchmark": INDEX, "label": "x", "effectiveOn": "2026-07-01"},
    ),
    (
        "recordScore",
        "RecordScoreInput",
        {
            "model": "solar-next",
            "version": "preview",
            "benchmark": INDEX,
            "value": 1,
            "measuredOn": "2026-06-02",
            "provenance": "LAB_CLAIM",
            "source": SOURCE,
        },
    ),
    (
        "supersedeScore",
        "SupersedeScoreInput",
        {"score": "U2NvcmU6MQ", "value": 1, "measuredOn": "2026-06-02", "source": SOURCE},
    ),
    (
        "setScoreVerification",
        "SetScoreVerificationInput",
        {"score": "U2NvcmU6MQ", "verification": "VERIFIED", "changedOn": "2026-06-02"},
    ),
    (
        "linkModels",
        "LinkModelsInput",
        {"parent": "mistral-7b", "child": "solar-pro", "relation": "DISTILLED"},
    ),
    (
        "unlinkModels",
        "UnlinkModelsInput",
        {"parent": "mistral-7b", "child": "solar-10.7b", "relation": "DEPTH_UP_SCALED"},
    ),
    (
        "createProgram",
        "CreateProgramInput",
        {"slug": "x", "name": "X", "sponsor": "S", "country": "KR"},
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        {
            "program": "korea-sovereign-ai",
            "lab": "upstage",
            "status": "ACTIVE",
            "effectiveOn": "2026-07-01",
        },
    ),
    (
        "stateTarget",
        "StateTargetInput",
        {
            "lab": "upstage",
            "benchmark": INDEX,
            "value": 1,
            "dueOn": "2027-12-31",
            "duePrecision": "YEAR",
            "statedOn": "2026-06-01",
            "source": SOURCE,
        },
    ),
    ("addSource", "AddSourceInput", {"url": "https://example.org/x", "title": "X", "kind": "NEWS"}),
    (
        "setExternalId",
        "SetExternalIdInput",
        {"system": "LMARENA", "externalKey": "x", "subject": {"lab": "upstage"}},
    ),
]


def test_the_role_table_covers_every_mutation() -> None:
    from service.graphql.schema import build_schema

    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    assert {case[0] for case in ROLE_CASES} == set(mutation_type.fields)


@pytest.mark.parametrize(("name", "input_type", "data"), ROLE_CASES)
async def test_anonymous_and_readers_are_refused_and_nothing_is_written(
    api: Api, database_url: str, name: str, input_type: str, data: dict[str, Any]
) -> None:
    reader = Writer(api, await issue_token(database_url, "reader", Role.READER))
    before = await checksum(database_url)
    document = mutation(name, input_type, "__typename")
    for writer, code in ((Writer(api, None), "UNAUTHENTICATED"), (reader, "FORBIDDEN")):
        body = await writer.run(document, {"input": data})
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    assert await checksum(database_url) == before


@pytest.mark.parametrize(("name", "input_type", "data"), ROLE_CASES)
async def test_editors_and_admins_may_call_every_mutation(
    api: Api, database_url: str, name: str, input_type: str, data: dict[str, Any]
) -> None:
    # A success or a userError, never a GraphQL error: the role let the call through.
    for role in (Role.EDITOR, Role.ADMIN):
        writer = Writer(api, await issue_token(database_url, f"{role.value}-bot", role))
        body = await writer.run(mutation(name, input_type, "__typename"), {"input": data})
        assert "errors" not in body, body
        assert body["data"][name]["__typename"].endswith("Payload")


async def test_a_score_id_of_another_type_is_invalid(editor: Writer, database_url: str) -> None:
    payload = await editor.write(
        "setScoreVerification",
        "SetScoreVerificationInput",
        "score { id }",
        {"score": ids.encode("Lab", 1), "verification": "VERIFIED", "changedOn": "2026-06-02"},
    )
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("score", "INVALID")]
    missing = await editor.write(
        "setScoreVerification",
        "SetScoreVerificationInput",
        "score { id }",
        {
            "score": ids.encode("Score", 10**9),
            "verification": "VERIFIED",
            "changedOn": "2026-06-02",
        },
    )
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [("score", "NOT_FOUND")]
    assert await _score_id(database_url, "solar-next", "preview")


async def test_a_score_is_of_the_method_version_in_effect_on_its_day_or_the_one_named(
    editor: Writer,
) -> None:
    await editor.ok(
        "createBenchmark",
        "CreateBenchmarkInput",
        "benchmark { slug }",
        {"slug": "gpqa", "name": "GPQA", "scaleMin": 0, "scaleMax": 100, "isIndependent": True},
    )
    for label, effective in (("v1", "2026-01-01"), ("v2", "2026-06-01")):
        await editor.ok(
            "createBenchmarkVersion",
            "CreateBenchmarkVersionInput",
            "benchmarkVersion { label }",
            {"benchmark": "gpqa", "label": label, "effectiveOn": effective},
        )

    async def version_of(benchmark: str, measured: str, named: str | None = None) -> str:
        score = {
            "model": "solar-next",
            "version": "preview",
            "benchmark": benchmark,
            "value": 40,
            "measuredOn": measured,
            "provenance": "INDEPENDENT",
            "source": SOURCE,
            **({} if named is None else {"benchmarkVersion": named}),
        }
        selection = "score { benchmarkVersion { label benchmarkSlug } }"
        recorded = await editor.ok("recordScore", "RecordScoreInput", selection, score)
        version = recorded["score"]["benchmarkVersion"]
        assert version["benchmarkSlug"] == benchmark
        return str(version["label"])

    # The latest in effect on the day, the day it took effect included; another benchmark's
    # later version is not the index's.
    assert await version_of("gpqa", "2026-05-31") == "v1"
    assert await version_of("gpqa", "2026-06-01") == "v2"
    assert await version_of("gpqa", "2026-07-01") == "v2"
    assert await version_of(INDEX, "2026-07-01") == "as reported 2026-05-30"
    # A version named is that one, in effect or not.
    assert await version_of("gpqa", "2026-07-01", "v1") == "v1"
    assert await version_of("gpqa", "2026-03-01", "v2") == "v2"


EVERY_LAB = "{ labs(first: 20) { nodes { slug name headquarters revision archivedAt } } }"


async def test_writes_to_one_lab_touch_no_other(editor: Writer) -> None:
    def others(data: dict[str, Any]) -> list[dict[str, Any]]:
        return [lab for lab in data["labs"]["nodes"] if lab["slug"] not in ("upstage", "cohere")]

    before = await editor.api.data(EVERY_LAB)
    # Each at revision 1, as every other lab is.
    revisions = {lab["slug"]: lab["revision"] for lab in before["labs"]["nodes"]}
    assert set(revisions.values()) == {1}
    updated = await editor.ok(
        "updateLab",
        "UpdateLabInput",
        "lab { slug name headquarters } revision",
        {"slug": "upstage", "expectedRevision": 1, "headquarters": "Yongin"},
    )
    assert updated["lab"] == {"slug": "upstage", "name": "Upstage", "headquarters": "Yongin"}
    assert updated["revision"] == 2
    archived = await editor.ok(
        "archiveLab", "ArchiveInput", "lab { slug } revision", {"slug": "cohere"}
    )
    assert archived == {"lab": {"slug": "cohere"}, "revision": 2, "userErrors": []}
    after = await editor.api.data(EVERY_LAB)
    assert "cohere" not in {lab["slug"] for lab in after["labs"]["nodes"]}
    assert others(after) == others(before)


async def test_a_version_under_an_archived_lab_is_refused_and_one_under_another_lab_is_not(
    editor: Writer,
) -> None:
    await editor.ok("archiveLab", "ArchiveInput", "revision", {"slug": "cohere"})
    version = {"label": "next", "stage": "PREVIEW"}
    refused = await editor.write(
        "createVersion",
        "CreateVersionInput",
        "version { label }",
        {**version, "model": "command-a-plus"},
    )
    assert [error["code"] for error in refused["userErrors"]] == ["ARCHIVED"]
    accepted = await editor.ok(
        "createVersion",
        "CreateVersionInput",
        "version { label }",
        {**version, "model": "solar-next"},
    )
    assert accepted["version"] == {"label": "next"}


async def test_a_new_benchmark_s_scale_and_version_hold_for_its_scores(editor: Writer) -> None:
    created = await editor.ok(
        "createBenchmark",
        "CreateBenchmarkInput",
        "benchmark { slug name scaleMin scaleMax }",
        {
            "slug": "ten-point",
            "name": "Ten point",
            "scaleMin": 0,
            "scaleMax": 10,
            "isIndependent": True,
        },
    )
    assert created["benchmark"] == {
        "slug": "ten-point",
        "name": "Ten point",
        "scaleMin": 0,
        "scaleMax": 10,
    }
    version = await editor.ok(
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        "benchmarkVersion { label effectiveOn components { weight benchmark { slug } } }",
        {
            "benchmark": "ten-point",
            "label": "v1",
            "effectiveOn": "2026-01-01",
            "components": [{"benchmark": INDEX, "weight": 1}],
        },
    )
    assert version["benchmarkVersion"] == {
        "label": "v1",
        "effectiveOn": "2026-01-01",
        "components": [{"weight": 1, "benchmark": {"slug": INDEX}}],
    }
    score = {
        "model": "solar-next",
        "version": "preview",
        "benchmark": "ten-point",
        "measuredOn": "2026-06-02",
        "provenance": "INDEPENDENT",
        "source": demo_source("aa-leaderboard"),
    }
    # 11 lies within every demo benchmark's scale but this one's.
    refused = await editor.write(
        "recordScore", "RecordScoreInput", "score { id }", {**score, "value": 11}
    )
    assert refused["userErrors"] == [
        {
            "field": "value",
            "code": "OUT_OF_RANGE",
            "message": "must lie within the benchmark's scale 0.0..10.0",
        }
    ]
    recorded = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { value benchmarkVersion { label benchmarkSlug benchmarkName } }",
        {**score, "value": 9},
    )
    assert recorded["score"] == {
        "value": 9,
        "benchmarkVersion": {
            "label": "v1",
            "benchmarkSlug": "ten-point",
            "benchmarkName": "Ten point",
        },
    }
