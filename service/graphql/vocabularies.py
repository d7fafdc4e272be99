"""The registry's vocabularies as GraphQL enums, described where they are defined.

A GraphQL enum takes its name, its values and its descriptions from the vocabulary
(service.enums.Vocabulary): the type's from the class docstring, each value's from its member.
"""

from __future__ import annotations

import inspect
from typing import TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

from service import enums
from service.errors import ErrorCode

V = TypeVar("V", bound=enums.Vocabulary)


def docstring(cls: type) -> str:
    """A class's docstring as a GraphQL description: its paragraphs, each on one line."""
    paragraphs = inspect.cleandoc(cls.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def vocabulary(cls: type[V], *, name: str | None = None) -> type[V]:
    """Register `cls` as a GraphQL enum, with its descriptions; usable as a decorator."""
    strawberry.enum(cls, name=name, description=docstring(cls))
    definition: StrawberryEnumDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = cls[value.name].description
    return cls


for _vocabulary in (
    enums.VersionStage,
    enums.DatePrecision,
    enums.TrainingOrigin,
    enums.Modality,
    enums.NumericPrecision,
    enums.ScoreQualifier,
    enums.Provenance,
    enums.Verification,
    enums.SourceKind,
    enums.LineageRelation,
    enums.ParticipantStatus,
    enums.ExternalSystem,
    enums.FitBasis,
    enums.TargetStatus,
    enums.LineageDirection,
    enums.CrossingGroup,
    enums.OrderDirection,
    enums.WarningCode,
    enums.ClaimStatus,
    enums.ChangeKind,
    enums.ReleaseKind,
):
    vocabulary(_vocabulary)
vocabulary(ErrorCode, name="UserErrorCode")
