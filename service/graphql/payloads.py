"""Mutation payloads: the written object, or `userErrors` saying why nothing was written.

Payloads are shared by the mutations that return the same kind of object (createLab,
updateLab, archiveLab and restoreLab all return a LabPayload). Updatable objects come with
their new `revision`, the `expectedRevision` of the next update.
"""

from __future__ import annotations

import strawberry

from service.errors import ErrorCode, UserError
from service.graphql.types import (
    Benchmark,
    BenchmarkVersion,
    ExternalId,
    Lab,
    LineageLink,
    Model,
    ParticipantStatusChange,
    Program,
    Score,
    Source,
    Target,
    Version,
)

strawberry.enum(ErrorCode, name="UserErrorCode", description="Why a mutation wrote nothing.")


@strawberry.type(name="UserError", description="One reason a mutation was refused.")
class UserErrorType:
    field: str = strawberry.field(
        description="The input field at fault, camelCase, dotted into lists ('targets.0.source')."
    )
    code: ErrorCode
    message: str

    @classmethod
    def of(cls, error: UserError) -> UserErrorType:
        return cls(field=error.field, code=error.code, message=error.message)


@strawberry.type
class LabPayload:
    lab: Lab | None
    revision: int | None
    user_errors: list[UserErrorType]


@strawberry.type
class ModelPayload:
    model: Model | None
    revision: int | None
    user_errors: list[UserErrorType]


@strawberry.type
class VersionPayload:
    version: Version | None
    revision: int | None
    user_errors: list[UserErrorType]


@strawberry.type
class BenchmarkPayload:
    benchmark: Benchmark | None
    user_errors: list[UserErrorType]


@strawberry.type
class BenchmarkVersionPayload:
    benchmark_version: BenchmarkVersion | None
    user_errors: list[UserErrorType]


@strawberry.type(description="The score written; `score.supersedes` is what a correction fixed.")
class ScorePayload:
    score: Score | None
    user_errors: list[UserErrorType]


@strawberry.type(description="The link written, or the link removed by unlinkModels.")
class LineageLinkPayload:
    link: LineageLink | None
    user_errors: list[UserErrorType]


@strawberry.type
class ProgramPayload:
    program: Program | None
    user_errors: list[UserErrorType]


@strawberry.type
class ParticipantStatusPayload:
    status_change: ParticipantStatusChange | None
    user_errors: list[UserErrorType]


@strawberry.type
class TargetPayload:
    target: Target | None
    user_errors: list[UserErrorType]


@strawberry.type
class SourcePayload:
    source: Source | None
    user_errors: list[UserErrorType]


@strawberry.type
class ExternalIdPayload:
    external_id: ExternalId | None
    user_errors: list[UserErrorType]
