"""The mutations' inputs say what they do: defaults, nulls and constraints are in the schema.

Each input is one pydantic model (service.inputs) and the GraphQL type built from it; these
tests read the schema a client introspects and check it against what the service does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_input_object_type,
    is_non_null_type,
)
from pydantic.alias_generators import to_camel

from service.enums import Role
from service.graphql.schema import build_schema
from tests.conftest import Api
from tests.writing import Writer, demo_source, issue_token

SCHEMA: GraphQLSchema = build_schema(compiled=False)._schema
SOURCE = demo_source("aa-leaderboard")
INDEX = "aa-intelligence-index"


def _mutation_inputs() -> Iterator[GraphQLInputObjectType]:
    """Every input type a mutation takes, nested ones included, once each."""
    assert SCHEMA.mutation_type is not None
    seen: set[str] = set()
    pending = [
        get_named_type(field.args["input"].type) for field in SCHEMA.mutation_type.fields.values()
    ]
    while pending:
        found = pending.pop()
        if not is_input_object_type(found) or found.name in seen:
            continue
        assert isinstance(found, GraphQLInputObjectType)
        seen.add(found.name)
        yield found
        pending.extend(get_named_type(field.type) for field in found.fields.values())


INPUTS = list(_mutation_inputs())


def test_every_input_and_input_field_is_described() -> None:
    assert len(INPUTS) >= 25
    undescribed = [
        f"{input_type.name}.{name}"
        for input_type in INPUTS
        for name, field in [("", input_type), *input_type.fields.items()]
        if not (field.description or "").strip()
    ]
    assert undescribed == []


def test_every_default_the_service_applies_is_in_the_schema() -> None:
    """A field the service defaults is non-null with that default; null is never a value."""
    checked = 0
    for input_type in INPUTS:
        model = input_type.extensions["strawberry-definition"].origin
        for name, info in model.model_fields.items():
            field = input_type.fields[to_camel(name)]
            where = f"{input_type.name}.{to_camel(name)}"
            default = info.get_default(call_default_factory=True)
            if info.is_required():
                assert is_non_null_type(field.type), where
            elif default is None:
                # Null is a value of its own: unknown, cleared, "keep", or one branch not taken.
                assert not is_non_null_type(field.type), where
            else:
                assert is_non_null_type(field.type), where
                assert field.default_value is not Undefined, where
                checked += 1
    assert checked >= 12


def test_defaults_constraints_and_exactly_one_read_in_the_sdl() -> None:
    sdl = build_schema(compiled=False).as_str()
    for shown in (
        "modality: Modality! = TEXT",
        "openWeights: Boolean! = false",
        "qualifier: ScoreQualifier! = EXACT",
        "verification: Verification! = UNVERIFIED",
        "acceleratorCount: Int! = 1",
        "effectivePrecision: DatePrecision! = DAY",
        "hardwareTargets: [HardwareTargetInput!]! = []",
        "input SourceRefInput @oneOf {",
        "input ExternalIdSubjectInput @oneOf {",
    ):
        assert shown in sdl
    lab = SCHEMA.type_map["CreateLabInput"]
    assert isinstance(lab, GraphQLInputObjectType)
    assert (lab.fields["foundedYear"].description or "").endswith("From 1900 to 2100.")
    assert "1 to 100 characters" in (lab.fields["slug"].description or "")
    # An update's field left out keeps the value: no default would fill it in.
    update = SCHEMA.type_map["UpdateLabInput"]
    assert isinstance(update, GraphQLInputObjectType)
    assert update.fields["country"].default_value is Undefined


async def test_null_means_what_the_field_says(api: Api, database_url: str) -> None:
    editor = Writer(api, await issue_token(database_url, "editor-bot", Role.EDITOR))
    # Null where the schema says "null when not known" stores nothing.
    lab = await editor.ok(
        "createLab",
        "CreateLabInput",
        "lab { id slug country { code } foundedYear }",
        {"slug": "nameless", "name": "Nameless", "country": None, "foundedYear": None},
    )
    assert lab["lab"]["country"] is None and lab["lab"]["foundedYear"] is None
    # evidence: left out keeps the one linked, null removes it.
    versions = await api.data(
        '{ model(slug: "solar-next") { versions { label scores { id provenance } } } }'
    )
    claim = next(
        score["id"]
        for version in versions["model"]["versions"]
        for score in version["scores"]
        if score["provenance"] == "LAB_CLAIM"
    )
    measured = await editor.ok(
        "recordScore",
        "RecordScoreInput",
        "score { id }",
        {
            "model": "solar-next",
            "version": "final",
            "benchmark": INDEX,
            "value": 42,
            "measuredOn": "2026-06-10",
            "provenance": "INDEPENDENT",
            "source": SOURCE,
        },
    )
    evidence = measured["score"]["id"]

    async def verify(**given: Any) -> Any:
        payload = await editor.ok(
            "setScoreVerification",
            "SetScoreVerificationInput",
            "score { id verification evidence { id } }",
            {"score": claim, **given},
        )
        return payload["score"]

    linked = await verify(verification="VERIFIED", changedOn="2026-06-11", evidence=evidence)
    assert linked["evidence"] == {"id": evidence}
    kept = await verify(verification="DISPUTED", changedOn="2026-06-12")
    assert kept["evidence"] == {"id": evidence}
    cleared = await verify(verification="UNVERIFIED", changedOn="2026-06-13", evidence=None)
    assert cleared["evidence"] is None
