"""Score: one observation of a version on a benchmark version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from service import enums, ids
from service.graphql.context import Info
from service.graphql.types.benchmarks import BenchmarkVersion
from service.graphql.types.shared import Node, Row
from service.graphql.types.sources import Source, load_source


@strawberry.type(description="A score's verification status from a date, as recorded.")
class VerificationChange:
    verification: enums.Verification = strawberry.field(
        description="The status from changedOn on (until a later change)."
    )
    changed_on: dt.date | None = strawberry.field(
        description="The day the status took effect; null for the status the score was "
        "recorded with (from its measuredOn)."
    )
    recorded_at: dt.datetime | None = strawberry.field(
        description="When the registry recorded the change (null only inside its own write)."
    )
    source_id: strawberry.Private[int | None]
    evidence_score_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> VerificationChange:
        return cls(
            verification=enums.Verification(row["verification"]),
            changed_on=row["changed_on"],
            recorded_at=row["recorded_at"],
            source_id=row["source_id"],
            evidence_score_id=row["evidence_score_id"],
        )

    @strawberry.field(
        description="The source behind it: the score's own for its first status, the "
        "evidence's for a change with evidence."
    )
    async def source(self, info: Info) -> Source | None:
        return await load_source(info, self.source_id)

    @strawberry.field(description="The independent measurement that prompted the change.")
    async def evidence(self, info: Info) -> Score | None:
        return await load_score(info, self.evidence_score_id)


@strawberry.type(description="One observation of a version on a benchmark version.")
class Score(Node):
    value: float = strawberry.field(
        description="The score, on the benchmark's scale (scaleMin to scaleMax)."
    )
    qualifier: enums.ScoreQualifier = strawberry.field(
        description="How the value is meant: EXACT, AT_LEAST, AT_MOST or APPROXIMATE."
    )
    uncertainty: float | None = strawberry.field(
        description="Plus or minus this much, on the same scale; null when none was given."
    )
    run_configuration: JSON = strawberry.field(
        description='How it was run, as reported ({"reasoningEffort": "high"}); {} when not '
        "reported."
    )
    measured_on: dt.date = strawberry.field(
        description="The day it was measured; as of that day on, it counts."
    )
    provenance: enums.Provenance = strawberry.field(
        description="Who measured it: the lab (LAB_CLAIM), an independent evaluator or a third "
        "party."
    )
    verification: enums.Verification = strawberry.field(
        description="Where it stands after review, today."
    )
    verification_changed_on: dt.date | None = strawberry.field(
        description="When the verification last changed (a retraction counts from then)."
    )
    superseded: bool = strawberry.field(description="A later correction replaced this one.")
    recorded_at: dt.datetime | None = strawberry.field(
        description="When the registry recorded it (the transaction time, given at commit: "
        "null only in the answer of the write that records it)."
    )
    note: str | None = strawberry.field(
        description="Anything else, for a person to read; null when nothing."
    )
    source_id: strawberry.Private[int]
    benchmark_version_id: strawberry.Private[int]
    version_id: strawberry.Private[int]
    supersedes_id: strawberry.Private[int | None]
    evidence_score_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> Score:
        uncertainty: Any = row["uncertainty"]
        return cls(
            id=strawberry.ID(ids.encode("Score", row["id"])),
            value=float(row["value"]),
            qualifier=enums.ScoreQualifier(row["qualifier"]),
            uncertainty=None if uncertainty is None else float(uncertainty),
            run_configuration=row["run_configuration"],
            measured_on=row["measured_on"],
            provenance=enums.Provenance(row["provenance"]),
            verification=enums.Verification(row["verification"]),
            verification_changed_on=row["verification_changed_on"],
            superseded=row["superseded"],
            recorded_at=row["recorded_at"],
            note=row["note"],
            source_id=row["source_id"],
            benchmark_version_id=row["benchmark_version_id"],
            version_id=row["version_id"],
            supersedes_id=row["supersedes_id"],
            evidence_score_id=row["evidence_score_id"],
        )

    @classmethod
    def as_known(cls, row: Row) -> Score:
        """The score as it stood at an answer's transaction time: its verification fields are
        its latest change recorded by then (the row's `known_change`)."""
        known = row["known_change"]
        if known is None:  # its status never changed
            return cls.from_record(row)
        return cls.from_record(
            {
                **dict(row.items()),
                "verification": known["verification"],
                "verification_changed_on": known["changed_on"],
                "evidence_score_id": known["evidence_score_id"],
            }
        )

    @strawberry.field(description="The version measured.")
    async def version(self, info: Info) -> Version:
        row = await info.context.loaders.version.load(self.version_id)
        assert row is not None, "score.version_id is a foreign key"
        return Version.from_record(row)

    @strawberry.field(
        description="Its status from the start (UNVERIFIED, say) and every change since, in the "
        "order the registry recorded them."
    )
    async def verification_history(self, info: Info) -> list[VerificationChange]:
        decoded = ids.decode(self.id)
        assert decoded is not None, "a score's id is one the registry encoded"
        rows = await info.context.loaders.verification_changes.load(decoded[1])
        if rows:
            return [VerificationChange.from_record(row) for row in rows]
        # Never changed: the status it was recorded with is its whole history.
        return [
            VerificationChange(
                verification=self.verification,
                changed_on=None,
                recorded_at=self.recorded_at,
                source_id=self.source_id,
                evidence_score_id=None,
            )
        ]

    @strawberry.field(
        description="The observation this one corrects; null for a first observation."
    )
    async def supersedes(self, info: Info) -> Score | None:
        return await load_score(info, self.supersedes_id)

    @strawberry.field(
        description="The measurement that confirms or refutes this claim; null when none is "
        "linked (setScoreVerification links one)."
    )
    async def evidence(self, info: Info) -> Score | None:
        return await load_score(info, self.evidence_score_id)

    @strawberry.field(description="Where the score comes from.")
    async def source(self, info: Info) -> Source:
        source = await load_source(info, self.source_id)
        assert source is not None, "score.source_id is a non-null foreign key"
        return source

    @strawberry.field(description="The method version it was measured on.")
    async def benchmark_version(self, info: Info) -> BenchmarkVersion:
        row = await info.context.loaders.benchmark_version.load(self.benchmark_version_id)
        assert row is not None, "score.benchmark_version_id is a foreign key"
        return BenchmarkVersion.from_record(row)


async def load_score(info: Info, score_id: int | None) -> Score | None:
    if score_id is None:
        return None
    row = await info.context.loaders.score.load(score_id)
    return None if row is None else Score.from_record(row)


# Types of aggregates that refer back to this module's: imported last so that either
# module can be imported first (strawberry resolves the annotations when the schema is built).
from service.graphql.types.versions import Version  # noqa: E402
