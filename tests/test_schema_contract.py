"""schema/schema.graphql is the API's contract: the code must export exactly that file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graphql import GraphQLEnumType

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


def test_every_enum_and_value_is_described_where_it_is_defined() -> None:
    # graphql-schema-linter (scripts/schema-check) checks the SDL; this checks the source of
    # the descriptions: a vocabulary member without one would fall back to nothing.
    schema = build_schema()._schema
    enums = [t for t in schema.type_map.values() if isinstance(t, GraphQLEnumType)]
    assert len(enums) > 20
    for enum in enums:
        if enum.name.startswith("__"):
            continue
        assert enum.description, enum.name
        for name, value in enum.values.items():
            assert value.description, f"{enum.name}.{name}"
            assert not value.description[0].islower(), f"{enum.name}.{name}"


@pytest.mark.parametrize(
    "first", ["service.graphql.compiler", "service.graphql.types", "service.graphql.fastpath"]
)
def test_the_schema_builds_whichever_module_is_imported_first(first: str) -> None:
    # A fresh interpreter, as a script or tool has: the enums must be registered before any
    # type names one, whatever imports the GraphQL layer first.
    code = f"import {first}\nfrom service.graphql.schema import build_schema\nbuild_schema()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
