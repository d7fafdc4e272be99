"""schema/schema.graphql is the API's contract: the code must export exactly that file."""

from __future__ import annotations

from pathlib import Path

from service.cli import main
from service.graphql.schema import build_schema

CHECKED_IN = Path(__file__).resolve().parents[1] / "schema" / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"
    assert CHECKED_IN.read_text(encoding="utf-8") == exported, (
        "schema/schema.graphql is stale: run `registry export-schema` and review the diff"
    )


def test_export_schema_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "schema.graphql"
    assert main(["export-schema", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == CHECKED_IN.read_text(encoding="utf-8")
