"""GraphQL over HTTP as its spec has it: content negotiation, and statuses by media type.

A client that asks for application/json gets what it always got (200 with the errors); one
that asks for application/graphql-response+json gets a 4xx without `data` for a request that
failed before execution, and 200 once execution started. scripts/http-audit runs
graphql-http's own audit against `registry serve`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

JSON = "application/json"
MODERN = "application/graphql-response+json"
TYPENAME = {"query": "{ __typename }"}


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, JSON),  # no Accept: the legacy default
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (MODERN, MODERN),
        (f"{MODERN}; charset=utf-8, {JSON}; charset=utf-8", MODERN),  # the spec's advice
        (f"{MODERN}, {JSON};q=0.9", MODERN),
        (f"{JSON}, {MODERN};q=0.5", JSON),
        (f"{MODERN};q=0, */*", JSON),
        (f"{MODERN}; charset=latin-1, {JSON}", JSON),  # UTF-8 only
        ("text/html, */*;q=0.8", JSON),  # a browser following a link with ?query=
    ],
)
async def test_the_answer_takes_the_media_type_the_client_prefers(
    api: Api, accept: str | None, media: str
) -> None:
    headers = {} if accept is None else {"accept": accept}
    response = await api.http.post("/graphql", json=TYPENAME, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.json()["data"] == {"__typename": "Query"}


async def test_an_accept_header_allowing_neither_type_is_406(api: Api) -> None:
    api.queries.clear()
    response = await api.http.post("/graphql", json=TYPENAME, headers={"accept": "text/plain"})
    assert response.status_code == 406
    assert codes(response.json()) == ["NOT_ACCEPTABLE"]
    assert api.queries.statements == []
    # A browser asking for a page still gets GraphiQL.
    page = await api.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ labz { totalCount } }"}, "GRAPHQL_VALIDATION_FAILED"),
        # An unused variable breaks a validation rule; it is no coercion error.
        (
            {"query": "query Q($id: ID!) { __typename }", "variables": {"id": None}},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            {"query": "query Q($n: Int!) { labs(first: $n) { totalCount } }", "variables": {}},
            "BAD_USER_INPUT",
        ),
        (
            {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"},
            "QUERY_TOO_COMPLEX",
        ),
    ],
)
async def test_a_request_error_is_400_without_data_under_the_new_media_type(
    api: Api, request_body: dict[str, Any], code: str
) -> None:
    modern = await api.http.post("/graphql", json=request_body, headers={"accept": MODERN})
    assert modern.status_code == 400, modern.text
    assert modern.headers["content-type"] == f"{MODERN}; charset=utf-8"
    body = modern.json()
    assert "data" not in body
    assert set(codes(body)) == {code}
    # The same request under application/json: 200 and `data: null`, as it always was.
    legacy = await api.http.post("/graphql", json=request_body, headers={"accept": JSON})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == JSON
    assert legacy.json()["data"] is None
    assert set(codes(legacy.json())) == {code}


async def test_errors_after_execution_started_are_200_with_data(api: Api) -> None:
    # search() refuses the text in its resolver: a field error, so a partial response.
    query = 'query { search(text: "' + "x" * 500 + '") { __typename } }'
    response = await api.http.post("/graphql", json={"query": query}, headers={"accept": MODERN})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" in body
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["search"]


async def test_a_refused_token_is_401_under_the_new_media_type(api: Api) -> None:
    headers = {"authorization": "Bearer mrr_wrong", "accept": MODERN}
    response = await api.http.post("/graphql", json=TYPENAME, headers=headers)
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    legacy = await api.http.post(
        "/graphql", json=TYPENAME, headers={"authorization": "Bearer mrr_wrong"}
    )
    assert legacy.status_code == 200
    assert codes(legacy.json()) == ["UNAUTHENTICATED"]


async def test_refusals_before_graphql_take_the_media_type_too(api: Api) -> None:
    big = b'{"query": "{ __typename }", "x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    response = await api.http.post(
        "/graphql", content=big, headers={"content-type": JSON, "accept": MODERN}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == f"{MODERN}; charset=utf-8"
    assert response.json() == {
        "errors": [
            {
                "message": "the request body exceeds 1048576 bytes",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }
    malformed = await api.http.post(
        "/graphql", content=b"{", headers={"content-type": JSON, "accept": MODERN}
    )
    assert malformed.status_code == 400
    assert "data" not in malformed.json()
    assert codes(malformed.json()) == ["BAD_REQUEST"]


async def test_a_get_request_with_an_empty_operation_name_runs(api: Api) -> None:
    response = await api.http.get(
        "/graphql", params={"query": "query Q { __typename }", "operationName": ""}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


async def test_the_endpoint_takes_get_and_post_and_refuses_other_methods(api: Api) -> None:
    # GET and POST go straight to the view (service.app._Registry); any other method is
    # Starlette's: HEAD reaches the view through the router, the rest are refused there.
    for response in (
        await api.http.get("/graphql", params=TYPENAME),
        await api.http.post("/graphql", json=TYPENAME),
    ):
        assert response.json()["data"] == {"__typename": "Query"}
        assert response.headers["x-request-id"]
    for method in ("PUT", "DELETE", "PATCH"):
        response = await api.http.request(method, "/graphql", json=TYPENAME)
        assert response.status_code == 405
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert (await api.http.head("/graphql")).status_code == 405
