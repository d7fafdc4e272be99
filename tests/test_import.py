"""`registry import`: an export loaded through the write commands, and the round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from service import commands, ids, inputs, validation
from service.cli import main
from service.config import Settings
from service.db.pool import connect
from service.export import TABLES
from tests.conftest import running_api
from tests.database import create_database, drop_database, unique_name
from tests.following import INDEX, SOURCE, follow

ACTOR = "history"


def _parse(model: type[validation.InputT], data: dict[str, Any]) -> validation.InputT:
    return validation.parse(model, data)


async def _history(database_url: str) -> None:
    """More than the demo data holds: a promotion with hardware, a claim confirmed by
    evidence, a correction, a retraction, external ids, a link, a programme with no start, a
    target naming a model, and an archived model."""
    conn = await connect(database_url)
    try:
        await commands.create_lab(
            conn,
            ACTOR,
            _parse(
                inputs.LabInput,
                {
                    "slug": "acme",
                    "name": "Acme =AI",
                    "country": "DE",
                    "description": "'Acme', as they write it",
                },
            ),
        )
        await commands.create_model(
            conn,
            ACTOR,
            _parse(
                inputs.ModelInput,
                {"slug": "acme-one", "name": "Acme One", "lab": "acme", "openWeights": True},
            ),
        )
        await commands.set_external_id(
            conn,
            ACTOR,
            _parse(
                inputs.ExternalIdInput,
                {
                    "system": "HUGGING_FACE",
                    "externalKey": "acme/one",
                    "subject": {"model": "acme-one"},
                },
            ),
        )
        version = {"model": "acme-one", "source": SOURCE, "announcedOn": "2026-06-01"}
        await commands.create_version(
            conn,
            ACTOR,
            _parse(
                inputs.VersionInput,
                {
                    **version,
                    "label": "preview",
                    "stage": "PREVIEW",
                    "plannedOn": "2026-09-30",
                    "plannedPrecision": "QUARTER",
                },
            ),
        )
        await commands.promote_version(
            conn,
            ACTOR,
            _parse(
                inputs.PromoteVersionInput,
                {
                    **version,
                    "label": "final",
                    "preview": "preview",
                    "releasedOn": "2026-07-01",
                    "releasedPrecision": "DAY",
                    "totalParameters": 70_000_000_000,
                    "hardwareTargets": [
                        {
                            "accelerator": "H100 80GB",
                            "memoryGb": "80.00",
                            "precision": "BF16",
                            "source": SOURCE,
                        }
                    ],
                },
            ),
        )
        score = {"model": "acme-one", "benchmark": INDEX, "source": SOURCE}
        claim = await commands.record_score(
            conn,
            ACTOR,
            _parse(
                inputs.ScoreInput,
                {
                    **score,
                    "version": "preview",
                    "value": "45",
                    "qualifier": "AT_LEAST",
                    "measuredOn": "2026-06-01",
                    "provenance": "LAB_CLAIM",
                    "runConfiguration": {"effort": "high", "a": 1},
                },
            ),
        )
        measured = await commands.record_score(
            conn,
            ACTOR,
            _parse(
                inputs.ScoreInput,
                {
                    **score,
                    "version": "final",
                    "value": "46.25",
                    "measuredOn": "2026-07-10",
                    "provenance": "INDEPENDENT",
                    "uncertainty": "0.5",
                    "note": 'tab\tand "quotes", commas\nnewline, ünïcode',
                },
            ),
        )
        await commands.set_score_verification(
            conn,
            ACTOR,
            _parse(
                inputs.ScoreVerificationInput,
                {
                    "score": claim["id"],
                    "verification": "VERIFIED",
                    "changedOn": "2026-07-10",
                    "evidence": measured["id"],
                },
            ),
        )
        await commands.supersede_score(
            conn,
            ACTOR,
            _parse(
                inputs.SupersedeScoreInput,
                {
                    "score": measured["id"],
                    "value": "46.5",
                    "measuredOn": "2026-07-20",
                    "source": SOURCE,
                },
            ),
        )
        await commands.set_score_verification(
            conn,
            ACTOR,
            _parse(
                inputs.ScoreVerificationInput,
                {"score": measured["id"], "verification": "RETRACTED", "changedOn": "2026-07-21"},
            ),
        )
        await commands.link_models(
            conn,
            ACTOR,
            _parse(
                inputs.LineageLinkInput,
                {
                    "parent": "solar-pro-3",
                    "child": "acme-one",
                    "relation": "DISTILLED",
                    "note": "-illustrative",
                },
            ),
        )
        await commands.create_program(
            conn,
            ACTOR,
            _parse(
                inputs.ProgramInput,
                {"slug": "acme-grants", "name": "Acme grants", "sponsor": "+Acme", "country": "DE"},
            ),
        )
        await commands.set_participant_status(
            conn,
            ACTOR,
            _parse(
                inputs.ParticipantStatusInput,
                {
                    "program": "acme-grants",
                    "lab": "acme",
                    "status": "SELECTED",
                    "effectiveOn": "2026-07-01",
                    "note": "=first round",
                },
            ),
        )
        await commands.state_target(
            conn,
            ACTOR,
            _parse(
                inputs.TargetInput,
                {
                    "lab": "acme",
                    "benchmark": INDEX,
                    "model": "acme-one",
                    "value": "55.5",
                    "dueOn": "2026-12-31",
                    "duePrecision": "HALF",
                    "statedOn": "2026-06-01",
                    "source": SOURCE,
                },
            ),
        )
        await commands.archive_model(conn, ACTOR, _parse(inputs.ArchiveInput, {"slug": "acme-one"}))
    finally:
        await conn.close()


@pytest.fixture
async def seeded_copy(server_dsn: str, template_name: str) -> AsyncIterator[str]:
    """A second registry holding the demo data."""
    name = unique_name("registry_copy")
    yield await create_database(server_dsn, name, template=template_name)
    await drop_database(server_dsn, name)


async def _cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> int:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return await asyncio.to_thread(main, list(argv))


def _files(directory: Path, fmt: str = "ndjson") -> dict[str, bytes]:
    return {table: (directory / f"{table}.{fmt}").read_bytes() for table in TABLES}


async def _fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def test_export_import_export_gives_identical_files(
    database_url: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    await _history(database_url)
    first, second = tmp_path / "first", tmp_path / "second"
    for fmt in ("ndjson", "csv"):
        assert (
            await _cli(monkeypatch, database_url, "export", "--dir", str(first), "--format", fmt)
            == 0
        )
    assert (
        await _cli(
            monkeypatch, empty_database_url, "import", *(str(first / f"{t}.ndjson") for t in TABLES)
        )
        == 0
    )
    out = capsys.readouterr().out
    # Every table holds rows: the demo's programme, statuses and targets among them.
    assert all(len(body.splitlines()) > 1 for body in _files(first).values())
    assert b"korea-sovereign-ai" in _files(first)["participants"]
    cursor = orjson.loads(_files(first)["labs"].splitlines()[0])["cursor"]
    assert f"kept the exported ids and the feed cursor {cursor}" in out
    assert "merged" not in out.replace(" 0 merged", "")
    for fmt in ("ndjson", "csv"):
        assert (
            await _cli(
                monkeypatch, empty_database_url, "export", "--dir", str(second), "--format", fmt
            )
            == 0
        )
        assert _files(second, fmt) == _files(first, fmt)
    # Through the commands: one audit row per row created, by the import's actor, numbered
    # up to the export's cursor.
    audit = await _fetch(
        empty_database_url, "SELECT actor, position FROM audit_event ORDER BY position"
    )
    assert {row["actor"] for row in audit} == {"registry-import"}
    scores = await _fetch(empty_database_url, "SELECT count(*) FROM score")
    assert len(audit) > scores[0][0]
    assert orjson.loads(_files(second)["scores"].splitlines()[0])["cursor"] == cursor
    await _derived_events_agree_with_the_read_api(empty_database_url)


CROSSED_40 = """
query CrossedForty {
  thresholdCrossings(benchmark: "aa-intelligence-index", threshold: 40) {
    crossings { order entry { country { code } score { id } } }
  }
}
"""
TOP = """
query TopTen {
  leaderboard(benchmark: "aa-intelligence-index", first: 10) {
    edges { node { rank model { id } } }
  }
}
"""


async def _derived_events_agree_with_the_read_api(database_url: str) -> None:
    """The import's derived events, told once at its end, are the read API's answers: every
    model on the board entered it once, each country crossed 40 once, in the order
    thresholdCrossings gives."""
    settings = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False, response_cache=False
    )
    async with running_api(settings) as api:
        entered, _ = await follow(api, kinds=["LEADERBOARD_ENTERED"])
        crossed, _ = await follow(api, kinds=["THRESHOLD_CROSSED"])
        board = (await api.data(TOP))["leaderboard"]["edges"]
        answer = (await api.data(CROSSED_40))["thresholdCrossings"]["crossings"]
    assert sorted(e["node"]["state"]["modelId"] for e in entered) == sorted(
        e["node"]["model"]["id"] for e in board
    )
    at_40 = [
        (s["countryCode"], s["order"], s["id"])
        for s in (e["node"]["state"] for e in crossed)
        if s["threshold"] == 40 and s["by"] == "COUNTRY"
    ]
    assert at_40 == [
        (c["entry"]["country"]["code"], c["order"], c["entry"]["score"]["id"]) for c in answer
    ]


async def test_the_round_trip_over_csv_gives_identical_files(
    database_url: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """CSV carries every fact NDJSON does (types from the columns, the formula mark taken
    off); it names no feed cursor, so the new registry's feed is its own."""
    await _history(database_url)
    first, second = tmp_path / "first", tmp_path / "second"
    for fmt in ("ndjson", "csv"):
        argv = ("export", "--dir", str(first), "--format", fmt)
        assert await _cli(monkeypatch, database_url, *argv) == 0
    # Renamed: the header row says which table a file holds.
    renamed = []
    for number, table in enumerate(reversed(TABLES)):
        renamed.append(tmp_path / f"part-{number}.csv")
        renamed[-1].write_bytes((first / f"{table}.csv").read_bytes())
    capsys.readouterr()
    assert await _cli(monkeypatch, empty_database_url, "import", *map(str, renamed)) == 0
    out = capsys.readouterr().out
    assert "a CSV export names no cursor" in out and "kept the exported ids" in out
    for fmt in ("ndjson", "csv"):
        argv = ("export", "--dir", str(second), "--format", fmt)
        assert await _cli(monkeypatch, empty_database_url, *argv) == 0
    assert _files(second, "csv") == _files(first, "csv")
    rows = {table: body.splitlines()[1:] for table, body in _files(first).items()}
    assert {table: body.splitlines()[1:] for table, body in _files(second).items()} == rows
    assert b"'Acme', as they write it" in _files(second)["labs"]


