"""Issue 9's table, one test per row: what a hostile client sends, and what it gets.

Each refused request is answered with its status and a stable `extensions.code` in GraphQL
JSON, and no SQL statement runs for it (the app's QueryLog sees every statement). Timings
belong to scripts/abuse, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from service.config import Settings
from service.enums import Role
from service.graphql.documents import CACHE_BYTES
from tests.conftest import Api, running_api
from tests.writing import issue_token

INDEX = "aa-intelligence-index"


def fan_out(levels: int) -> str:
    """query{...F0} fragment F0 on Query{...F1 ...F1} ... : 2^levels fields once expanded."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def deep_models(depth: int) -> str:
    """model{lab{models{lab{ ... }}}} nested `depth` fields deep."""
    inner = "slug"
    for level in range(depth - 1):
        inner = f"{'lab' if level % 2 == 0 else 'models'} {{ {inner} }}"
    return f'model(slug: "solar-pro") {{ {inner} }}'


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def refused(
    api: Api, status: int, code: str, **request: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    """Send, and check the status, the code and that no SQL ran."""
    api.queries.clear()
    response = await api.http.post("/graphql", **request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert code in codes(body), body
    assert "Traceback" not in response.text
    assert api.queries.statements == []
    return response, body


def limits(body: dict[str, Any]) -> set[str]:
    return {error["extensions"].get("limit") for error in body["errors"]}


async def test_a_fragment_fan_out_is_refused_before_it_is_expanded(api: Api) -> None:
    # 2^20 fields in one selection once expanded; thirty levels (a billion) the same way:
    # each fragment is measured once, so the refusal never expands anything.
    for levels in (20, 30):
        _, body = await refused(api, 200, "QUERY_TOO_COMPLEX", json={"query": fan_out(levels)})
        assert limits(body) == {"selections", "fields"}
        for error in body["errors"]:
            assert error["extensions"]["value"] == 2**levels


def empty_page_fan_out(roots: int, levels: int) -> str:
    """`roots` aliased models, each doubling `levels` times through its lab's models and its
    versions' model, every list an empty page: nothing to answer (cost 0), but each spread of
    each fragment is a field the compiler and validation would walk."""
    fragments = " ".join(
        f"fragment M{i} on Model {{ slug lab {{ models(first: 0) {{ ...M{i + 1} }} }} "
        f"versions(first: 0) {{ model {{ ...M{i + 1} }} }} }}"
        for i in range(levels)
    )
    selections = " ".join(f'm{i}: model(slug: "solar-pro") {{ ...M0 }}' for i in range(roots))
    return f"query FanOut {{ {selections} }} {fragments} fragment M{levels} on Model {{ slug }}"


async def test_a_fan_out_through_empty_pages_is_refused_by_its_expanded_fields(
    api: Api,
) -> None:
    # Lists of first: 0 cost nothing, yet 100 roots of 2^5 expansions each are ~19,000 fields
    # to validate and compile: refused before either runs.
    _, body = await refused(
        api, 200, "QUERY_TOO_COMPLEX", json={"query": empty_page_fan_out(100, 5)}
    )
    assert limits(body) == {"fields"}
    [error] = body["errors"]
    assert error["extensions"]["value"] > error["extensions"]["maximum"] == 5_000
    # One root of the same shape fits every limit and is answered.
    answered = await api.http.post("/graphql", json={"query": empty_page_fan_out(1, 5)})
    assert answered.status_code == 200
    assert "errors" not in answered.json(), answered.text
    assert answered.json()["data"]["m0"]["slug"] == "solar-pro"


async def test_aliases_of_the_deepest_allowed_nesting_are_refused_by_cost(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: {deep_models(12)}" for i in range(60)) + " }"
    _, body = await refused(api, 200, "QUERY_TOO_COMPLEX", json={"query": query})
    assert "cost" in limits(body)
    cost = next(e for e in body["errors"] if e["extensions"]["limit"] == "cost")
    assert cost["extensions"]["value"] > cost["extensions"]["maximum"]


async def test_one_field_repeated_550_times_is_refused(api: Api) -> None:
    query = "{ " + " ".join('model(slug: "x") { slug }' for _ in range(550)) + " }"
    _, body = await refused(api, 200, "QUERY_TOO_COMPLEX", json={"query": query})
    assert limits(body) == {"selections"}


async def test_aliased_leaderboards_are_counted_by_the_cost(api: Api, database_url: str) -> None:
    field = f'leaderboard(benchmark: "{INDEX}", first: 100) {{ totalCount }}'

    def aliased(count: int) -> str:
        return "{ " + " ".join(f"l{i}: {field}" for i in range(count)) + " }"

    # 400 of them: past the token limit before anything else is looked at.
    await refused(api, 200, "GRAPHQL_PARSE_FAILED", json={"query": aliased(400)})
    # 300 weigh 300 x 100: over a budget of 20,000, and past the alias limit.
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        max_query_cost=20_000,
    )
    async with running_api(settings) as tight:
        _, body = await refused(tight, 200, "QUERY_TOO_COMPLEX", json={"query": aliased(300)})
    assert body["extensions"]["cost"] == {"requested": 300 * 100, "budget": 20_000}
    assert limits(body) == {"cost", "aliases", "selections"}


async def test_a_body_over_the_cap_is_refused_before_it_is_read(api: Api) -> None:
    big = b'{"query": "{ __typename }", "x": "' + b"a" * (20 * 1024 * 1024) + b'"}'
    await refused(
        api, 413, "PAYLOAD_TOO_LARGE", content=big, headers={"content-type": "application/json"}
    )

    sent = 0

    async def stream() -> AsyncIterator[bytes]:
        # No Content-Length: counted as it arrives, refused past the cap, the rest unread.
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"a" * (256 * 1024)

    await refused(
        api,
        413,
        "PAYLOAD_TOO_LARGE",
        content=stream(),
        headers={"content-type": "application/json"},
    )
    assert sent < 10
    # Chunked framing wins over a Content-Length sent beside it: the chunks are still counted.
    sent = 0
    headers = {
        "content-type": "application/json",
        "content-length": "10",
        "transfer-encoding": "chunked",
    }
    await refused(api, 413, "PAYLOAD_TOO_LARGE", content=stream(), headers=headers)
    assert sent < 10


async def test_many_large_documents_leave_the_document_cache_bounded(api: Api) -> None:
    for i in range(30):
        query = "{ " + f"a{i}: __typename " + "# padding\n" * 20_000 + "}"
        await refused(api, 200, "QUERY_TOO_COMPLEX", json={"query": query})
    documents = api.app.state.documents
    assert documents.texts.bytes <= CACHE_BYTES
    assert all(
        len(text) <= documents.limits.max_document_length for text in documents.texts.entries
    )


async def test_free_text_is_bounded_before_postgres_sees_it(api: Api) -> None:
    search = "query($text: String!) { search(text: $text) { __typename } }"
    await refused(
        api, 400, "BAD_USER_INPUT", json={"query": search, "variables": {"text": "x" * 20_000}}
    )
    literal = '{ search(text: "' + "x" * 20_000 + '") { __typename } }'
    await refused(api, 200, "BAD_USER_INPUT", json={"query": literal})
    # Within the string limit but past what trigram search takes: the resolver refuses it
    # before asking for a connection.
    await refused(
        api, 200, "BAD_USER_INPUT", json={"query": search, "variables": {"text": "x" * 500}}
    )


async def test_every_statement_has_a_timeout_answered_with_timeout(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
        statement_timeout_ms=300,
    )
    locker = await asyncpg.connect(database_url)
    try:
        async with running_api(settings) as api:
            await locker.execute("BEGIN; LOCK TABLE lab IN ACCESS EXCLUSIVE MODE")
            response = await api.http.post(
                "/graphql", json={"query": '{ lab(slug: "upstage") { name } }'}
            )
            await locker.execute("ROLLBACK")
    finally:
        await locker.close()
    assert response.status_code == 503
    assert codes(response.json()) == ["TIMEOUT"]
    assert response.headers["retry-after"]


async def test_a_busy_pool_answers_timeout_instead_of_queueing(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
        pool_max_size=1,
        pool_acquire_timeout=0.2,
        statement_timeout_ms=5_000,
    )
    locker = await asyncpg.connect(database_url)
    try:
        async with running_api(settings) as api:
            await locker.execute("BEGIN; LOCK TABLE lab IN ACCESS EXCLUSIVE MODE")
            # The first request holds the only connection, waiting on the lock.
            holder = asyncio.create_task(
                api.http.post("/graphql", json={"query": '{ lab(slug: "upstage") { name } }'})
            )
            await asyncio.sleep(0.2)
            response = await api.http.post(
                "/graphql", json={"query": '{ model(slug: "gpt-5.5") { name } }'}
            )
            await locker.execute("ROLLBACK")
            first = await holder
    finally:
        await locker.close()
    assert response.status_code == 503
    assert codes(response.json()) == ["TIMEOUT"]
    assert first.status_code == 200


async def test_an_idempotent_mutation_meets_the_limits_before_any_work(
    api: Api, database_url: str
) -> None:
    token = await issue_token(database_url, "reader-bot", Role.READER)
    mutation = "mutation { " + " ".join(f"a{i}: __typename" for i in range(1_000)) + " }"
    api.queries.clear()
    response = await api.http.post(
        "/graphql",
        json={"query": mutation},
        headers={"authorization": f"Bearer {token}", "idempotency-key": "k-1"},
    )
    assert response.status_code == 200
    assert set(codes(response.json())) == {"QUERY_TOO_COMPLEX"}
    # Only the token was looked up: no idempotency row, no resolver.
    assert all("api_token" in statement for statement in api.queries.statements)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b'{"query": "{ __typename }", "x": "\xff\xfe"}', "invalid UTF-8"),
        (b"42", "a number"),
        (b"[]", "an empty batch"),
        (b'{"query": "{ __typename }", "operationName": {}}', "an object operationName"),
        (b'{"query": "{ __typename }", "operationName": []}', "a list operationName"),
        (b'{"query": "{ __typename }", "variables": {"x": NaN}}', "NaN, which is not JSON"),
        (
            b'{"query": "{ __typename }", "variables": {"x": ' + b"[" * 500 + b"]" * 500 + b"}}",
            "variables nested 500 deep",
        ),
        (
            b'{"query": "{ __typename }", "variables": {"x": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "variables nested 100k deep",
        ),
    ],
)
async def test_a_malformed_request_is_a_400_in_graphql_json(
    api: Api, content: bytes, what: str
) -> None:
    _, body = await refused(
        api,
        400,
        codes_for_malformed(what),
        content=content,
        headers={"content-type": "application/json"},
    )
    assert body["errors"][0]["message"]


