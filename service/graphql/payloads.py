"""Mutation payloads: the written object, or `userErrors` saying why nothing was written.

Payloads are shared by the mutations that return the same kind of object (createLab,
updateLab, archiveLab and restoreLab all return a LabPayload). Updatable objects come with
their new `revision`, the `expectedRevision` of the next update. `warnings` are what a write
did not refuse but the client should look at: a new lab or model that probably duplicates a
recorded one.
"""

from __future__ import annotations

import strawberry

from service.enums import WarningCode
from service.errors import ErrorCode, UserError
from service.graphql.context import Info
from service.graphql.types import (
    Benchmark,
    BenchmarkVersion,
    ExternalId,
    Lab,
    LineageLink,
    Model,
    Node,
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


strawberry.enum(WarningCode, description="Why a write was let through with a warning.")


@strawberry.type(name="Warning", description="A write let through that deserves a look.")
class WarningType:
    code: WarningCode = strawberry.field(
        description="KNOWN_EXTERNAL_ID: the slug or name is another registry's key for a "
        "recorded row; SIMILAR_NAME: it resembles a recorded row's."
    )
    field: str = strawberry.field(description="The input field that resembles, camelCase.")
    message: str = strawberry.field(description="What it resembles, for a person to read.")
    existing_type: strawberry.Private[str]
    existing_id: strawberry.Private[int]

    @strawberry.field(description="The recorded lab or model this one probably duplicates.")
    async def existing(self, info: Info) -> Node | None:
        loader = info.context.loaders.by_type(self.existing_type)
        row = None if loader is None else await loader.load(self.existing_id)
        if row is None:
            return None
        return Lab.from_record(row) if self.existing_type == "Lab" else Model.from_record(row)


@strawberry.type
class LabPayload:
    lab: Lab | None
    revision: int | None
    user_errors: list[UserErrorType]
    warnings: list[WarningType] = strawberry.field(
        description="createLab: labs this one probably duplicates (the lab was created)."
    )


@strawberry.type
class ModelPayload:
    model: Model | None
    revision: int | None
    user_errors: list[UserErrorType]
    warnings: list[WarningType] = strawberry.field(
        description="createModel: models this one probably duplicates (the model was created)."
    )


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
