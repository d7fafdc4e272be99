"""scripts/schema-check fails CI on what it guards: a linter finding, a breaking change not
announced in BREAKING.md, and a diff that could not run. (It runs the pinned Node tools.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "schema-check"

RELEASED = '''"""The root."""
type Query {
  """A greeting."""
  hello: String

  """A number."""
  count: Int

  """Where a page stands (the linter's Relay rules want the type)."""
  page: PageInfo
}

"""Relay's page info."""
type PageInfo {
  """More follow."""
  hasNextPage: Boolean!

  """More precede."""
  hasPreviousPage: Boolean!

  """The first cursor."""
  startCursor: String

  """The last cursor."""
  endCursor: String
}
'''
REMOVED = "Field count was removed from object type Query"


def _check(tmp_path: Path, schema: str, announced: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "released.graphql").write_text(RELEASED)
    (tmp_path / "schema.graphql").write_text(schema)
    (tmp_path / "BREAKING.md").write_text(f"# Announced\n\n{announced}\n")
    paths = [str(tmp_path / name) for name in ("schema.graphql", "released.graphql", "BREAKING.md")]
    return subprocess.run(
        [str(SCRIPT), *paths], capture_output=True, text=True, timeout=600, check=False
    )


def test_a_described_schema_with_announced_changes_passes(tmp_path: Path) -> None:
    fewer = RELEASED.replace('\n  """A number."""\n  count: Int\n', "")
    result = _check(tmp_path, fewer, announced=f"- {REMOVED}: clients ask for hello.")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unannounced_breaking_change_fails(tmp_path: Path) -> None:
    fewer = RELEASED.replace('\n  """A number."""\n  count: Int\n', "")
    result = _check(tmp_path, fewer)
    assert result.returncode == 1
    assert f"unannounced breaking change: {REMOVED}" in result.stderr


def test_a_linter_finding_fails(tmp_path: Path) -> None:
    result = _check(tmp_path, RELEASED + "\nextend type Query {\n  undescribed: Int\n}\n")
    assert result.returncode == 1
    assert "Query.undescribed" in result.stdout + result.stderr


def test_a_diff_that_cannot_run_fails(tmp_path: Path) -> None:
    result = _check(tmp_path, RELEASED)
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "released.graphql").write_text("type Query {")
    paths = [str(tmp_path / name) for name in ("schema.graphql", "released.graphql", "BREAKING.md")]
    broken = subprocess.run(
        [str(SCRIPT), *paths], capture_output=True, text=True, timeout=600, check=False
    )
    assert broken.returncode == 1
    assert "did not compare" in broken.stderr
