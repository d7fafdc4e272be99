"""The edges of the write commands: bounds that are allowed, and refusals that write nothing."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import asyncpg
import pytest

import service.commands
from service import ids
from service.db.pool import connect
from service.enums import Role
from tests.conftest import Api
from tests.writing import Writer, checksum, demo_source, fetchval, issue_token

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


async def _holding(database_url: str, statement: str, *args: Any) -> asyncpg.Connection:
    """A connection in an open transaction that ran `statement` (and holds its locks)."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("BEGIN")
    await conn.execute(statement, *args)
    return conn


async def _waited(
    holder: asyncpg.Connection, write: Coroutine[Any, Any, dict[str, Any]], end: str
) -> dict[str, Any]:
    """The payload of `write`, which must wait for `holder`'s locks until `end` releases them."""
    task = asyncio.create_task(write)
    try:
        while not await holder.fetchval(WAITING):
            assert not task.done(), "the write did not wait for the lock"
            await asyncio.sleep(0.05)
        await holder.execute(end)
    finally:
        await holder.close()
    return await task


def _row_id(global_id: str) -> int:
    decoded = ids.decode(global_id)
    assert decoded is not None
    return decoded[1]


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
    holder = await _holding(database_url, KEY_SHARE, _row_id(claim))
    write = editor.ok(name, input_type, "score { id }", {"score": claim, **data})
    assert (await _waited(holder, write, "ROLLBACK"))["score"]


async def test_linking_evidence_does_not_lock_the_evidence(
    editor: Writer, database_url: str
) -> None:
    claim = (await _scores(editor.api, "solar-next"))["LAB_CLAIM"]
    final = (
        await editor.ok("recordScore", "RecordScoreInput", SCORE, _measured(41, "2026-07-02"))
    )["score"]["id"]
    holder = await _holding(database_url, KEY_SHARE, _row_id(final))
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


def _new_source(title: str) -> dict[str, Any]:
    return {"new": {"title": title, "kind": "NEWS", "publisher": "Example Daily"}}


NO_SUCH_SOURCE = {"id": ids.encode("Source", 10**9)}
TARGET = {
    "lab": "upstage",
    "benchmark": INDEX,
    "value": 60,
    "dueOn": "2027-12-31",
    "duePrecision": "YEAR",
    "statedOn": "2026-06-01",
    "source": SOURCE,
}
LINK = {"parent": "solar-pro", "child": "solar-next", "relation": "SUCCESSOR"}
STATUS = {"program": "korea-sovereign-ai", "lab": "upstage", "status": "ACTIVE"}
VERSION = {"benchmark": INDEX, "label": "v9", "effectiveOn": "2026-08-01"}
PROGRAM = {"slug": "p", "name": "P", "sponsor": "S", "country": "KR"}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