async def test_a_get_request_meets_the_same_refusals(api: Api) -> None:
    for params, status, code in [
        # Writes are POST only: the spec's 405, which says what is allowed.
        ({"query": "mutation { __typename }"}, 405, "BAD_REQUEST"),
        ({"query": "{ __typename }", "variables": "{not json"}, 400, "BAD_REQUEST"),
        ({"query": "{ __typename }", "variables": '{"x": "\\u0000"}'}, 400, "BAD_USER_INPUT"),
    ]:
        api.queries.clear()
        response = await api.http.get("/graphql", params=params)
        assert response.status_code == status, response.text
        assert codes(response.json()) == [code]
        assert api.queries.statements == []
        if status == 405:
            assert response.headers["allow"] == "POST"


def codes_for_malformed(what: str) -> str:
    return "BAD_USER_INPUT" if "nested 500" in what else "BAD_REQUEST"


@asynccontextmanager
async def proxied(dsn: str) -> AsyncIterator[tuple[str, Callable[[], None]]]:
    """A TCP proxy in front of the database, and a function that takes it down for good."""
    target = urlsplit(dsn)
    streams: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream = await asyncio.open_connection(target.hostname, target.port)
        streams.extend([writer, upstream])
        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def down() -> None:
        server.close()  # no new connections: refused
        for stream in streams:  # and every open one cut, as when the server goes away
            stream.close()

    try:
        yield target._replace(netloc=f"{target.username}@127.0.0.1:{port}").geturl(), down
    finally:
        down()


