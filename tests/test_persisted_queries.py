"""Persisted queries through the HTTP endpoint: Apollo's round trip, and the allow-list.

A frontend sends the SHA-256 of a document instead of its text. In the automatic mode (the
default) an unknown hash is answered PERSISTED_QUERY_NOT_FOUND, the client sends hash and
text, and every replica knows the document from then on. In the allow-list mode only
documents registered with `registry persisted add` run, checked against the limits once, at
registration.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.cli import main
from service.config import Settings
from tests.conftest import Api, running_api

RELAY_OUTPUT = Path(__file__).parent / "fixtures" / "relay_persisted_queries.json"
LAB = 'query LabCountry { lab(slug: "upstage") { id name country { code } } }'
# 20 labs x 100 models x 100 versions: within a budget of a million, not of 50,000.
COSTLY = "query Costly { labs(first: 20) { nodes { id models { id versions { id } } } } }"
MODERN = "application/graphql-response+json"


def is_upstage(data: dict[str, Any] | None) -> bool:
    lab = (data or {}).get("lab") or {}
    global_id = base64.b64decode(lab.get("id", "") + "==").decode()
    return global_id.startswith("Lab:") and (lab["name"], lab["country"]) == (
        "Upstage",
        {"code": "KR"},
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def by_hash(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def stored(database_url: str) -> dict[str, bool]:
    conn = await asyncpg.connect(database_url)
    try:
        found = await conn.fetch("SELECT sha256, registered FROM persisted_document")
    finally:
        await conn.close()
    return {row["sha256"]: row["registered"] for row in found}


def settings(database_url: str, **changes: Any) -> Settings:
    return Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
        **changes,
    )


@asynccontextmanager
async def allowlist(database_url: str, **changes: Any) -> AsyncIterator[Api]:
    async with running_api(settings(database_url, persisted_queries="allowlist", **changes)) as api:
        yield api


async def register(
    database_url: str, monkeypatch: pytest.MonkeyPatch, *files: Path, **env: str
) -> int:
    """`registry persisted add FILE...`, as a frontend's build step runs it."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return await asyncio.to_thread(main, ["persisted", "add", *map(str, files)])


def graphql_file(tmp_path: Path, text: str, name: str = "query.graphql") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_apq_round_trip(api: Api, database_url: str) -> None:
    # The hash alone, unknown: the client is told to send the text, and nothing runs.
    api.queries.clear()
    response = await api.http.post("/graphql", json={"extensions": by_hash(LAB)})
    assert response.status_code == 200
    body = response.json()
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert body["data"] is None
    assert all("persisted_document" in statement for statement in api.queries.statements)

    # Hash and text: verified, stored, run.
    response = await api.http.post("/graphql", json={"query": LAB, "extensions": by_hash(LAB)})
    assert is_upstage(response.json()["data"])
    assert await stored(database_url) == {sha256(LAB): False}

    # From now on the hash alone runs it, on POST and on GET (Accept: */*, as Apollo's).
    response = await api.http.post("/graphql", json={"extensions": by_hash(LAB)})
    assert is_upstage(response.json()["data"])
    response = await api.http.get(
        "/graphql", params={"extensions": json.dumps(by_hash(LAB))}, headers={"accept": "*/*"}
    )
    assert response.status_code == 200, response.text
    assert is_upstage(response.json()["data"])

    # Another replica of the same database knows it too.
    async with running_api(settings(database_url)) as replica:
        response = await replica.http.post("/graphql", json={"extensions": by_hash(LAB)})
    assert is_upstage(response.json()["data"])