# (mutation, input type, input, the user errors as (field, code, message))
REFUSALS: list[tuple[str, str, dict[str, Any], list[tuple[str, str, str]]]] = [
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, parent="nope"),
        [("parent", "NOT_FOUND", "no model with this key")],
    ),
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, child="nope"),
        [("child", "NOT_FOUND", "no model with this key")],
    ),
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, child="command-a-plus"),
        [("child", "ARCHIVED", "model 'command-a-plus' or its lab is archived; restore it first")],
    ),
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, child="solar-pro"),
        [("child", "CYCLE", "a model cannot be its own parent")],
    ),
    (
        "linkModels",
        "LinkModelsInput",
        {"parent": "solar-10.7b", "child": "mistral-7b", "relation": "SUCCESSOR"},
        [("child", "CYCLE", "mistral-7b is already an ancestor of solar-10.7b")],
    ),
    (
        "linkModels",
        "LinkModelsInput",
        {"parent": "solar-pro-2", "child": "solar-pro-3", "relation": "SUCCESSOR"},
        [("relation", "ALREADY_EXISTS", "already exists")],
    ),
    (
        "linkModels",
        "LinkModelsInput",
        _with(LINK, source=NO_SUCH_SOURCE),
        [("source.id", "NOT_FOUND", "no source with this key")],
    ),
    (
        "unlinkModels",
        "UnlinkModelsInput",
        _with(LINK, parent="nope"),
        [("parent", "NOT_FOUND", "no model with this key")],
    ),
    (
        "unlinkModels",
        "UnlinkModelsInput",
        _with(LINK, child="nope"),
        [("child", "NOT_FOUND", "no model with this key")],
    ),
    (
        "unlinkModels",
        "UnlinkModelsInput",
        LINK,
        [("relation", "NOT_FOUND", "these models are not linked by this relation")],
    ),
    (
        "stateTarget",
        "StateTargetInput",
        _with(TARGET, lab="nope"),
        [("lab", "NOT_FOUND", "no lab with this key")],
    ),
    (
        "stateTarget",
        "StateTargetInput",
        _with(TARGET, benchmark="nope"),
        [("benchmark", "NOT_FOUND", "no benchmark with this key")],
    ),
    (
        "stateTarget",
        "StateTargetInput",
        _with(TARGET, model="command-a-plus"),
        [("model", "ARCHIVED", "model 'command-a-plus' or its lab is archived; restore it first")],
    ),
    (
        "stateTarget",
        "StateTargetInput",
        _with(TARGET, source=NO_SUCH_SOURCE),
        [("source.id", "NOT_FOUND", "no source with this key")],
    ),
    ("stateTarget", "StateTargetInput", TARGET, [("dueOn", "ALREADY_EXISTS", "already exists")]),
    (
        "setExternalId",
        "SetExternalIdInput",
        {"system": "LMARENA", "externalKey": "x", "subject": {"lab": "nope"}},
        [("subject.lab", "NOT_FOUND", "no lab with this key")],
    ),
    (
        "setExternalId",
        "SetExternalIdInput",
        {"system": "LMARENA", "externalKey": "x", "subject": {"model": "command-a-plus"}},
        [
            (
                "subject.model",
                "ARCHIVED",
                "model 'command-a-plus' or its lab is archived; restore it first",
            )
        ],
    ),
    (
        "setExternalId",
        "SetExternalIdInput",
        {
            "system": "HUGGING_FACE",
            "externalKey": "upstage/SOLAR-10.7B-v1.0",
            "subject": {"model": "solar-pro"},
        },
        [("externalKey", "ALREADY_EXISTS", "already exists")],
    ),
    (
        "createProgram",
        "CreateProgramInput",
        _with(PROGRAM, slug="korea-sovereign-ai"),
        [("slug", "ALREADY_EXISTS", "already exists")],
    ),
    (
        "createProgram",
        "CreateProgramInput",
        _with(PROGRAM, source=NO_SUCH_SOURCE),
        [("source.id", "NOT_FOUND", "no source with this key")],
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        _with(STATUS, program="nope", effectiveOn="2026-07-01"),
        [("program", "NOT_FOUND", "no program with this key")],
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        _with(STATUS, lab="nope", effectiveOn="2026-07-01"),
        [("lab", "NOT_FOUND", "no lab with this key")],
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        _with(STATUS, lab="cohere", effectiveOn="2026-07-01"),
        [("lab", "ARCHIVED", "lab 'cohere' is archived; restore it first")],
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        _with(STATUS, effectiveOn="2026-07-01", source=NO_SUCH_SOURCE),
        [("source.id", "NOT_FOUND", "no source with this key")],
    ),
    (
        "setParticipantStatus",
        "SetParticipantStatusInput",
        _with(STATUS, effectiveOn="2026-07-02"),
        [("effectiveOn", "ALREADY_EXISTS", "already exists")],
    ),
    (
        "createBenchmark",
        "CreateBenchmarkInput",
        {"slug": INDEX, "name": "X", "scaleMin": 0, "scaleMax": 1, "isIndependent": True},
        [("slug", "ALREADY_EXISTS", "already exists")],
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        _with(VERSION, benchmark="nope"),
        [("benchmark", "NOT_FOUND", "no benchmark with this key")],
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        _with(VERSION, components=[{"benchmark": "nope", "weight": 1}]),
        [("components.0.benchmark", "NOT_FOUND", "no benchmark with this key")],
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        _with(VERSION, components=[{"benchmark": INDEX, "weight": 1}]),
        [("components.0.benchmark", "INVALID", "an index cannot be its own component")],
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        _with(VERSION, label="as reported 2026-05-30"),
        [("label", "ALREADY_EXISTS", "already exists")],
    ),
    (
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        _with(VERSION, source=NO_SUCH_SOURCE),
        [("source.id", "NOT_FOUND", "no source with this key")],
    ),
    (
        "addSource",
        "AddSourceInput",
        {"url": "https://artificialanalysis.ai/", "title": "Again", "kind": "NEWS"},
        [("url", "ALREADY_EXISTS", "a source with this URL is already recorded")],
    ),
    (
        "addSource",
        "AddSourceInput",
        {"title": "South Korea Breaks Into US-China AI Top Tier", "kind": "NEWS"},
        [
            (
                "title",
                "ALREADY_EXISTS",
                "a source with this kind, title, publisher and date is already recorded",
            )
        ],
    ),
]


