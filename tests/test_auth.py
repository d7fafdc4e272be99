"""Bearer tokens over HTTP, and the role permissions resolvers will use."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
import strawberry
from strawberry.permission import PermissionExtension

from service.auth import (
    ANONYMOUS,
    Principal,
    authenticate,
    display_prefix,
    generate_token,
    hash_token,
)
from service.config import Settings
from service.db import tokens
from service.enums import Role
from service.graphql.errors import ClientError
from service.graphql.permissions import IsAdmin, IsEditor, IsReader
from tests.conftest import Api, running_api

QUERY = "{ labs(first: 1) { nodes { name } } }"


async def _issue(database_url: str, name: str, role: Role, *, revoked: bool = False) -> str:
    token = generate_token()
    conn = await asyncpg.connect(database_url)
    try:
        await tokens.insert(
            conn,
            name=name,
            role=role.value,
            token_prefix=display_prefix(token),
            token_hash=hash_token(token),
        )
        if revoked:
            await tokens.revoke(conn, name)
    finally:
        await conn.close()
    return token


async def _post(api: Api, authorization: str | None = None) -> dict[str, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await api.http.post("/graphql", json={"query": QUERY}, headers=headers)
    # Refusals are GraphQL errors in a normal response, never a 500 or a stack trace.
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    return body


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_anonymous_reads_work_by_default(api: Api) -> None:
    body = await _post(api)
    assert "errors" not in body
    assert body["data"]["labs"]


async def test_a_valid_token_reads_and_records_its_use_once_a_minute(
    api: Api, database_url: str
) -> None:
    token = await _issue(database_url, "reader", Role.READER)
    await _issue(database_url, "idle", Role.READER)
    api.queries.clear()
    assert "errors" not in await _post(api, f"Bearer {token}")
    assert "errors" not in await _post(api, f"bearer {token}")
    assert "errors" not in await _post(api, f" Bearer   {token} ")  # spaces around are no part
    touches = [query for query in api.queries.statements if "UPDATE api_token" in query]
    assert len(touches) == 1
    conn = await asyncpg.connect(database_url)
    try:
        used = await conn.fetch("SELECT name, last_used_at FROM api_token ORDER BY name")
    finally:
        await conn.close()
    # Only the token that was used is stamped; the idle one was never used.
    assert [(row["name"], row["last_used_at"] is not None) for row in used] == [
        ("idle", False),
        ("reader", True),
    ]


MALFORMED = "the Authorization header must be 'Bearer <token>'"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer mrr_not-a-real-token", "the token is not valid"),
        ("Bearer garbage", "the token is not valid"),
        ("Bearer ", MALFORMED),
        ("Basic dXNlcjpwYXNz", MALFORMED),
        ("mrr_without_scheme", MALFORMED),
        ("Bearer two words", MALFORMED),
    ],
)
async def test_a_bad_token_is_unauthenticated_even_for_public_reads(
    api: Api, authorization: str, message: str
) -> None:
    body = await _post(api, authorization)
    assert body["data"] is None
    assert _codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["message"] == message  # a malformed header is told so


async def test_a_revoked_token_is_refused_exactly_like_an_unknown_one(
    api: Api, database_url: str
) -> None:
    token = await _issue(database_url, "gone", Role.ADMIN, revoked=True)
    revoked = await api.http.post(
        "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
    )
    unknown = await api.http.post(
        "/graphql", json={"query": QUERY}, headers={"authorization": "Bearer mrr_" + "x" * 43}
    )
    assert _codes(revoked.json()) == ["UNAUTHENTICATED"]
    # Nothing tells the caller that this token once existed.
    assert (revoked.status_code, revoked.content) == (unknown.status_code, unknown.content)


async def test_a_required_reader_token_refuses_anonymous_requests(database_url: str) -> None:
    token = await _issue(database_url, "reader", Role.READER)
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        require_reader_token=True,
    )
    async with running_api(settings) as api:
        anonymous = await _post(api)
        with_token = await _post(api, f"Bearer {token}")
        health = await api.http.get("/healthz")
        ready = await api.http.get("/readyz")
    assert anonymous["data"] is None
    assert _codes(anonymous) == ["UNAUTHENTICATED"]
    assert "errors" not in with_token
    assert with_token["data"]["labs"]
    assert health.status_code == 200
    assert ready.status_code == 200


# Mutations do not exist yet: a tiny schema shows what the permissions do to a field.
@strawberry.type
class _Query:
    @strawberry.field(extensions=[PermissionExtension([IsReader()])])
    def read(self) -> str:
        return "read"

    @strawberry.field(extensions=[PermissionExtension([IsEditor()])])
    def edit(self) -> str:
        return "edited"

    @strawberry.field(extensions=[PermissionExtension([IsAdmin()])])
    def administer(self) -> str:
        return "administered"


_SCHEMA = strawberry.Schema(query=_Query)
_ANSWERS = {"read": "read", "edit": "edited", "administer": "administered"}


def _run(field: str, principal: Principal) -> tuple[Any, list[Any]]:
    result = _SCHEMA.execute_sync(
        f"{{ {field} }}", context_value=SimpleNamespace(principal=principal)
    )
    errors = result.errors or []
    # ClientErrors are what the real schema's error masking lets through to the client.
    assert all(isinstance(error.original_error, ClientError) for error in errors)
    return result.data, [(error.extensions or {})["code"] for error in errors]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.READER, {"read"}),
        (Role.EDITOR, {"read", "edit"}),
        (Role.ADMIN, {"read", "edit", "administer"}),
    ],
)
def test_roles_are_ordered_reader_editor_admin(role: Role, allowed: set[str]) -> None:
    principal = Principal(name="someone", role=role)
    for field in ("read", "edit", "administer"):
        data, codes = _run(field, principal)
        if field in allowed:
            assert codes == []
            assert data == {field: _ANSWERS[field]}
        else:
            assert data is None
            assert codes == ["FORBIDDEN"]


@pytest.mark.parametrize("field", ["read", "edit", "administer"])
def test_anonymous_callers_are_unauthenticated_not_forbidden(field: str) -> None:
    data, codes = _run(field, ANONYMOUS)
    assert data is None
    assert codes == ["UNAUTHENTICATED"]


async def test_no_authorization_header_names_the_anonymous_caller(database_url: str) -> None:
    # The endpoint skips the lookup without a header; the function's own contract is the same.
    conn = await asyncpg.connect(database_url)
    try:
        assert await authenticate(conn, None) is ANONYMOUS
    finally:
        await conn.close()