async def test_compiled_queries_while_the_database_is_down_get_503(database_url: str) -> None:
    async with proxied(database_url) as (url, down):
        settings = Settings(
            database_url=url, migrate_on_start=False, seed_demo=False, response_cache=False
        )
        async with running_api(settings) as api:
            compiled = '{ model(slug: "gpt-5.5") { name } }'
            assert (await api.data(compiled))["model"] == {"name": "GPT-5.5"}
            down()
            answers = [
                await api.http.post("/graphql", json={"query": compiled}),
                await api.http.post("/graphql", json={"query": "{ labs { totalCount } }"}),
            ]
    for response in answers:
        assert response.status_code == 503, response.text
        assert codes(response.json()) == ["DATABASE_UNAVAILABLE"]
        assert response.headers["retry-after"]


@pytest.mark.parametrize(
    ("query", "variables", "named"),
    [
        (
            'query($d: Date!) { leaderboard(benchmark: "x", asOf: $d) { asOf } }',
            {"d": "2026-02-30"},
            "$d",
        ),
        (
            'query($s: [VersionStage!]) { leaderboard(benchmark: "x", stages: $s) { asOf } }',
            {"s": ["BETA"]},
            "$s",
        ),
        ('query($n: Int!) { search(text: "solar", first: $n) { __typename } }', {"n": "abc"}, "$n"),
        (
            "query($m: Float!) { models(filter: {fitsMemoryGb: $m}) { totalCount } }",
            {"m": "NaN"},
            "$m",
        ),
    ],
)
async def test_a_variable_that_does_not_coerce_is_named(
    api: Api, query: str, variables: dict[str, Any], named: str
) -> None:
    _, body = await refused(
        api, 200, "BAD_USER_INPUT", json={"query": query, "variables": variables}
    )
    assert named in body["errors"][0]["message"]
    assert body["data"] is None


