"""An export the database fails under mid-stream: one coded log line, and a body the client
can tell is cut short (NDJSON's `error` line, and no final chunk for either format).

`registry serve` runs as its own process (uvicorn's HTTP, not the test's ASGI transport, is
what decides how a cut body looks on the wire); the test reads a few rows of a 20,000-score
export through a small receive buffer, so the server is held mid-stream, then terminates the
export's backend with pg_terminate_backend and reads on.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.config import Scale
from bench.dataset import load
from service import migrate
from tests.database import create_database, drop_database, unique_name

SCORES = 20_000
# What identifies the scores export's statement in pg_stat_activity.
SCORES_STATEMENT = '%AS "benchmarkVersionId"%'


@pytest.fixture(scope="module")
async def dataset(server_dsn: str) -> AsyncIterator[str]:
    name = unique_name("registry_cut")
    dsn = await create_database(server_dsn, name)
    await migrate.upgrade_async(dsn)
    models = SCORES // 50
    await load(dsn, Scale("cut", labs=models // 20, models=models, scores=SCORES, sources=50))
    yield dsn
    await drop_database(server_dsn, name)


def _free_port() -> int:
    while True:
        port = random.randint(18000, 18999)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@contextmanager
def _serve(dsn: str, log: Path) -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REGISTRY_SEED_DEMO": "false",
        "REGISTRY_MIGRATE_ON_START": "false",
        "REGISTRY_LOG_LEVEL": "info",
        "REGISTRY_LOG_FORMAT": "json",
    }
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _open(port: int, path: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """GET through a small receive buffer: a reader that stops reading holds the server."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(60)
    sock.connect(("127.0.0.1", port))
    connection.sock = sock
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("transfer-encoding") == "chunked"
    return connection, response


async def _terminate_export(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(100):
            pids = await conn.fetch(
                """SELECT pid FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()
                     AND query LIKE $1""",
                SCORES_STATEMENT,
            )
            if pids:
                break
            await asyncio.sleep(0.05)
        [pid] = pids
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid["pid"])
    finally:
        await conn.close()


def _log_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
async def test_a_database_failure_mid_export_is_one_coded_line_and_a_cut_body(
    dataset: str, tmp_path: Path, fmt: str
) -> None:
    log = tmp_path / "serve.log"
    with _serve(dataset, log) as port:
        connection, response = await asyncio.to_thread(_open, port, f"/export/scores.{fmt}")
        try:
            first = await asyncio.to_thread(response.read, 16 * 1024)
            await _terminate_export(dataset)
            with pytest.raises(http.client.IncompleteRead) as cut:
                await asyncio.to_thread(response.read)
        finally:
            connection.close()
        body = first + cut.value.partial
        # The process serves on: a new export reads through a new connection.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/export/labs.{fmt}") as again:
            assert again.status == 200 and len(again.read()) > 0
    lines = body.decode().splitlines()
    rows = len(lines) - 1  # the head line (NDJSON) or the header row (CSV)
    if fmt == "ndjson":
        trailer = json.loads(lines[-1])
        assert trailer["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert trailer["error"]["requestId"]
        rows -= 1
    else:
        assert "error" not in lines[-1]
    assert 0 < rows < SCORES  # rows were sent, not all of them
    records = _log_lines(log)
    assert not any("exception" in record for record in records), records  # no traceback
    assert "Traceback" not in log.read_text()
    [cut_line] = [r for r in records if "cut short" in r["message"]]
    assert cut_line["level"] == "warning" and "DATABASE_UNAVAILABLE" in cut_line["message"]
    assert not any("without completing response" in r["message"] for r in records)
    [access] = [r for r in records if r.get("path") == f"/export/scores.{fmt}"]
    assert access["error_codes"] == ["DATABASE_UNAVAILABLE"]
    assert access["request_id"] == cut_line["request_id"]


async def test_registry_export_cut_short_says_so_in_one_line_and_leaves_no_file(
    dataset: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": dataset, "REGISTRY_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "export", "scores"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    first = await asyncio.to_thread(process.stdout.read, 16 * 1024)  # the pipe holds it back
    await _terminate_export(dataset)
    rest, err = await asyncio.to_thread(process.communicate)
    assert process.returncode == 1
    assert len((first + rest).splitlines()) < SCORES
    said = err.decode()
    assert "Traceback" not in said
    [line] = [line for line in said.splitlines() if "cut short" in line]
    assert line.startswith("registry: export of scores cut short: DATABASE_UNAVAILABLE")
    # With --dir, no file that looks whole (nor its .part) is left. The .part file is a FIFO
    # here, so that the export waits for the test's reads as it does for a pipe.
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "scores.ndjson.part")
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "export", "scores", "--dir", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    with (out / "scores.ndjson.part").open("rb") as part:
        await asyncio.to_thread(part.read, 16 * 1024)
        await _terminate_export(dataset)
        await asyncio.to_thread(part.read)
    _, err = await asyncio.to_thread(process.communicate)
    assert process.returncode == 1 and b"DATABASE_UNAVAILABLE" in err
    assert list(out.iterdir()) == []
