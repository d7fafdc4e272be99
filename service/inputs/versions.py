"""The inputs of version writes, and the rules a version's dates and sizes obey."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import Field

from service.enums import DatePrecision, NumericPrecision, VersionStage
from service.inputs.shared import CLEARED, NOT_NULL, Patch, paired
from service.inputs.sources import SOURCE, SourceRef
from service.validation import (
    ContextWindow,
    Count,
    FieldError,
    Input,
    Name,
    Revision,
    Slug,
    Text,
    omitted,
)


def version_rules(values: Mapping[str, Any]) -> None:
    """The rules a whole version row obeys; checked on inputs and on an update's merged row."""
    paired(values.get("planned_on"), values.get("planned_precision"), "planned")
    paired(values.get("released_on"), values.get("released_precision"), "released")
    total, active = values.get("total_parameters"), values.get("active_parameters")
    if total is not None and active is not None and active > total:
        raise FieldError("active_parameters", "cannot exceed totalParameters")


class HardwareTargetInput(Input):
    """What a version is built to run on."""

    accelerator: Name = Field(description="The accelerator, e.g. 'H100 80GB'.")
    accelerator_count: int = Field(1, gt=0, le=100_000, description="How many of them.")
    memory_gb: Decimal | None = Field(
        None,
        gt=0,
        lt=1_000_000,
        decimal_places=2,
        description="Memory of each accelerator, in GB; null when not stated.",
    )
    precision: NumericPrecision | None = Field(
        None, description="The numeric precision the weights run at; null when not stated."
    )
    note: Text | None = Field(None, description="Anything else, for a person to read.")
    source: SourceRef | None = Field(None, description=SOURCE)


class VersionFacts(Input):
    """What a new version states about itself: shared by createVersion and promoteVersion."""

    model: Slug = Field(description="The model's slug.")
    label: Name = Field(description="The new version's label, unique within its model.")
    announced_on: dt.date | None = Field(None, description="The day it was announced.")
    released_on: dt.date | None = Field(
        None, description="When it was released (the last day of releasedPrecision's period)."
    )
    released_precision: DatePrecision | None = Field(
        None, description="How exact releasedOn is; given with it."
    )
    planned_on: dt.date | None = Field(
        None, description="When its release is planned (the last day of plannedPrecision's period)."
    )
    planned_precision: DatePrecision | None = Field(
        None, description="How exact plannedOn is; given with it."
    )
    total_parameters: Count | None = Field(
        None, description="Its parameters; null when not published."
    )
    active_parameters: Count | None = Field(
        None,
        description="Parameters active per token (mixture of experts); at most totalParameters.",
    )
    context_window: ContextWindow | None = Field(None, description="Its context window, in tokens.")
    source: SourceRef | None = Field(None, description=SOURCE)
    hardware_targets: list[HardwareTargetInput] = Field(
        default=[], max_length=50, description="What it is built to run on."
    )

    def rules(self) -> None:
        version_rules(self.model_dump())


class VersionInput(VersionFacts):
    """A new PREVIEW or FINAL version of a model."""

    stage: VersionStage = Field(description="PREVIEW or FINAL.")
    promoted_from: Name | None = Field(
        None, description="The label of the PREVIEW a FINAL is released from; null for none."
    )

    def rules(self) -> None:
        super().rules()
        if self.promoted_from is not None and self.stage is not VersionStage.FINAL:
            raise FieldError("promoted_from", "only a FINAL version can be promoted from a preview")


class PromoteVersionInput(VersionFacts):
    """A FINAL version released from a PREVIEW, which stays with its scores."""

    preview: Name = Field(description="The PREVIEW's label.")

    def as_version(self) -> VersionInput:
        fields = self.model_dump(exclude={"preview", "hardware_targets"})
        return VersionInput(
            **fields,
            stage=VersionStage.FINAL,
            promoted_from=self.preview,
            hardware_targets=self.hardware_targets,
        )


class VersionPatch(Patch):
    """Change a version: only the fields sent change; null clears an optional one."""

    KEYS = frozenset({"model", "label"})
    REQUIRED = frozenset({"new_label"})

    model: Slug = Field(description="The model's slug.")
    label: Name = Field(description="The version's current label.")
    new_label: Name | None = omitted(f"Its new label. {NOT_NULL}")
    announced_on: dt.date | None = omitted(f"The day it was announced. {CLEARED}")
    released_on: dt.date | None = omitted(f"When it was released. {CLEARED}")
    released_precision: DatePrecision | None = omitted(f"How exact releasedOn is. {CLEARED}")
    planned_on: dt.date | None = omitted(f"When its release is planned. {CLEARED}")
    planned_precision: DatePrecision | None = omitted(f"How exact plannedOn is. {CLEARED}")
    total_parameters: Count | None = omitted(f"Its parameters. {CLEARED}")
    active_parameters: Count | None = omitted(f"Parameters active per token. {CLEARED}")
    context_window: ContextWindow | None = omitted(f"Its context window. {CLEARED}")
    source: SourceRef | None = omitted(f"Where its facts come from. {CLEARED}")


class HardwareTargetsInput(Input):
    """Replaces every hardware target of a version (an empty list removes them all)."""

    model: Slug = Field(description="The model's slug.")
    version: Name = Field(description="The version's label.")
    expected_revision: Revision = Field(
        description="The version's revision last read; a stale one is a CONFLICT."
    )
    targets: list[HardwareTargetInput] = Field(
        max_length=50, description="The version's hardware targets from now on."
    )