async def test_a_hash_that_is_not_the_texts_is_refused(api: Api, database_url: str) -> None:
    other = 'query Other { lab(slug: "openai") { id name } }'
    response = await api.http.post("/graphql", json={"query": other, "extensions": by_hash(LAB)})
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert "SHA-256" in response.json()["errors"][0]["message"]
    assert await stored(database_url) == {}
    # The hash was not taken over by the other text.
    response = await api.http.post("/graphql", json={"extensions": by_hash(LAB)})
    assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    ("extensions", "reason"),
    [
        ({"persistedQuery": "abc"}, "must be an object"),
        ({"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}, "version must be 1"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "xyz"}}, "64 hexadecimal"),
    ],
)
async def test_a_malformed_persisted_query_is_bad_request(
    api: Api, extensions: dict[str, Any], reason: str
) -> None:
    api.queries.clear()
    response = await api.http.post("/graphql", json={"extensions": extensions})
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert reason in response.json()["errors"][0]["message"]
    assert api.queries.statements == []


async def test_only_documents_that_pass_every_check_are_stored(api: Api, database_url: str) -> None:
    invalid = "query Invalid { labz { id } }"
    response = await api.http.post(
        "/graphql", json={"query": invalid, "extensions": by_hash(invalid)}
    )
    assert codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    response = await api.http.post(
        "/graphql", json={"query": COSTLY, "extensions": by_hash(COSTLY)}
    )
    assert set(codes(response.json())) == {"QUERY_TOO_COMPLEX"}
    assert await stored(database_url) == {}


async def test_not_found_is_a_400_without_data_under_the_new_media_type(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"extensions": by_hash(LAB)}, headers={"accept": MODERN}
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": f"no persisted document has hash {sha256(LAB)}; "
                "send the document's text with it",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }


async def test_with_persisted_queries_off_a_hash_is_not_supported(database_url: str) -> None:
    async with running_api(settings(database_url, persisted_queries="off")) as api:
        response = await api.http.post("/graphql", json={"extensions": by_hash(LAB)})
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
        # What Apollo's client does next: the text alone, which runs.
        assert is_upstage(await api.data(LAB))
    assert await stored(database_url) == {}