# The command module each mutation is written in: a mutation run takes that module's rows.
MODULES = {
    "linkModels": "lineage",
    "unlinkModels": "lineage",
    "stateTarget": "targets",
    "setExternalId": "external_ids",
    "createProgram": "programs",
    "setParticipantStatus": "programs",
    "createBenchmark": "benchmarks",
    "createBenchmarkVersion": "benchmarks",
    "addSource": "sources",
}


@pytest.mark.parametrize("module", sorted(set(MODULES.values())))
async def test_each_refusal_names_its_field_and_writes_nothing(
    editor: Writer, database_url: str, module: str
) -> None:
    # An archived model and lab, a stated target and a participant's status to collide with.
    await editor.ok("archiveLab", "ArchiveInput", "revision", {"slug": "cohere"})
    await editor.ok("stateTarget", "StateTargetInput", "target { value }", TARGET)
    await editor.ok(
        "setParticipantStatus",
        "SetParticipantStatusInput",
        "statusChange { status }",
        _with(STATUS, effectiveOn="2026-07-02"),
    )
    cases = [case for case in REFUSALS if MODULES[case[0]] == module]
    found = []
    for name, input_type, data, _ in cases:
        errors = await _refused(editor, database_url, name, input_type, data)
        found.append((name, [(e["field"], e["code"], e["message"]) for e in errors]))
    assert found == [(name, errors) for name, _, _, errors in cases]


async def _audit(database_url: str) -> list[tuple[str, str, Any, Any]]:
    conn = await connect(database_url)  # with the jsonb codec
    try:
        rows = await conn.fetch(
            "SELECT operation, entity_type, before, after FROM audit_event"
            " WHERE actor = 'editor-bot' ORDER BY id"
        )
    finally:
        await conn.close()
    return [(row["operation"], row["entity_type"], row["before"], row["after"]) for row in rows]


