"""Exports: every table as NDJSON and CSV, one snapshot, the feed cursor it corresponds to."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from service import commands, ids, inputs, validation
from service.db.pool import connect
from service.export import TABLES
from tests.conftest import Api
from tests.following import follow


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
