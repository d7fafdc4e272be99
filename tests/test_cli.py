"""The `registry` command as a user runs it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from service.cli import main

CHECKSUM = """
SELECT md5(string_agg(t::text, '|' ORDER BY t::text))
FROM (
    SELECT 'lab' AS kind, to_jsonb(lab) - 'created_at' - 'updated_at' AS t FROM lab
    UNION ALL SELECT 'model', to_jsonb(model) - 'created_at' - 'updated_at' FROM model
    UNION ALL SELECT 'version', to_jsonb(v) - 'created_at' - 'updated_at' FROM model_version v
    UNION ALL SELECT 'score', to_jsonb(score) - 'created_at' FROM score
    UNION ALL SELECT 'link', to_jsonb(l) - 'created_at' FROM lineage_link l
    UNION ALL SELECT 'status', to_jsonb(s) FROM participant_status_change s
    UNION ALL SELECT 'target', to_jsonb(t) - 'created_at' FROM target t
    UNION ALL SELECT 'audit', to_jsonb(a) FROM audit_event a
) AS rows (kind, t)
"""


@pytest.mark.parametrize("command", ["serve", "migrate", "seed", "export-schema"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: registry {command}" in capsys.readouterr().out


def test_serve_takes_host_and_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out
    assert "--port" in out


async def _checksum(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        value: str = await conn.fetchval(CHECKSUM)
        return value
    finally:
        await conn.close()


async def test_seed_twice_changes_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = await _checksum(database_url)
    # The CLI runs its own event loop, as it does from a shell.
    assert await asyncio.to_thread(main, ["seed"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert await _checksum(database_url) == before


async def test_seed_fills_an_empty_registry(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    assert await asyncio.to_thread(main, ["migrate"]) == 0
    assert await asyncio.to_thread(main, ["seed"]) == 0
    assert "entries written" in capsys.readouterr().out
    conn = await asyncpg.connect(empty_database_url)
    try:
        scores = await conn.fetchval("SELECT count(*) FROM score")
        audit = await conn.fetchval("SELECT count(*) FROM audit_event WHERE actor = 'demo-seed'")
        writes = await conn.fetchval(
            "SELECT (SELECT count(*) FROM source) + (SELECT count(*) FROM lab)"
            " + (SELECT count(*) FROM model) + (SELECT count(*) FROM score)"
        )
    finally:
        await conn.close()
    assert scores == 8
    # Every write went through a command, and every command left one audit row.
    assert audit >= writes


def test_a_bad_database_url_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err
    assert "Traceback" not in err
