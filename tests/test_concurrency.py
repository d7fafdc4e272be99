"""Writers racing each other: unique keys, revisions and the lineage graph hold."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.config import Settings
from service.enums import Role
from tests.conftest import Api, running_api
from tests.writing import Writer, fetchval, issue_token

CONCURRENCY = 20


@pytest.fixture
async def wide_api(database_url: str) -> AsyncIterator[Api]:
    # Every request may hold a connection at once; the default pool (10) would queue half.
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        pool_max_size=CONCURRENCY + 5,
    )
    async with running_api(settings) as api:
        yield api


@pytest.fixture
async def editor(wide_api: Api, database_url: str) -> Writer:
    return Writer(wide_api, await issue_token(database_url, "editor-bot", Role.EDITOR))


def _codes(payloads: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        payload["userErrors"][0]["code"] if payload["userErrors"] else "OK" for payload in payloads
    )


async def test_twenty_concurrent_creates_of_one_label_make_one_version(
    editor: Writer, database_url: str
) -> None:
    data = {"model": "solar-next", "label": "2.0", "stage": "FINAL"}
    payloads = await asyncio.gather(
        *(
            editor.write("createVersion", "CreateVersionInput", "version { label }", data)
            for _ in range(CONCURRENCY)
        )
    )
    assert _codes(payloads) == {"OK": 1, "ALREADY_EXISTS": CONCURRENCY - 1}
    assert (
        await fetchval(database_url, "SELECT count(*) FROM model_version WHERE label = '2.0'") == 1
    )
    audited = "SELECT count(*) FROM audit_event WHERE operation = 'createVersion' AND actor = $1"
    assert await fetchval(database_url, audited, "editor-bot") == 1


async def test_twenty_concurrent_updates_of_one_revision_make_one_change(
    editor: Writer, database_url: str
) -> None:
    payloads = await asyncio.gather(
        *(
            editor.write(
                "updateLab",
                "UpdateLabInput",
                "lab { name } revision",
                {"slug": "upstage", "expectedRevision": 1, "name": f"Upstage {index}"},
            )
            for index in range(CONCURRENCY)
        )
    )
    assert _codes(payloads) == {"OK": 1, "CONFLICT": CONCURRENCY - 1}
    winner = next(payload for payload in payloads if not payload["userErrors"])
    assert winner["revision"] == 2
    stored = await fetchval(database_url, "SELECT name FROM lab WHERE slug = 'upstage'")
    assert stored == winner["lab"]["name"]
    assert await fetchval(database_url, "SELECT revision FROM lab WHERE slug = 'upstage'") == 2
    assert (
        await fetchval(
            database_url, "SELECT count(*) FROM audit_event WHERE operation = 'updateLab'"
        )
        == 1
    )


async def test_two_concurrent_links_closing_a_cycle_cannot_both_succeed(
    editor: Writer, database_url: str
) -> None:
    # gpt-5.5 and claude-opus-4.8 are unrelated: either link alone is fine, both make a cycle.
    for _ in range(5):
        payloads = await asyncio.gather(
            editor.write(
                "linkModels",
                "LinkModelsInput",
                "link { relation }",
                {"parent": "gpt-5.5", "child": "claude-opus-4.8", "relation": "DISTILLED"},
            ),
            editor.write(
                "linkModels",
                "LinkModelsInput",
                "link { relation }",
                {"parent": "claude-opus-4.8", "child": "gpt-5.5", "relation": "DISTILLED"},
            ),
        )
        assert _codes(list(payloads)) == {"OK": 1, "CYCLE": 1}
        winner = next(payload for payload in payloads if not payload["userErrors"])
        assert winner["link"] == {"relation": "DISTILLED"}
        # Undo the winning link so the next round races again from an unlinked pair.
        await fetchval(
            database_url,
            "DELETE FROM lineage_link WHERE relation = 'DISTILLED' RETURNING id",
        )


async def test_a_concurrent_archive_and_create_under_the_lab_serialise(
    editor: Writer, database_url: str
) -> None:
    archive, create = await asyncio.gather(
        editor.write("archiveLab", "ArchiveInput", "revision", {"slug": "cohere"}),
        editor.write(
            "createModel",
            "CreateModelInput",
            "model { slug }",
            {"slug": "command-b", "name": "Command B", "lab": "cohere"},
        ),
    )
    assert archive["userErrors"] == []
    created = await fetchval(database_url, "SELECT count(*) FROM model WHERE slug = 'command-b'")
    code = create["userErrors"][0]["code"] if create["userErrors"] else "OK"
    # Either the model came first (and exists) or the archive did (and the create was refused).
    assert (created, code) in {(1, "OK"), (0, "ARCHIVED")}