async def test_each_write_and_each_source_it_records_has_its_own_audit_row(
    editor: Writer, database_url: str
) -> None:
    await editor.ok(
        "addSource",
        "AddSourceInput",
        "source { id }",
        {"url": "https://example.org/gpqa", "title": "GPQA", "kind": "PAPER"},
    )
    benchmark = {
        "slug": "gpqa",
        "name": "GPQA",
        "scaleMin": 0,
        "scaleMax": 1,
        "isIndependent": True,
    }
    await editor.ok("createBenchmark", "CreateBenchmarkInput", "benchmark { slug }", benchmark)
    version = await editor.ok(
        "createBenchmarkVersion",
        "CreateBenchmarkVersionInput",
        "benchmarkVersion { label components { weight benchmark { slug } } }",
        _with(VERSION, components=[{"benchmark": "gpqa", "weight": 1}], source=_new_source("v9")),
    )
    assert version["benchmarkVersion"] == {
        "label": "v9",
        "components": [{"weight": 1.0, "benchmark": {"slug": "gpqa"}}],
    }
    linked = await editor.ok(
        "linkModels",
        "LinkModelsInput",
        "link { note source { title } }",
        _with(LINK, note="the next one", source=_new_source("link")),
    )
    assert linked["link"] == {"note": "the next one", "source": {"title": "link"}}
    await editor.ok("unlinkModels", "UnlinkModelsInput", "link { relation }", LINK)
    await editor.ok(
        "createProgram",
        "CreateProgramInput",
        "program { slug country { code } }",
        _with(PROGRAM, source=_new_source("programme")),
    )
    status = await editor.ok(
        "setParticipantStatus",
        "SetParticipantStatusInput",
        "statusChange { status source { title } }",
        _with(STATUS, program="p", effectiveOn="2026-07-01", source=_new_source("status")),
    )
    assert status["statusChange"] == {"status": "ACTIVE", "source": {"title": "status"}}
    await editor.ok(
        "stateTarget",
        "StateTargetInput",
        "target { value }",
        _with(TARGET, model="solar-next", source=_new_source("target")),
    )
    for subject in ({"lab": "upstage"}, {"model": "solar-next"}):
        await editor.ok(
            "setExternalId",
            "SetExternalIdInput",
            "externalId { externalKey }",
            {"system": "LMARENA", "externalKey": str(subject), "subject": subject},
        )
    solar_next = await fetchval(database_url, "SELECT id FROM model WHERE slug = 'solar-next'")
    upstage = await fetchval(database_url, "SELECT id FROM lab WHERE slug = 'upstage'")
    audit = await _audit(database_url)
    assert [(operation, entity) for operation, entity, _, _ in audit] == [
        ("addSource", "Source"),
        ("createBenchmark", "Benchmark"),
        ("createBenchmarkVersion", "Source"),
        ("createBenchmarkVersion", "BenchmarkVersion"),
        ("linkModels", "Source"),
        ("linkModels", "LineageLink"),
        ("unlinkModels", "LineageLink"),
        ("createProgram", "Source"),
        ("createProgram", "Program"),
        ("setParticipantStatus", "Source"),
        ("setParticipantStatus", "ParticipantStatus"),
        ("stateTarget", "Source"),
        ("stateTarget", "Target"),
        ("setExternalId", "ExternalId"),
        ("setExternalId", "ExternalId"),
    ]
    unlinked = audit[6]
    assert unlinked[2]["note"] == "the next one" and unlinked[3] is None
    target = audit[12][3]
    assert (target["lab_id"], target["model_id"]) == (upstage, solar_next)
    assert [(after["lab_id"], after["model_id"]) for _, _, _, after in audit[13:]] == [
        (upstage, None),
        (None, solar_next),
    ]


async def test_two_links_wait_for_each_other(editor: Writer, database_url: str) -> None:
    # Every writer of the graph takes one lock, so two links cannot close a cycle that
    # neither saw.
    holder = await _holding(database_url, "SELECT pg_advisory_xact_lock(hashtext('lineage_link'))")
    write = editor.ok("linkModels", "LinkModelsInput", "link { relation }", LINK)
    assert await _waited(holder, write, "ROLLBACK") == {
        "link": {"relation": "SUCCESSOR"},
        "userErrors": [],
    }


@pytest.mark.parametrize(("url", "field"), [("https://example.org/race", "url"), (None, "title")])
async def test_a_source_added_twice_at_once_is_recorded_once(
    editor: Writer, database_url: str, url: str | None, field: str
) -> None:
    # The other request's row is not visible yet when this one looks for the source; the
    # unique index refuses it, under the field that identifies the source.
    holder = await _holding(
        database_url,
        "INSERT INTO source (url, title, kind) VALUES ($1, 'Race', 'NEWS')",
        url,
    )
    data = {"url": url, "title": "Race", "kind": "NEWS"}
    write = editor.write("addSource", "AddSourceInput", "source { id }", data)
    assert await _waited(holder, write, "COMMIT") == {
        "source": None,
        "userErrors": [{"field": field, "code": "ALREADY_EXISTS", "message": "already exists"}],
    }


def test_the_commands_package_exports_every_command() -> None:
    # The mutations, the importer and the demo-data loader call `commands.<name>`: every
    # public coroutine of a command module is one of the package's names, and nothing else.
    defined = {
        name
        for module in pkgutil.iter_modules(service.commands.__path__)
        if module.name != "transaction"
        for name, value in vars(importlib.import_module(f"service.commands.{module.name}")).items()
        if inspect.iscoroutinefunction(value)
        and value.__module__ == f"service.commands.{module.name}"
        and not name.startswith("_")
    }
    exported: dict[str, Any] = {}
    exec("from service.commands import *", exported)
    assert {name for name in exported if name != "__builtins__"} == defined
