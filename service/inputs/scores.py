"""The inputs of score writes: record, correct, verify."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from service.enums import Provenance, ScoreQualifier, Verification
from service.inputs.shared import CLEARED
from service.inputs.sources import SourceRef
from service.validation import (
    FieldError,
    Input,
    Name,
    RunConfiguration,
    ScoreId,
    Slug,
    Text,
    omitted,
)


class ScoreInput(Input):
    """A score: one observation of a version on a benchmark, inside the benchmark's scale."""

    model: Slug = Field(description="The model's slug.")
    version: Name = Field(description="The version's label.")
    benchmark: Slug = Field(description="The benchmark's slug.")
    benchmark_version: Name | None = Field(
        None, description="The method version's label; null: the one in effect on measuredOn."
    )
    value: Decimal = Field(description="The score, within the benchmark's scale.")
    qualifier: ScoreQualifier = Field(
        ScoreQualifier.EXACT, description="How the value bounds the score."
    )
    uncertainty: Decimal | None = Field(None, ge=0, description="Plus or minus; null when none.")
    run_configuration: RunConfiguration = Field(
        default=RunConfiguration({}), description="How it was run, e.g. reasoning effort."
    )
    measured_on: dt.date = Field(description="The day it was measured.")
    provenance: Provenance = Field(description="Who measured it.")
    verification: Verification = Field(
        Verification.UNVERIFIED, description="Whether it has been verified."
    )
    source: SourceRef = Field(description="Where the score comes from.")
    note: Text | None = Field(None, description="Anything else, for a person to read.")


class SupersedeScoreInput(Input):
    """A correction of a score: a new observation that replaces it; the old one stays."""

    score: ScoreId = Field(
        description="The `id` of the score corrected; it stays in history, marked superseded."
    )
    value: Decimal = Field(description="The corrected score, within the benchmark's scale.")
    qualifier: ScoreQualifier = Field(
        ScoreQualifier.EXACT, description="How the value bounds the score."
    )
    uncertainty: Decimal | None = Field(None, ge=0, description="Plus or minus; null when none.")
    run_configuration: RunConfiguration = Field(
        default=RunConfiguration({}), description="How it was run, e.g. reasoning effort."
    )
    measured_on: dt.date = Field(description="The day it was measured; not before the score's.")
    provenance: Provenance | None = Field(
        None, description="Who measured it; null: the corrected score's provenance."
    )
    source: SourceRef = Field(description="Where the correction comes from.")
    note: Text | None = Field(None, description="Anything else, for a person to read.")


class ScoreVerificationInput(Input):
    """Verify, dispute or retract a score, optionally naming the evidence."""

    score: ScoreId = Field(description="The `id` of the score whose verification changes.")
    verification: Verification = Field(description="Its verification from changedOn on.")
    changed_on: dt.date = Field(description="The day it changed; not before the score's.")
    # The measurement that confirms or refutes the claim.
    evidence: ScoreId | None = omitted(
        "The id of the score that confirms or refutes this one, measuring the same model on "
        f"the same benchmark. {CLEARED}"
    )

    def rules(self) -> None:
        if self.evidence == self.score:
            raise FieldError("evidence", "a score cannot be its own evidence")
