"""The arguments several fields take, each defined (and described) once.

A reference is named after what it names and takes that thing's human key (README, "API
conventions"): a lab, model, benchmark or programme by its slug, a version or benchmark
version by its label beside its model's or benchmark's slug. Pagination arguments are
service.graphql.pagination's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service import enums

Slug = Annotated[
    str, strawberry.argument(description="The slug: the lowercase key, e.g. 'upstage'.")
]
LabRef = Annotated[str, strawberry.argument(description="The lab's slug, e.g. 'upstage'.")]
ModelRef = Annotated[str, strawberry.argument(description="The model's slug, e.g. 'solar-pro-3'.")]
BenchmarkRef = Annotated[
    str,
    strawberry.argument(description="The benchmark's slug, e.g. 'aa-intelligence-index'."),
]
BenchmarkVersionLabel = Annotated[
    str | None,
    strawberry.argument(
        description="The benchmark version's label (e.g. 'v4'); null for the version in "
        "effect on asOf. Versions never mix in one answer."
    ),
]
AsOf = Annotated[
    dt.date | None,
    strawberry.argument(
        description="Answer from what was recorded and measured by this date; null for today (UTC)."
    ),
]
Provenances = Annotated[
    list[enums.Provenance] | None,
    strawberry.argument(description="Count only scores of these provenances; null for all."),
]
Verifications = Annotated[
    list[enums.Verification] | None,
    strawberry.argument(
        description="Count only scores in these verification states; null for all (a "
        "retracted score never counts once retracted)."
    ),
]
TargetProvenances = Annotated[
    list[enums.Provenance] | None,
    strawberry.argument(
        description="Count only scores of these provenances; null for INDEPENDENT and "
        "THIRD_PARTY (a lab's own claim does not meet its target)."
    ),
]
