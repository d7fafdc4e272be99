"""relay-compiler compiles a `@refetchable` + `@connection` fragment on every connection.

scripts/relay-check (run by .ci/run) installs the pinned compiler and runs
tools/graphql/relay-check.mjs; here it runs when node and that install are present.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import GraphQLObjectType, build_schema, get_named_type

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "schema.graphql"
CHECK = ROOT / "tools" / "graphql" / "relay-check.mjs"
COMPILER = ROOT / "tools" / "graphql" / "node_modules" / ".bin" / "relay-compiler"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not COMPILER.exists(),
    reason="needs node and `npm ci --prefix tools/graphql` (scripts/relay-check does both)",
)


def _relay_check(schema: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(CHECK), str(schema)], capture_output=True, text=True, timeout=300
    )


def _connection_fields() -> list[str]:
    """Fields returning a connection (a type with edges and pageInfo) on Query and Node types."""
    schema = build_schema(SCHEMA.read_text(encoding="utf-8"))
    found = []
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType):
            continue
        if type_ is not schema.query_type and "Node" not in [i.name for i in type_.interfaces]:
            continue
        for name, field in type_.fields.items():
            target = get_named_type(field.type)
            if isinstance(target, GraphQLObjectType) and {"edges", "pageInfo"} <= set(
                target.fields
            ):
                found.append(f"{type_.name}.{name}")
    return found


def test_relay_compiles_a_connection_fragment_each_way_on_every_connection() -> None:
    result = _relay_check(SCHEMA)
    assert result.returncode == 0, result.stdout + result.stderr
    [count] = re.findall(r"relay-check: (\d+) connection fragments", result.stdout)
    connections = _connection_fields()
    assert len(connections) >= 10, connections
    assert int(count) == 2 * len(connections)


def test_a_non_null_page_size_fails_the_check(tmp_path: Path) -> None:
    # What leaderboard's `first: Int! = 20` was: Relay passes $count as a nullable Int.
    sdl = SCHEMA.read_text(encoding="utf-8")
    start = sdl.index("  leaderboard(")
    first = sdl.index("first: Int = null", start)
    broken = tmp_path / "schema.graphql"
    broken.write_text(sdl[:first] + "first: Int! = 20" + sdl[first + len("first: Int = null") :])
    result = _relay_check(broken)
    assert result.returncode != 0
    assert "Variable of type 'Int' cannot be used where 'Int!' is expected" in (
        result.stdout + result.stderr
    )