async def test_the_allow_list_refuses_an_unregistered_document(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    async with allowlist(database_url) as api:
        api.queries.clear()
        caplog.clear()
        response = await api.http.post("/graphql", json={"query": LAB})
        assert response.status_code == 200
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        # Looked up by its hash, never parsed, never run: the document cache is untouched.
        assert all("persisted_document" in s for s in api.queries.statements)
        assert api.app.state.documents.texts.entries == {}
        # One line at INFO: the request's access line, with the code.
        [line] = [
            r for r in caplog.records if r.name.startswith("service") and r.levelname != "DEBUG"
        ]
        assert line.name == "service.access" and line.levelname == "INFO"
        assert line.fields["error_codes"] == ["PERSISTED_QUERY_NOT_ALLOWED"]  # type: ignore[attr-defined]

        # A client cannot register it either, and the new media type answers 403.
        response = await api.http.post(
            "/graphql",
            json={"query": LAB, "extensions": by_hash(LAB)},
            headers={"accept": MODERN},
        )
        assert response.status_code == 403
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        response = await api.http.post("/graphql", json={"extensions": by_hash(LAB)})
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await stored(database_url) == {}


async def test_a_document_stored_by_a_client_does_not_pass_the_allow_list(
    api: Api, database_url: str
) -> None:
    await api.http.post("/graphql", json={"query": LAB, "extensions": by_hash(LAB)})
    assert await stored(database_url) == {sha256(LAB): False}
    async with allowlist(database_url) as strict:
        response = await strict.http.post("/graphql", json={"extensions": by_hash(LAB)})
    assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_registered_document_runs_by_hash(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert await register(database_url, monkeypatch, graphql_file(tmp_path, LAB)) == 0
    assert await stored(database_url) == {sha256(LAB): True}
    async with allowlist(database_url) as api:
        for request in (
            {"json": {"extensions": by_hash(LAB)}},
            {"json": {"documentId": f"sha256:{sha256(LAB)}"}},
            {"json": {"query": LAB}},  # its text is registered too
        ):
            response = await api.http.post("/graphql", **request)
            assert is_upstage(response.json()["data"]), request
        response = await api.http.get(
            "/graphql", params={"documentId": f"sha256:{sha256(LAB)}"}, headers={"accept": "*/*"}
        )
        assert is_upstage(response.json()["data"])
        # Held by hash in the persisted tier, with the compiled plan derived from it; the
        # tier ad-hoc texts share stays empty.
        documents = api.app.state.documents
        assert set(documents.persisted.entries) == {sha256(LAB)}
        assert documents.persisted.get(sha256(LAB)).checked.derived
        assert documents.texts.entries == {}


async def test_limits_are_checked_at_registration_not_per_request(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    path = graphql_file(tmp_path, COSTLY)
    # Over the budget the server runs with: refused, nothing written.
    assert await register(database_url, monkeypatch, path) == 1
    err = capsys.readouterr().err
    assert "refused:" in err and "more than the budget of 50000" in err
    assert await stored(database_url) == {}

    # Registered where the operator granted it a million, it then runs by its hash on a
    # server whose per-request budget would refuse the same text from anyone else.
    assert await register(database_url, monkeypatch, path, REGISTRY_MAX_QUERY_COST="1000000") == 0
    async with allowlist(database_url, max_query_cost=50_000) as api:
        response = await api.http.post("/graphql", json={"extensions": by_hash(COSTLY)})
        body = response.json()
        assert "errors" not in body, body
        assert body["extensions"]["cost"] == {"requested": 202020, "budget": 50_000}
    plain = settings(database_url, persisted_queries="off", max_query_cost=50_000)
    async with running_api(plain) as api:
        response = await api.http.post("/graphql", json={"query": COSTLY})
        assert set(codes(response.json())) == {"QUERY_TOO_COMPLEX"}


async def test_persisted_add_takes_relay_compilers_output(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    relay: dict[str, str] = json.loads(RELAY_OUTPUT.read_text())
    assert await register(database_url, monkeypatch, RELAY_OUTPUT) == 0
    assert "registered 2 documents: 2 new, 0 already there" in capsys.readouterr().out
    assert await stored(database_url) == {sha256(text): True for text in relay.values()}
    # A second run changes nothing.
    assert await register(database_url, monkeypatch, RELAY_OUTPUT) == 0
    assert "0 new, 2 already there" in capsys.readouterr().out

    assert await asyncio.to_thread(main, ["persisted", "list"]) == 0
    listing = capsys.readouterr().out
    for md5, text in relay.items():
        assert sha256(text) in listing
        assert md5 in listing
    assert "AppLabQuery" in listing and "AppLabModelsQuery" in listing

    # The Relay client sends its own id, MD5, as the spec's documentId.
    [(md5, text)] = [(k, v) for k, v in relay.items() if "AppLabQuery(" in v]
    async with allowlist(database_url) as api:
        response = await api.http.post(
            "/graphql", json={"documentId": md5, "variables": {"slug": "upstage"}}
        )
        assert is_upstage(response.json()["data"])
        response = await api.http.post("/graphql", json={"documentId": "0" * 32})
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_build_output_whose_id_is_not_its_hash_is_refused(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    relay: dict[str, str] = json.loads(RELAY_OUTPUT.read_text())
    [first, second] = relay.values()
    output = tmp_path / "persisted.json"
    # One good entry, one whose MD5 id belongs to another text: none is registered.
    output.write_text(
        json.dumps({hashlib.md5(first.encode()).hexdigest(): first, "0" * 32: second})
    )
    assert await register(database_url, monkeypatch, output) == 1
    err = capsys.readouterr().err
    assert "is not the MD5 of its text" in err
    assert "1 of 2 refused; nothing registered" in err
    assert await stored(database_url) == {}


async def test_what_clients_store_is_bounded_in_memory_and_in_postgres(database_url: str) -> None:
    bounded = settings(
        database_url, persisted_queries_cache_entries=2, persisted_queries_max_stored=2
    )
    texts = [f'query Q{i} {{ lab(slug: "upstage") {{ id name }} }}' for i in range(3)]
    async with running_api(bounded) as api:
        for text in texts:
            response = await api.http.post(
                "/graphql", json={"query": text, "extensions": by_hash(text)}
            )
            assert response.json()["data"]["lab"]["name"] == "Upstage"
        documents = api.app.state.documents
        assert list(documents.persisted.entries) == [sha256(t) for t in texts[1:]]
        # The oldest, gone from memory and from PostgreSQL, is asked for again.
        response = await api.http.post("/graphql", json={"extensions": by_hash(texts[0])})
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await stored(database_url) == {sha256(t): False for t in texts[1:]}


async def test_an_id_that_names_another_document_is_refused(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    relay: dict[str, str] = json.loads(RELAY_OUTPUT.read_text())
    [first, second] = relay.values()
    output = tmp_path / "persisted.json"
    # An id of the team's own naming (not a digest, so not checked against the text).
    output.write_text(json.dumps({"app-lab-v1": first}))
    assert await register(database_url, monkeypatch, output) == 0
    capsys.readouterr()
    output.write_text(json.dumps({"app-lab-v1": second}))
    assert await register(database_url, monkeypatch, output) == 1
    err = capsys.readouterr().err
    assert "document_id: 'app-lab-v1' already names another document" in err
    assert await stored(database_url) == {sha256(first): True}
