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
            note=row["note"],
            source_id=row["source_id"],
            benchmark_version_id=row["benchmark_version_id"],
            version_id=row["version_id"],
            supersedes_id=row["supersedes_id"],
            evidence_score_id=row["evidence_score_id"],
        )

    @strawberry.field(description="The version measured.")
    async def version(self, info: Info) -> Version:
        row = await info.context.loaders.version.load(self.version_id)
        assert row is not None, "score.version_id is a foreign key"
        return Version.from_record(row)

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
