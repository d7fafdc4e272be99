"""Exports: every table as NDJSON and CSV, one snapshot, the feed cursor it corresponds to."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
from typing import Any

import pytest

from service import commands, ids, inputs, validation
from service.config import Settings
from service.db.pool import connect
from service.enums import Role
from service.export import TABLES, ExportEndpoint
from tests import readme
from tests.conftest import Api, running_api
from tests.following import follow, score_input
from tests.writing import issue_token


async def ndjson(api: Api, path: str, **params: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    response = await api.http.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    head, *rows = [json.loads(line) for line in response.text.splitlines()]
    assert head["cursor"] == response.headers["registry-feed-cursor"]
    return head, rows


async def test_every_table_exports_as_ndjson_and_csv(api: Api) -> None:
    for table in TABLES:
        head, rows = await ndjson(api, f"/export/{table}.ndjson")
        assert head["export"] == table and head["asOf"] is None
        assert rows, table
        response = await api.http.get(f"/export/{table}.csv")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
        assert response.content.startswith("\ufeff".encode())
        parsed = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        assert [row["id"] for row in parsed] == [row["id"] for row in rows]
        assert b"\r\n" in response.content


async def test_rows_carry_global_ids_the_api_resolves(api: Api) -> None:
    _, labs = await ndjson(api, "/export/labs.ndjson")
    upstage = next(lab for lab in labs if lab["slug"] == "upstage")
    assert ids.decode(upstage["id"])[0] == "Lab"  # type: ignore[index]
    data = await api.data(
        "query Node($id: ID!) { node(id: $id) { id ... on Lab { slug } } }", id=upstage["id"]
    )
    assert data["node"]["slug"] == "upstage"
    _, scores = await ndjson(api, "/export/scores.ndjson")
    assert all(isinstance(score["value"], str) for score in scores)  # exact decimals


async def _lab_writer(database_url: str, prefix: str, count: int, slow: bool) -> None:
    conn = await connect(database_url)
    try:
        for index in range(count):
            slug = f"{prefix}-{index}"
            data = validation.parse(inputs.LabInput, {"slug": slug, "name": slug, "country": "FR"})
            async with conn.transaction():
                await commands.create_lab(conn, "racer", data)
                if slow:
                    await asyncio.sleep(0.03)  # commits late: numbered at commit all the same
    finally:
        await conn.close()


async def test_an_export_then_its_feed_cursor_miss_nothing_and_repeat_nothing(
    api: Api, database_url: str
) -> None:
    """Writers race exports: each export holds exactly the labs created at or before its
    cursor, and changes(after: cursor) exactly the others."""
    writers = [
        asyncio.create_task(_lab_writer(database_url, f"racer-{n}", 15, slow=n % 2 == 1))
        for n in range(4)
    ]
    exports: list[tuple[str, set[str]]] = []
    while not all(writer.done() for writer in writers) or len(exports) < 3:
        head, rows = await ndjson(api, "/export/labs.ndjson")
        exports.append((head["cursor"], {row["id"] for row in rows}))
        await asyncio.sleep(0.01)
    await asyncio.gather(*writers)
    _, final = await ndjson(api, "/export/labs.ndjson")
    everything = {row["id"] for row in final}
    assert len(everything) >= 60
    assert len({cursor for cursor, _ in exports}) > 2  # the exports saw the writes go by
    for cursor, exported in exports:
        edges, _ = await follow(api, after=cursor, entityTypes=["Lab"])
        later = {edge["node"]["entityId"] for edge in edges}
        assert exported.isdisjoint(later)  # nothing twice
        assert exported | later == everything  # nothing missed


async def test_as_of_bounds_the_dated_facts(api: Api, database_url: str) -> None:
    conn = await connect(database_url)
    try:
        later = score_input("gpt-5.5", "release", 60.9, "2026-06-15")
        await commands.record_score(conn, "test", later)
    finally:
        await conn.close()
    _, everything = await ndjson(api, "/export/scores.ndjson")
    head, before = await ndjson(api, "/export/scores.ndjson", asOf="2026-06-01")
    assert head["asOf"] == "2026-06-01"
    assert len(before) == len(everything) - 1
    assert all(score["measuredOn"] <= "2026-06-01" for score in before)
    _, versions = await ndjson(api, "/export/versions.ndjson", asOf="2000-01-01")
    assert all(v["announcedOn"] is None and v["releasedOn"] is None for v in versions)
    # The programme's five selections (August 2025), not yet January's eliminations; the
    # targets Upstage stated on 2026-05-30 from that day on.
    _, statuses = await ndjson(api, "/export/participants.ndjson", asOf="2025-12-31")
    assert {(s["lab"], s["status"]) for s in statuses} == {
        (lab, "SELECTED")
        for lab in ("naver-cloud", "lg-ai-research", "sk-telecom", "nc-ai", "upstage")
    }
    _, statuses = await ndjson(api, "/export/participants.ndjson", asOf="2026-01-31")
    assert len(statuses) == 10
    assert (await ndjson(api, "/export/targets.ndjson", asOf="2026-05-29"))[1] == []
    _, targets = await ndjson(api, "/export/targets.ndjson", asOf="2026-05-30")
    assert sorted(t["value"] for t in targets) == ["50", "60"]
    assert {(t["lab"], t["benchmark"], t["model"]) for t in targets} == {
        ("upstage", "aa-intelligence-index", None)
    }


async def test_csv_cells_open_in_a_spreadsheet_as_text(api: Api, database_url: str) -> None:
    conn = await connect(database_url)
    try:
        data = {"slug": "formula", "name": "=HYPERLINK(\"x\")", "country": "FR",
                "description": "Zürich, \"quoted\"\nsecond line"}  # fmt: skip
        await commands.create_lab(conn, "test", validation.parse(inputs.LabInput, data))
    finally:
        await conn.close()
    response = await api.http.get("/export/labs.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    formula = next(row for row in rows if row["slug"] == "formula")
    assert formula["name"] == '\'=HYPERLINK("x")'
    assert formula["description"] == 'Zürich, "quoted"\nsecond line'
    assert formula["archived"] == "false" and formula["foundedYear"] == ""
    assert json.loads(next(row for row in rows if row["slug"] == "upstage")["externalIds"])


def _error(response: Any) -> tuple[int, str, str]:
    [error] = response.json()["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "words"),
    [
        ("/export/labz.ndjson", {}, 404, "NOT_FOUND", "labs.{ndjson|csv}"),
        ("/export/labs.xlsx", {}, 404, "NOT_FOUND", "no export 'labs.xlsx'"),
        ("/export/labs.csv", {"asOf": "yesterday"}, 400, "BAD_USER_INPUT", "asOf"),
        ("/export/labs.csv", {"asof": "2026-01-01"}, 400, "BAD_USER_INPUT", "'asof'"),
    ],
)
async def test_a_bad_export_request_is_one_coded_error_and_one_log_line(
    api: Api,
    caplog: pytest.LogCaptureFixture,
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
    words: str,
) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    status_, code_, message = _error(await api.http.get(path, params=params))
    assert (status_, code_) == (status, code) and words in message
    [line] = [record for record in caplog.records if record.name == "service.access"]
    assert line.fields["error_codes"] == [code] and line.fields["status"] == status  # type: ignore[attr-defined]


async def test_an_export_is_read_with_get(api: Api) -> None:
    response = await api.http.post("/export/labs.ndjson")
    assert _error(response)[:2] == (405, "BAD_REQUEST")
    assert response.headers["allow"] == "GET"


async def test_exports_take_the_tokens_reads_take(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = await issue_token(database_url, "warehouse", Role.READER)
    settings = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False,
        require_reader_token=True,
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger="service.access")
    async with running_api(settings) as api:
        anonymous = await api.http.get("/export/labs.ndjson")
        wrong = await api.http.get("/export/labs.ndjson", headers={"Authorization": "Bearer mrr_x"})
        reader = await api.http.get(
            "/export/labs.csv", headers={"Authorization": f"Bearer {token}"}
        )
    assert _error(anonymous)[:2] == (401, "UNAUTHENTICATED")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert _error(wrong)[:2] == (401, "UNAUTHENTICATED")
    assert reader.status_code == 200 and b"upstage" in reader.content
    lines = [record.fields for record in caplog.records if record.name == "service.access"]  # type: ignore[attr-defined]
    assert [line["token"] for line in lines] == [None, None, "warehouse"]
    assert [line["error_codes"] for line in lines] == [["UNAUTHENTICATED"], ["UNAUTHENTICATED"], []]
    assert token not in str(lines)


async def test_exports_past_the_cap_wait_their_turn_with_429(api: Api) -> None:
    endpoint = next(
        getattr(route, "app", None)
        for route in api.app.routes
        if getattr(route, "path", "") == "/export/{name}"
    )
    assert isinstance(endpoint, ExportEndpoint)
    async with contextlib.AsyncExitStack() as running:
        while not endpoint.running.locked():
            await endpoint.running.acquire()
            running.callback(endpoint.running.release)
        response = await api.http.get("/export/labs.ndjson")
        assert _error(response)[:2] == (429, "RATE_LIMITED")
        assert response.headers["retry-after"] == "1"
    assert (await api.http.get("/export/labs.ndjson")).status_code == 200


async def test_the_readme_consumer_exports_then_follows_from_the_export(
    api: Api, database_url: str
) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(readme.consumer_code(readme.read()), namespace)
    items = namespace["export_then_follow"](api.http, "labs")
    _, labs = await ndjson(api, "/export/labs.ndjson")
    seen = [await anext(items) for _ in labs]
    assert seen == [(None, lab) for lab in labs]
    conn = await connect(database_url)
    try:
        data = validation.parse(inputs.LabInput, {"slug": "after", "name": "After"})
        await commands.create_lab(conn, "test", data)
    finally:
        await conn.close()
    cursor, change = await asyncio.wait_for(anext(items), timeout=30)
    assert (change["kind"], change["state"]["slug"]) == ("LAB_CREATED", "after")
    await items.aclose()


async def test_head_tells_the_cursor_without_the_rows(api: Api) -> None:
    head = await api.http.head("/export/scores.csv")
    got = await api.http.get("/export/scores.csv")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["registry-feed-cursor"] == got.headers["registry-feed-cursor"]
    assert head.headers["content-type"] == got.headers["content-type"]


EVERY_TABLE = (
    "sources", "labs", "families", "models", "benchmarks", "versions", "lineage", "programs",
    "participants", "targets", "scores",
)  # fmt: skip


def _dated(table: str, row: dict[str, Any]) -> str | None:
    if table == "versions":
        return row["announcedOn"] or row["releasedOn"]  # type: ignore[no-any-return]
    key = {"scores": "measuredOn", "participants": "effectiveOn", "targets": "statedOn"}[table]
    return row[key]  # type: ignore[no-any-return]


async def test_each_table_holds_each_row_once_as_the_registry_holds_it(
    api: Api, database_url: str
) -> None:
    conn = await connect(database_url)
    try:
        for slug in ("hle", "gpqa"):
            benchmark = {"slug": slug, "name": slug, "scaleMin": 0, "scaleMax": 100}
            benchmark["isIndependent"] = True
            await commands.create_benchmark(
                conn, "test", validation.parse(inputs.BenchmarkInput, benchmark)
            )
        weights = [{"benchmark": "hle", "weight": "0.25"}, {"benchmark": "gpqa", "weight": "0.75"}]
        method = {"benchmark": "aa-intelligence-index", "label": "v2", "effectiveOn": "2026-06-15"}
        await commands.create_benchmark_version(
            conn,
            "test",
            validation.parse(inputs.BenchmarkVersionInput, {**method, "components": weights}),
        )
    finally:
        await conn.close()
    exported: dict[str, list[dict[str, Any]]] = {}
    for table in EVERY_TABLE:  # by the names a user types, not the module's own list
        _, rows = await ndjson(api, f"/export/{table}.ndjson")
        numbers = [ids.decode(row["id"])[1] for row in rows]  # type: ignore[index]
        assert numbers == sorted(set(numbers)), table  # each row once, in id order
        exported[table] = rows
    labs = {lab["slug"]: lab for lab in exported["labs"]}
    assert labs["upstage"]["archived"] is False
    assert labs["upstage"]["externalIds"] == [{"system": "HUGGING_FACE", "key": "upstage"}]
    models = {model["slug"]: model for model in exported["models"]}
    assert models["solar-pro"]["archived"] is False
    assert models["solar-pro"]["family"] == "solar"
    targets = {
        (version["model"], version["label"]): version["hardwareTargets"]
        for version in exported["versions"]
        if version["hardwareTargets"]
    }
    assert [(key, [t["accelerator"] for t in found]) for key, found in targets.items()] == [
        (("solar-pro", "release"), ["GPU"])
    ]
    (index,) = [b for b in exported["benchmarks"] if b["slug"] == "aa-intelligence-index"]
    assert [version["label"] for version in index["versions"]] == ["as reported 2026-05-30", "v2"]
    components = index["versions"][1]["components"]
    assert [(c["benchmark"], float(c["weight"])) for c in components] == [
        ("gpqa", 0.75),
        ("hle", 0.25),
    ]
    for link in exported["lineage"]:
        assert ids.decode(link["parentId"])[0] == "Model"  # type: ignore[index]
        assert ids.decode(link["childId"])[0] == "Model"  # type: ignore[index]
    # asOf the latest date a dated table holds: every row dated up to that day, the day's own
    # included (undated versions always).
    for table in ("versions", "participants", "targets", "scores"):
        rows = exported[table]
        latest = max(day for row in rows if (day := _dated(table, row)) is not None)
        _, bounded = await ndjson(api, f"/export/{table}.ndjson", asOf=latest)
        kept = [row for row in rows if (day := _dated(table, row)) is None or day <= latest]
        expected = [row["id"] for row in kept if table == "versions" or _dated(table, row)]
        assert [row["id"] for row in bounded] == expected, table
