"""`registry token create | list | revoke` as an operator runs them."""

from __future__ import annotations

import asyncio
import hashlib
import re

import asyncpg
import pytest

from service.cli import main


def _printed_token(out: str) -> str:
    tokens = [word for word in out.split() if word.startswith("mrr_")]
    assert len(tokens) == 1, out
    return tokens[0]


async def _create(name: str, role: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert await asyncio.to_thread(main, ["token", "create", "--name", name, "--role", role]) == 0
    return _printed_token(capsys.readouterr().out)


@pytest.mark.parametrize("action", ["create", "list", "revoke"])
def test_every_token_action_has_help(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["token", action, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: registry token {action}" in capsys.readouterr().out


async def test_create_prints_the_token_once_and_stores_only_its_digest(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    token = await _create("ci-bot", "editor", capsys)
    # The marker and 32 random bytes, URL-safe base64 without padding: 43 characters.
    assert re.fullmatch(r"mrr_[A-Za-z0-9_-]{43}", token), token
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM api_token WHERE name = 'ci-bot'")
        dump = await conn.fetchval("SELECT string_agg(to_jsonb(t)::text, '') FROM api_token t")
    finally:
        await conn.close()
    assert row is not None
    assert row["role"] == "EDITOR"
    assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
    # The display prefix tells tokens apart: the marker and 8 random characters, no more.
    assert row["token_prefix"] == token[:12]
    assert token[12:] not in dump


async def test_list_shows_tokens_but_never_the_secret(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    token = await _create("reader-one", "reader", capsys)
    assert await asyncio.to_thread(main, ["token", "list"]) == 0
    out = capsys.readouterr().out
    assert "reader-one" in out
    assert "READER" in out
    assert f"{token[:12]}…" in out
    assert token[:13] not in out


async def test_a_duplicate_name_is_a_clear_error(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    await _create("twice", "reader", capsys)
    code = await asyncio.to_thread(main, ["token", "create", "--name", "twice", "--role", "admin"])
    captured = capsys.readouterr()
    assert code == 1
    # The field and the name, as every user error of the CLI says them.
    assert "name: a token named 'twice' already exists" in captured.err
    assert "Traceback" not in captured.err
    assert "mrr_" not in captured.out


async def test_revoke_is_idempotent_and_unknown_names_fail(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    await _create("leaked", "admin", capsys)
    assert await asyncio.to_thread(main, ["token", "revoke", "--name", "leaked"]) == 0
    conn = await asyncpg.connect(database_url)
    try:
        first = await conn.fetchval("SELECT revoked_at FROM api_token WHERE name = 'leaked'")
        assert await asyncio.to_thread(main, ["token", "revoke", "--name", "leaked"]) == 0
        second = await conn.fetchval("SELECT revoked_at FROM api_token WHERE name = 'leaked'")
    finally:
        await conn.close()
    assert first is not None
    assert second == first
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["token", "revoke", "--name", "nobody"]) == 1
    err = capsys.readouterr().err
    assert "no token named 'nobody'" in err
    assert "Traceback" not in err


def test_an_unknown_role_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "create", "--name", "x", "--role", "owner"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
