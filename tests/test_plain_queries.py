"""The plain query lane answers exactly as strawberry's view would.

A POST of one JSON object (`query`, `variables`, `operationName`) selecting a query skips
strawberry's HTTP layers (RegistryGraphQL._plain_query). The same request with `"extensions":
{}` added means the same thing but takes strawberry's path: each pair must get the same status,
headers and body, on the compiled path, through per-field execution, with errors of every
kind, in both media types, and through the response cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.enums import Role
from service.graphql.view import RegistryGraphQL
from tests import readme
from tests.conftest import Api, running_api
from tests.writing import issue_token

MODEL_PAGE = """query ModelPage($slug: String!) {
  model(slug: $slug) { id name lab { id name country { code } }
    versions { id label stage scores { id value measuredOn provenance } } } }"""

# (document, variables, operation name): answers the lane and strawberry's path must share.
REQUESTS: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (MODEL_PAGE, {"slug": "solar-pro-2"}, None),
    (MODEL_PAGE, {"slug": "solar-pro-2"}, "ModelPage"),
    (MODEL_PAGE, {"slug": "no-such-model"}, None),  # null data, no error
    (MODEL_PAGE, {"slug": 7}, None),  # a variable that does not coerce
    (MODEL_PAGE, None, None),  # a required variable missing
    ("{ model(slug: 1) { id } }", None, None),  # invalid: the document's own error
    ("{ nothing }", None, None),  # invalid: unknown field
    ("{ __typename }", None, None),
    ("query A { __typename } query B { __typename }", None, "B"),
    ("query A { __typename } query B { __typename }", None, None),  # which one?
    ("query A { __typename }", None, "C"),  # no such operation
    ('{ node(id: "TW9kZWw6OTk5OTk=") { id } }', None, None),  # no such node
    ("{ node(id: 42) { id } }", None, None),
    ("mutation { __typename }", None, None),  # not a query: strawberry's path only
    ("subscription { __typename }", None, None),
    *((example.document, None, None) for example in readme.examples(readme.read())),
]
MEDIA = ["application/json", "application/graphql-response+json"]


def _plain(document: str, variables: dict[str, Any] | None, name: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"query": document}
    if variables is not None:
        body["variables"] = variables
    if name is not None:
        body["operationName"] = name
    return body


async def _pair(
    api: Api, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    headers = {"x-request-id": "the-same-id", **headers}
    plain = await api.http.post("/graphql", json=body, headers=headers)
    full = await api.http.post("/graphql", json={**body, "extensions": {}}, headers=headers)
    return plain, full


def _same(plain: httpx.Response, full: httpx.Response) -> None:
    assert plain.status_code == full.status_code, (plain.text, full.text)
    assert plain.content == full.content
    assert plain.headers.multi_items() == full.headers.multi_items()


@pytest.mark.parametrize("media", MEDIA)
@pytest.mark.parametrize(("document", "variables", "name"), REQUESTS)
async def test_a_plain_query_answers_as_strawberrys_path_does(
    api: Api, document: str, variables: dict[str, Any] | None, name: str | None, media: str
) -> None:
    plain, full = await _pair(api, _plain(document, variables, name), {"accept": media})
    _same(plain, full)


async def test_the_lane_answers_without_strawberrys_view(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(self: RegistryGraphQL, request: object) -> None:
        raise AssertionError("strawberry's view ran")

    expected = await api.http.post("/graphql", json=_plain(MODEL_PAGE, {"slug": "solar-pro"}, None))
    monkeypatch.setattr(RegistryGraphQL, "run", refuse)
    plain = await api.http.post("/graphql", json=_plain(MODEL_PAGE, {"slug": "solar-pro"}, None))
    assert plain.status_code == 200
    assert plain.content == expected.content
    assert plain.json()["data"]["model"]["name"] == "Solar Pro"
    # Anything else still goes through the view (which now fails: a masked 500).
    for body in ({"query": "{ __typename }", "extensions": {}}, [{"query": "{ __typename }"}]):
        assert (await api.http.post("/graphql", json=body)).status_code == 500
    assert (await api.http.get("/graphql", params={"query": "{ __typename }"})).status_code == 500


async def test_a_query_with_a_token_is_answered_alike(api: Api, database_url: str) -> None:
    # A token may be refused and throttled before the document is read: strawberry's path.
    token = await issue_token(database_url, "reader", Role.READER)
    body = _plain(MODEL_PAGE, {"slug": "solar-pro"}, None)
    for authorization in (f"Bearer {token}", "Bearer not-a-token", "Basic x"):
        plain, full = await _pair(api, body, {"authorization": authorization})
        _same(plain, full)


@pytest.fixture
async def cached_api(database_url: str) -> AsyncIterator[Api]:
    settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
    async with running_api(settings) as api:
        yield api


async def test_the_response_cache_answers_alike_on_both_paths(cached_api: Api) -> None:
    body = _plain(MODEL_PAGE, {"slug": "solar-pro-2"}, None)
    cache = cached_api.app.state.response_cache
    first, second = await _pair(cached_api, body, {})  # a miss through the lane, then a hit
    again, _ = await _pair(cached_api, body, {})  # a hit through the lane
    _same(first, second)
    _same(first, again)
    assert cache.hits >= 2