async def test_a_csv_row_that_does_not_fit_names_its_file_and_line(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    header = "\ufeffid,url,title,publisher,publishedOn,kind\r\n"
    good = 'U291cmNlOjE,,"A\nsource",Acme,2026-01-01,NEWS\r\n'
    sources = tmp_path / "sources.csv"
    sources.write_text(header + good + "U291cmNlOjI,,Short\r\n", encoding="utf-8")
    assert await _cli(monkeypatch, empty_database_url, "import", str(sources)) == 1
    assert f"{sources}:4: 3 cells; the header names 6" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    other.write_text("\ufeffid,name\r\n", encoding="utf-8")
    assert await _cli(monkeypatch, empty_database_url, "import", str(other)) == 1
    assert "not an NDJSON or CSV export" in capsys.readouterr().err
    assert await _fetch(empty_database_url, "SELECT id FROM source") == []


async def test_an_import_into_a_registry_with_data_merges_what_it_holds(
    database_url: str,
    seeded_copy: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    await _history(database_url)
    assert await _cli(monkeypatch, database_url, "export", "--dir", str(tmp_path)) == 0
    # The catalog's name for Alibaba's lab: another slug, but the Hugging Face org it maps to.
    labs = tmp_path / "labs.ndjson"
    lines = labs.read_bytes().splitlines()
    qwen = {
        "id": "TGFiOjk5OQ",
        "slug": "qwen",
        "name": "Qwen",
        "country": None,
        "foundedYear": None,
        "headquarters": None,
        "website": None,
        "description": None,
        "archived": False,
        "externalIds": [{"system": "HUGGING_FACE", "key": "Qwen"}],
    }
    labs.write_bytes(b"\n".join([*lines, orjson.dumps(qwen)]) + b"\n")
    # A model under another slug, but the Hugging Face repo a demo model maps to.
    models = tmp_path / "models.ndjson"
    lines = models.read_bytes().splitlines()
    acme_one = orjson.loads(next(line for line in lines if b'"acme-one"' in line))
    repo = {"system": "HUGGING_FACE", "key": "upstage/SOLAR-10.7B-v1.0"}
    base = {**acme_one, "id": "TW9kZWw6OTk5", "slug": "solar-base", "externalIds": [repo]}
    models.write_bytes(b"\n".join([*lines, orjson.dumps({**base, "archived": False})]) + b"\n")
    # A new link of a relation the registry already holds (its SUCCESSOR chain).
    links = tmp_path / "lineage.ndjson"
    lines = links.read_bytes().splitlines()
    link = {**orjson.loads(lines[-1]), "id": "TGluZWFnZUxpbms6OTk5", "parent": "gpt-5.5"}
    links.write_bytes(b"\n".join([*lines, orjson.dumps({**link, "relation": "SUCCESSOR"})]) + b"\n")
    # A new score sharing its day, provenance and source with a demo score of another model.
    scores = tmp_path / "scores.ndjson"
    lines = scores.read_bytes().splitlines()
    demo = next(
        row
        for row in map(orjson.loads, lines[1:])
        if row["model"] != "acme-one" and row["supersedesId"] is None
        and row["verificationChangedOn"] is None and row["evidenceScoreId"] is None
    )  # fmt: skip
    twin = {**demo, "id": "U2NvcmU6OTk5", "model": "acme-one", "version": "final"}
    scores.write_bytes(b"\n".join([*lines, orjson.dumps(twin)]) + b"\n")
    capsys.readouterr()
    assert (
        await _cli(
            monkeypatch, seeded_copy, "import", *(str(tmp_path / f"{t}.ndjson") for t in TABLES)
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert "merged lab upstage into upstage (same slug)" in out
    assert "merged lab qwen into alibaba-qwen (HUGGING_FACE 'Qwen')" in out
    assert "created lab acme" in out
    assert "created model acme-one" in out
    assert (
        "merged model solar-base into solar-10.7b (HUGGING_FACE 'upstage/SOLAR-10.7B-v1.0')" in out
    )
    assert "lineage: 2 created, 6 merged" in out  # the history's and gpt-5.5's; the demo's
    assert "programs: 1 created, 1 merged" in out  # the history's, and the demo's by its slug
    assert "participants: 1 created, 10 merged" in out
    assert "targets: 1 created, 2 merged" in out
    created = {line.split(":")[0]: line for line in out if ": " in line and "created," in line}
    assert created["scores"].startswith(
        "scores: 4 created, 8 merged"
    )  # the history's and the twin, not the demo's
    rows = await _fetch(seeded_copy, "SELECT slug FROM lab WHERE slug IN ('qwen', 'acme')")
    assert [row["slug"] for row in rows] == ["acme"]
    # A second import finds everything there.
    assert (
        await _cli(
            monkeypatch, seeded_copy, "import", *(str(tmp_path / f"{t}.ndjson") for t in TABLES)
        )
        == 0
    )
    assert " created" not in capsys.readouterr().out.replace(" 0 created", "")


async def test_a_refused_row_names_its_file_and_line_and_writes_nothing(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    labs = tmp_path / "labs.ndjson"
    head = {"export": "labs", "cursor": "Q2hhbmdlOjA", "asOf": None}
    good = {"id": "TGFiOjE", "slug": "good", "name": "Good", "archived": False, "externalIds": []}
    bad = {**good, "id": "TGFiOjI", "slug": "Not A Slug"}
    labs.write_bytes(b"\n".join(orjson.dumps(line) for line in (head, good, bad)) + b"\n")
    assert await _cli(monkeypatch, empty_database_url, "import", str(labs)) == 1
    err = capsys.readouterr().err
    assert f"{labs}:3: " in err and "slug" in err
    assert await _fetch(empty_database_url, "SELECT slug FROM lab") == []


async def test_a_family_keeps_its_lab_or_has_none(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # A family's lab is optional; the demo data gives every family one, an import need not.
    def ndjson(table: str, *rows: dict[str, Any]) -> str:
        head = {"export": table, "cursor": "Q2hhbmdlOjA", "asOf": None}
        path = tmp_path / f"{table}.ndjson"
        path.write_bytes(b"\n".join(orjson.dumps(line) for line in (head, *rows)) + b"\n")
        return str(path)

    lab = {"id": "TGFiOjE", "slug": "acme", "name": "Acme", "archived": False, "externalIds": []}
    family = {"id": "TW9kZWxGYW1pbHk6MQ", "slug": "open", "name": "Open", "lab": None}
    owned = {**family, "id": "TW9kZWxGYW1pbHk6Mg", "slug": "acme-one", "lab": "acme"}
    files = (ndjson("labs", lab), ndjson("families", family, owned))
    assert await _cli(monkeypatch, empty_database_url, "import", *files) == 0
    assert "families: 2 created" in capsys.readouterr().out
    rows = await _fetch(
        empty_database_url,
        "SELECT family.slug, lab.slug AS lab FROM model_family AS family"
        " LEFT JOIN lab ON lab.id = family.lab_id ORDER BY family.slug",
    )
    assert [(row["slug"], row["lab"]) for row in rows] == [("acme-one", "acme"), ("open", None)]


async def test_a_second_family_of_one_slug_is_refused_at_its_line(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Into an empty registry the import keeps ids and merges nothing: the database refuses it.
    families = tmp_path / "families.ndjson"
    head = {"export": "families", "cursor": "Q2hhbmdlOjA", "asOf": None}
    first = {"id": "TW9kZWxGYW1pbHk6MQ", "slug": "open", "name": "Open", "lab": None}
    second = {**first, "id": "TW9kZWxGYW1pbHk6Mg", "name": "Open again"}
    families.write_bytes(b"\n".join(orjson.dumps(line) for line in (head, first, second)) + b"\n")
    assert await _cli(monkeypatch, empty_database_url, "import", str(families)) == 1
    assert f"{families}:3: slug: already exists" in capsys.readouterr().err
    assert await _fetch(empty_database_url, "SELECT slug FROM model_family") == []


async def test_registry_export_writes_one_table_to_stdout_and_says_its_cursor(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _cli(monkeypatch, database_url, "export", "labs", "--format", "csv") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("\ufeffid,slug,name,country,")
    head = await _fetch(database_url, "SELECT max(position) FROM audit_event")
    assert f'changes(after: "{ids.encode("Change", head[0][0])}")' in captured.err
    assert await _cli(monkeypatch, database_url, "export") == 2
    assert "name one table" in capsys.readouterr().err
    assert await _cli(monkeypatch, database_url, "export", "labz", "--dir", "x") == 2
    assert "no table 'labz'" in capsys.readouterr().err
    assert await _cli(monkeypatch, database_url, "export", "labs", "--as-of", "May") == 2
    assert "--as-of: 'May' is not a date" in capsys.readouterr().err


async def test_a_registry_holding_only_sources_is_not_empty(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # No lab and no benchmark yet, but the first import's source: the second merges it.
    sources = tmp_path / "sources.ndjson"
    head = {"export": "sources", "cursor": "Q2hhbmdlOjE", "asOf": None}
    row = {
        "id": "U291cmNlOjE",
        "url": None,
        "title": "A source",
        "publisher": "Acme",
        "publishedOn": "2026-01-01",
        "kind": "NEWS",
    }
    sources.write_bytes(b"\n".join(orjson.dumps(line) for line in (head, row)) + b"\n")
    assert await _cli(monkeypatch, empty_database_url, "import", str(sources)) == 0
    assert "sources: 1 created, 0 merged" in capsys.readouterr().out
    assert await _cli(monkeypatch, empty_database_url, "import", str(sources)) == 0
    assert "sources: 0 created, 1 merged" in capsys.readouterr().out
    assert len(await _fetch(empty_database_url, "SELECT id FROM source")) == 1
