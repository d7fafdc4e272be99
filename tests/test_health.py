from __future__ import annotations

import asyncpg

from service.config import Settings
from tests.conftest import Api, running_api


async def test_healthz_answers_while_the_process_lives(api: Api) -> None:
    response = await api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_answers(api: Api) -> None:
    response = await api.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_unavailable_when_the_database_is_gone(
    server_dsn: str, database_url: str
) -> None:
    settings = Settings(database_url=database_url, migrate_on_start=False, seed_demo=False)
    async with running_api(settings) as api:
        admin = await asyncpg.connect(server_dsn)
        try:
            name = database_url.rsplit("/", 1)[1]
            await api.http.get("/readyz")
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
            response = await api.http.get("/readyz")
        finally:
            await admin.close()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