async def test_a_nul_character_in_any_string_is_bad_user_input(api: Api) -> None:
    await refused(
        api, 200, "BAD_USER_INPUT", json={"query": '{ model(slug: "a\\u0000") { name } }'}
    )
    await refused(
        api,
        400,
        "BAD_USER_INPUT",
        json={"query": "query($s: String!) { model(slug: $s) { name } }", "variables": {"s": "\0"}},
    )


async def test_client_errors_log_one_line_and_faults_one_traceback(
    api: Api, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await api.http.post("/graphql", json={"query": "{ labs { nope } }"})
    await api.http.post("/graphql", json={"query": "{ labs { "})
    await api.http.post("/graphql", content=b"42", headers={"content-type": "application/json"})
    client = [record for record in caplog.records if record.name.startswith("service")]
    assert len(client) == 3
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in client)

    caplog.clear()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE model_version RENAME TO model_version_gone")
    finally:
        await conn.close()
    response = await api.http.post(
        "/graphql",
        json={"query": '{ model(slug: "gpt-5.5") { versions { label } } }'},
        headers={"x-request-id": "req-42"},
    )
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    faults = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(faults) == 1
    assert "req-42" in faults[0].getMessage()
    assert faults[0].exc_info is not None


async def test_failed_authentication_is_throttled_per_address(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        auth_failures_per_minute=3,
    )
    async with running_api(settings) as api:
        for _ in range(3):
            response = await api.http.post(
                "/graphql",
                json={"query": "{ __typename }"},
                headers={"authorization": "Bearer mrr_guess"},
            )
            assert codes(response.json()) == ["UNAUTHENTICATED"]
        _, body = await refused(
            api,
            429,
            "RATE_LIMITED",
            json={"query": "{ __typename }"},
            headers={"authorization": "Bearer mrr_guess"},
        )
        response, _ = await refused(
            api,
            429,
            "RATE_LIMITED",
            json={"query": "{ __typename }"},
            headers={"authorization": "Bearer mrr_another"},
        )
        assert 0 < int(response.headers["retry-after"]) <= 60
        # Anonymous reads from the same address are not held back.
        anonymous = await api.http.post("/graphql", json={"query": "{ __typename }"})
        assert anonymous.json() == {
            "data": {"__typename": "Query"},
            "extensions": {"cost": {"requested": 0, "budget": 50_000}},
        }


async def test_headers_past_the_cap_are_refused(api: Api) -> None:
    await refused(
        api,
        431,
        "HEADERS_TOO_LARGE",
        json={"query": "{ __typename }"},
        headers={"x-big": "a" * 20_000},
    )


async def test_every_answer_states_its_cost(api: Api) -> None:
    body = await api.graphql(
        f'{{ leaderboard(benchmark: "{INDEX}", first: 4) {{ edges {{ node {{ rank }} }} }} }}'
    )
    # Four items: the leaderboard's first (its edges and nodes are those items).
    assert body["extensions"]["cost"] == {"requested": 4, "budget": 50_000}


async def test_production_turns_graphiql_introspection_and_suggestions_off(
    database_url: str,
) -> None:
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        environment="production",
    )
    async with running_api(settings) as api:
        page = await api.http.get("/graphql", headers={"accept": "text/html"})
        _, introspection = await refused(
            api, 200, "GRAPHQL_VALIDATION_FAILED", json={"query": "{ __schema { types { name } } }"}
        )
        _, typo = await refused(
            api, 200, "GRAPHQL_VALIDATION_FAILED", json={"query": "{ labz { totalCount } }"}
        )
    assert page.status_code == 404
    assert codes(page.json()) == ["NOT_FOUND"]
    assert "introspection" in introspection["errors"][0]["message"]
    assert "Did you mean" not in typo["errors"][0]["message"]


async def test_development_serves_graphiql_and_suggestions(api: Api) -> None:
    page = await api.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    _, typo = await refused(
        api, 200, "GRAPHQL_VALIDATION_FAILED", json={"query": "{ labz { totalCount } }"}
    )
    assert "Did you mean" in typo["errors"][0]["message"]
