"""Helpers of the write tests: tokens, authenticated GraphQL calls, a database checksum."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic.alias_generators import to_camel

from service.auth import display_prefix, generate_token, hash_token
from service.db import tokens
from service.enums import Role
from service.seed import DEMO_DATA
from tests.conftest import Api

USER_ERRORS = "userErrors { field code message }"

# Per table, its rows as jsonb text, sorted, hashed: equal checksums mean equal contents.
# api_token is left out: using a token stamps its last_used_at (bookkeeping, not registry data).
_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'api_token'
ORDER BY table_name
"""
_TABLE_DIGEST = (
    "SELECT md5(coalesce(string_agg(row_text, '|' ORDER BY row_text), '')) "
    "FROM (SELECT to_jsonb(t)::text AS row_text FROM {table} AS t) AS rows"
)


def demo_source(key: str) -> dict[str, Any]:
    """A demo source cited by its details, exactly as the seed file holds them: a write that
    cites it finds the recorded source again instead of recording another."""
    found = next(
        entry
        for entry in tomllib.loads(DEMO_DATA.read_text(encoding="utf-8"))["sources"]
        if entry["key"] == key
    )
    return {"new": {to_camel(name): str(value) for name, value in found.items() if name != "key"}}


async def issue_token(database_url: str, name: str, role: Role) -> str:
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
    finally:
        await conn.close()
    return token


async def checksum(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        tables = [row["table_name"] for row in await conn.fetch(_TABLES)]
        digests = [
            f"{table}:{await conn.fetchval(_TABLE_DIGEST.format(table=table))}" for table in tables
        ]
    finally:
        await conn.close()
    return "|".join(digests)


async def fetchval(database_url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def mutation(name: str, input_type: str, selection: str) -> str:
    return (
        f"mutation Write($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} {USER_ERRORS} }} }}"
    )


@dataclass
class Writer:
    """A client holding one token (or none), as an admin tool would."""

    api: Api
    token: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(self.headers)
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers | (extra or {})

    async def post(
        self, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Any:
        response = await self.api.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=self._headers(headers),
        )
        assert response.status_code == 200, response.text
        assert "Traceback" not in response.text
        return response

    async def run(
        self, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = (await self.post(query, variables, headers)).json()
        return body

    async def write(
        self, name: str, input_type: str, selection: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """The payload of one mutation; GraphQL errors fail the test."""
        body = await self.run(mutation(name, input_type, selection), {"input": data})
        assert "errors" not in body, body["errors"]
        payload: dict[str, Any] = body["data"][name]
        return payload

    async def ok(
        self, name: str, input_type: str, selection: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        payload = await self.write(name, input_type, selection, data)
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload
