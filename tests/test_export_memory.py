"""An export's memory stays flat: the benchmark's dataset at N and 4N scores, exported by
`registry serve` (GET /export/scores.ndjson) and by `registry export`, each in its own
process, whose peak RSS must not grow with the rows.

N is 20,000 here (4N: 80,000); EXPORT_RSS_SCORES=75000 runs it at the benchmark's 300k
(4N), as README's figures were measured.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.config import Scale
from bench.dataset import load
from service import migrate
from tests.database import create_database, drop_database, unique_name

SCORES = int(os.environ.get("EXPORT_RSS_SCORES", "20000"))
# A copy of 3N rows in memory would be tens of MB (asyncpg records, or their encoded lines);
# what a flat export may differ by between two processes is allocator noise.
SLACK_KB = 12 * 1024


def _scale(scores: int) -> Scale:
    models = scores // 50  # bench.config's proportional registry
    return Scale(f"{scores}", labs=models // 20, models=models, scores=scores, sources=models // 3)


@pytest.fixture(scope="module")
async def datasets(server_dsn: str) -> AsyncIterator[dict[int, tuple[str, int]]]:
    """Per target size, the database and how many scores it holds (the generator's rounding)."""
    made: dict[int, tuple[str, int]] = {}
    names = []
    for scores in (SCORES, 4 * SCORES):
        name = unique_name("registry_rss")
        names.append(name)
        dsn = await create_database(server_dsn, name)
        await migrate.upgrade_async(dsn)
        dataset = await load(dsn, _scale(scores))
        made[scores] = dsn, dataset.counts["score"]
    yield made
    for name in names:
        await drop_database(server_dsn, name)


def _env(dsn: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        "REGISTRY_SEED_DEMO": "false",
        "REGISTRY_MIGRATE_ON_START": "false",
        "REGISTRY_RESPONSE_CACHE": "false",
        "REGISTRY_LOG_LEVEL": "warning",
    }


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _served_export(dsn: str) -> tuple[int, int, int]:
    """(lines, peak RSS before, peak RSS after) of `registry serve` streaming the scores."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        env=_env(dsn),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        before = _peak_kb(process.pid)
        lines = 0
        url = f"http://127.0.0.1:{port}/export/scores.ndjson"
        with urllib.request.urlopen(url, timeout=120) as response:
            while chunk := response.read(64 * 1024):
                lines += chunk.count(b"\n")
        return lines, before, _peak_kb(process.pid)
    finally:
        process.kill()
        process.wait()


def _cli_export(dsn: str) -> tuple[int, int]:
    """(lines, peak RSS) of `registry export scores` as its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "export", "scores"],
        env=_env(dsn),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines = 0
    with process.stdout:
        while chunk := process.stdout.read(64 * 1024):
            lines += chunk.count(b"\n")
    _, status, usage = os.wait4(process.pid, 0)  # its own rusage, not every child's
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    return lines, usage.ru_maxrss


async def test_peak_memory_does_not_grow_with_the_rows(
    datasets: dict[int, tuple[str, int]],
) -> None:
    served = {n: await asyncio.to_thread(_served_export, dsn) for n, (dsn, _) in datasets.items()}
    cli = {n: await asyncio.to_thread(_cli_export, dsn) for n, (dsn, _) in datasets.items()}
    small, large = SCORES, 4 * SCORES
    for n, (_, rows) in datasets.items():
        assert served[n][0] == cli[n][0] == rows + 1  # the cursor line, then every score
        print(
            f"{rows} scores: serve peak RSS {served[n][1] // 1024} MB before, "
            f"{served[n][2] // 1024} MB after the export; registry export {cli[n][1] // 1024} MB"
        )
    assert served[large][2] - served[small][2] < SLACK_KB
    assert cli[large][1] - cli[small][1] < SLACK_KB
