"""Database fixtures: a real PostgreSQL, the embedded one unless TEST_DATABASE_URL names one."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from service.app import create_app, serving
from service.config import Settings
from service.embedded import EmbeddedPostgres
from tests.database import build_template, create_database, drop_database, unique_name


@pytest.fixture(scope="session")
def server_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A DSN for a maintenance database on a server where tests may create databases."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    data_dir: Path = tmp_path_factory.mktemp("embedded") / "pgdata"
    with EmbeddedPostgres(data_dir, fast_unsafe=True) as dsn:
        yield dsn


@pytest.fixture(scope="session")
async def template_name(server_dsn: str) -> AsyncIterator[str]:
    name = unique_name("registry_template")
    await build_template(server_dsn, name)
    yield name
    await drop_database(server_dsn, name)


@pytest.fixture
async def database_url(server_dsn: str, template_name: str) -> AsyncIterator[str]:
    """A fresh copy of the seeded template, dropped after the test."""
    name = unique_name("registry_test")
    dsn = await create_database(server_dsn, name, template=template_name)
    yield dsn
    await drop_database(server_dsn, name)


@pytest.fixture
async def empty_database_url(server_dsn: str) -> AsyncIterator[str]:
    """A database with no tables at all, for migration tests."""
    name = unique_name("registry_empty")
    dsn = await create_database(server_dsn, name)
    yield dsn
    await drop_database(server_dsn, name)


# asyncpg looks up unfamiliar types once per connection, switching JIT off around it.
_DRIVER_INTROSPECTION = ("typeinfo_tree", "current_setting('jit')", "set_config('jit'")


@dataclass
class QueryLog:
    """The SQL statements the service sent, without asyncpg's own type introspection."""

    statements: list[str] = field(default_factory=list)

    def __call__(self, query: str) -> None:
        if not any(marker in query for marker in _DRIVER_INTROSPECTION):
            self.statements.append(query)

    def clear(self) -> None:
        self.statements.clear()


@dataclass
class Api:
    """The service over ASGI, as a frontend sees it."""

    http: httpx.AsyncClient
    queries: QueryLog
    app: Starlette

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.graphql(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@asynccontextmanager
async def running_api(
    settings: Settings, *, on_fatal: Callable[[str], None] | None = None
) -> AsyncIterator[Api]:
    queries = QueryLog()
    app = create_app(settings, on_query=queries, on_fatal=on_fatal)
    # httpx's ASGI transport runs no lifespan: `serving` runs it, as `registry serve` does.
    async with serving(app) as served:
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            yield Api(http=http, queries=queries, app=app)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    # Tests write rows with plain SQL between queries; the cache has tests of its own.
    settings = Settings(
        database_url=database_url, migrate_on_start=False, seed_demo=False, response_cache=False
    )
    async with running_api(settings) as api:
        yield api


MakePg = Callable[[Path], EmbeddedPostgres]


@pytest.fixture
def make_pg() -> Iterator[MakePg]:
    """Embedded servers built by a test, stopped at teardown whatever the test did."""
    instances: list[EmbeddedPostgres] = []

    def make(data_dir: Path) -> EmbeddedPostgres:
        pg = EmbeddedPostgres(data_dir, fast_unsafe=True)
        instances.append(pg)
        return pg

    yield make
    for pg in reversed(instances):  # attached ones first, owners last
        pg.stop()
