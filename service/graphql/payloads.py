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


@strawberry.type(name="UserError", description="One reason a mutation was refused.")
class UserErrorType:
    field: str = strawberry.field(
        description="The input field at fault, camelCase, dotted into lists ('targets.0.source')."
    )
    code: ErrorCode = strawberry.field(description="Why, as a stable code to branch on.")
    message: str = strawberry.field(
        description="What is wrong, in English, for a person to read; its wording may change."
    )

    @classmethod
    def of(cls, error: UserError) -> UserErrorType:
        return cls(field=error.field, code=error.code, message=error.message)


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


@strawberry.type(description="What every payload has: why nothing was written, if it was not.")
class Payload:
    user_errors: list[UserErrorType] = strawberry.field(
        description="Why nothing was written, every refused field at once; empty on success."
    )


_REVISION = (
    "The object's revision after the write: send it as the next update's expectedRevision. "
    "Null when nothing was written."
)
_WRITTEN = "The {} as written (or as archived, restored, removed); null when nothing was."


@strawberry.type(description="The result of createLab, updateLab, archiveLab and restoreLab.")
class LabPayload(Payload):
    lab: Lab | None = strawberry.field(description=_WRITTEN.format("lab"))
    revision: int | None = strawberry.field(description=_REVISION)
    warnings: list[WarningType] = strawberry.field(
        description="After createLab: labs this one probably duplicates (it was created "
        "anyway). Empty after the other mutations."
    )


@strawberry.type(
    description="The result of createModel, updateModel, archiveModel and restoreModel."
)
class ModelPayload(Payload):
    model: Model | None = strawberry.field(description=_WRITTEN.format("model"))
    revision: int | None = strawberry.field(description=_REVISION)
    warnings: list[WarningType] = strawberry.field(
        description="After createModel: models this one probably duplicates (it was created "
        "anyway). Empty after the other mutations."
    )


@strawberry.type(
    description="The result of createVersion, updateVersion, promoteVersion (the new final) "
    "and setHardwareTargets."
)
class VersionPayload(Payload):
    version: Version | None = strawberry.field(description=_WRITTEN.format("version"))
    revision: int | None = strawberry.field(description=_REVISION)


@strawberry.type(description="The result of createBenchmark.")
class BenchmarkPayload(Payload):
    benchmark: Benchmark | None = strawberry.field(description=_WRITTEN.format("benchmark"))


@strawberry.type(description="The result of createBenchmarkVersion.")
class BenchmarkVersionPayload(Payload):
    benchmark_version: BenchmarkVersion | None = strawberry.field(
        description=_WRITTEN.format("benchmark version")
    )


@strawberry.type(
    description="The result of recordScore, supersedeScore (the correction: its `supersedes` "
    "is the score it fixed) and setScoreVerification."
)
class ScorePayload(Payload):
    score: Score | None = strawberry.field(description=_WRITTEN.format("score"))


@strawberry.type(description="The result of linkModels, or the link removed by unlinkModels.")
class LineageLinkPayload(Payload):
    link: LineageLink | None = strawberry.field(description=_WRITTEN.format("link"))


@strawberry.type(description="The result of createProgram.")
class ProgramPayload(Payload):
    program: Program | None = strawberry.field(description=_WRITTEN.format("programme"))


@strawberry.type(description="The result of setParticipantStatus.")
class ParticipantStatusPayload(Payload):
    status_change: ParticipantStatusChange | None = strawberry.field(
        description="The status change recorded; null when nothing was written."
    )


@strawberry.type(description="The result of stateTarget.")
class TargetPayload(Payload):
    target: Target | None = strawberry.field(description=_WRITTEN.format("target"))


@strawberry.type(
    description="The result of addSource; an identical source already recorded is ALREADY_EXISTS."
)
class SourcePayload(Payload):
    source: Source | None = strawberry.field(description=_WRITTEN.format("source"))


@strawberry.type(description="The result of setExternalId.")
class ExternalIdPayload(Payload):
    external_id: ExternalId | None = strawberry.field(description=_WRITTEN.format("external id"))
