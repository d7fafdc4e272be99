"""Validated inputs of every write: the one definition of each, checked before any SQL runs.

Each model is the contract of one kind of write. The mutations take it as their GraphQL input
(service.graphql.input_types registers it under its GraphQL name; its fields, nullability,
defaults and descriptions come from here), and the demo data file is validated by it too.
Field types, the `Input` base and how a refusal becomes user errors are in service.validation.

Field names are snake_case in Python and camelCase in error paths and GraphQL, so a user error
names the field exactly as the GraphQL input spells it.

One module for every write's input (about 500 lines, most of them field descriptions): it
splits by aggregate together with service.commands (issue 10, item 4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field
from pydantic.alias_generators import to_camel

from service.enums import (
    DatePrecision,
    ExternalSystem,
    LineageRelation,
    Modality,
    NumericPrecision,
    ParticipantStatus,
    Provenance,
    ScoreQualifier,
    SourceKind,
    TrainingOrigin,
    Verification,
    VersionStage,
)
from service.validation import (
    ContextWindow,
    Count,
    CountryCode,
    FieldError,
    Input,
    Name,
    Revision,
    RunConfiguration,
    ScoreId,
    Slug,
    SourceId,
    Text,
    Url,
    omitted,
)


def _paired(on: dt.date | None, precision: Any, field: str) -> None:
    # A date coarser than a day stores the last day of its period; both come together.
    if on is None and precision is not None:
        raise FieldError(f"{field}_on", f"is required with {to_camel(field)}Precision")
    if on is not None and precision is None:
        raise FieldError(f"{field}_precision", f"is required with {to_camel(field)}On")


def version_rules(values: Mapping[str, Any]) -> None:
    """The rules a whole version row obeys; checked on inputs and on an update's merged row."""
    _paired(values.get("planned_on"), values.get("planned_precision"), "planned")
    _paired(values.get("released_on"), values.get("released_precision"), "released")
    total, active = values.get("total_parameters"), values.get("active_parameters")
    if total is not None and active is not None and active > total:
        raise FieldError("active_parameters", "cannot exceed totalParameters")


class SourceInput(Input):
    """A source's details: a URL only for a page actually cited, never a guessed one."""

    url: Url | None = Field(None, description="The page cited; null when none was recorded.")
    title: Name = Field(
        description="The headline or title; a description in [square brackets] when the "
        "source has none of its own or it was not recorded."
    )
    publisher: Name | None = Field(None, description="Who published it; null when not known.")
    published_on: dt.date | None = Field(
        None, description="The day it was published; null when not known."
    )
    kind: SourceKind = Field(description="What sort of source it is.")


class SourceRef(Input):
    """Cite a source: exactly one of id (a recorded source) or new (its details).

    A new source identical to one already recorded is that source, so citing the same
    article twice never records it twice.
    """

    ONE_OF = True

    id: SourceId | None = omitted("A recorded source's id (sources(filter:) finds it).")
    new: SourceInput | None = omitted("A source's details; recorded unless already there.")


_SOURCE = "Where the fact comes from; null when no source is cited."


class LabInput(Input):
    """A new lab."""

    slug: Slug = Field(description="The lab's key, used by every reference to it.")
    name: Name = Field(description="The lab's name.")
    # Unknown is storable: a catalog often knows a lab's name but not its country.
    country: CountryCode | None = Field(None, description="Its country; null when not known.")
    founded_year: int | None = Field(
        None, ge=1900, le=2100, description="The year it was founded; null when not known."
    )
    headquarters: Name | None = Field(None, description="Its headquarters' city.")
    website: Url | None = Field(None, description="Its website.")
    description: Text | None = Field(None, description="What it is, for a person to read.")


class ModelFamilyInput(Input):
    """A product line grouping models (demo data only)."""

    slug: Slug = Field(description="The family's key.")
    name: Name = Field(description="The family's name.")
    lab: Slug | None = Field(None, description="The lab's slug; null for a cross-lab family.")
    description: Text | None = Field(None, description="What it is, for a person to read.")


class HardwareTargetInput(Input):
    """What a version is built to run on."""

    accelerator: Name = Field(description="The accelerator, e.g. 'H100 80GB'.")
    accelerator_count: int = Field(1, gt=0, le=100_000, description="How many of them.")
    memory_gb: Decimal | None = Field(
        None,
        gt=0,
        lt=1_000_000,
        decimal_places=2,
        description="Memory in GB they provide in all; null when not stated.",
    )
    precision: NumericPrecision | None = Field(
        None, description="The numeric precision the weights run at; null when not stated."
    )
    note: Text | None = Field(None, description="Anything else, for a person to read.")
    source: SourceRef | None = Field(None, description=_SOURCE)


class ModelInput(Input):
    """A new model, under a lab that is not archived."""

    slug: Slug = Field(description="The model's key, used by every reference to it.")
    name: Name = Field(description="The model's name.")
    lab: Slug = Field(description="The lab's slug.")
    family: Slug | None = Field(None, description="The family's slug; null for none.")
    modality: Modality = Field(Modality.TEXT, description="What it takes in and puts out.")
    open_weights: bool = Field(False, description="Whether its weights are published.")
    license: Name | None = Field(None, description="Its licence, e.g. 'Apache-2.0'.")
    training_origin: TrainingOrigin | None = Field(
        None, description="Trained from scratch or derived; null when not known."
    )
    description: Text | None = Field(None, description="What it is, for a person to read.")


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
    source: SourceRef | None = Field(None, description=_SOURCE)
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


class BenchmarkInput(Input):
    """A new benchmark or index."""

    slug: Slug = Field(description="The benchmark's key, used by every reference to it.")
    name: Name = Field(description="The benchmark's name.")
    publisher: Name | None = Field(None, description="Who runs it.")
    url: Url | None = Field(None, description="Its page.")
    scale_min: Decimal = Field(description="The lowest score possible.")
    scale_max: Decimal = Field(description="The highest score possible; above scaleMin.")
    higher_is_better: bool = Field(True, description="Whether a higher score is better.")
    is_independent: bool = Field(description="Whether it is run independently of the labs.")
    is_index: bool = Field(False, description="Whether it is a weighted average of benchmarks.")
    methodology: Text | None = Field(None, description="How it is measured.")

    def rules(self) -> None:
        if self.scale_max <= self.scale_min:
            raise FieldError("scale_max", "must be greater than scaleMin")


class ComponentInput(Input):
    """One benchmark of an index and its weight."""

    benchmark: Slug = Field(description="The component benchmark's slug.")
    weight: Decimal = Field(gt=0, le=1, description="Its weight; an index's weights sum to 1.")


class BenchmarkVersionInput(Input):
    """A method version of a benchmark; an index's component weights sum to 1."""

    benchmark: Slug = Field(description="The benchmark's slug.")
    label: Name = Field(description="The method version's label, e.g. 'v4'.")
    effective_on: dt.date = Field(description="The day it took effect.")
    notes: Text | None = Field(None, description="What changed, for a person to read.")
    source: SourceRef | None = Field(None, description=_SOURCE)
    components: list[ComponentInput] = Field(
        default=[], max_length=100, description="An index's components; empty for a benchmark."
    )

    def rules(self) -> None:
        if self.components and sum(c.weight for c in self.components) != 1:
            raise FieldError("components", "component weights must sum to 1")
        if len({c.benchmark for c in self.components}) != len(self.components):
            raise FieldError("components", "a component benchmark is listed twice")


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


class LineageLinkInput(Input):
    """A link from a parent model to a child; a link closing a cycle is refused."""

    parent: Slug = Field(description="The parent model's slug.")
    child: Slug = Field(description="The child model's slug.")
    relation: LineageRelation = Field(description="How the child comes from the parent.")
    source: SourceRef | None = Field(None, description=_SOURCE)
    note: Text | None = Field(None, description="Anything else, for a person to read.")


class ProgramInput(Input):
    """A new public programme that selects labs."""

    slug: Slug = Field(description="The programme's key, used by every reference to it.")
    name: Name = Field(description="The programme's name.")
    sponsor: Name = Field(description="Who runs it.")
    country: CountryCode = Field(description="Its country.")
    started_on: dt.date | None = Field(
        None, description="When it started (the last day of startedPrecision's period)."
    )
    started_precision: DatePrecision | None = Field(
        None, description="How exact startedOn is; given with it."
    )
    description: Text | None = Field(None, description="What it is, for a person to read.")
    source: SourceRef | None = Field(None, description=_SOURCE)

    def rules(self) -> None:
        _paired(self.started_on, self.started_precision, "started")


class ParticipantStatusInput(Input):
    """A lab's status in a programme from a date on."""

    program: Slug = Field(description="The programme's slug.")
    lab: Slug = Field(description="The lab's slug.")
    status: ParticipantStatus = Field(description="Its status from effectiveOn on.")
    effective_on: dt.date = Field(description="The day the status took effect.")
    effective_precision: DatePrecision = Field(
        DatePrecision.DAY, description="How exact effectiveOn is."
    )
    source: SourceRef | None = Field(None, description=_SOURCE)
    note: Text | None = Field(None, description="Anything else, for a person to read.")


class TargetInput(Input):
    """A target a lab stated: a value on a benchmark by a date."""

    lab: Slug = Field(description="The lab's slug.")
    benchmark: Slug = Field(description="The benchmark's slug.")
    model: Slug | None = Field(None, description="The model's slug, when the target names one.")
    value: Decimal = Field(description="The value targeted.")
    due_on: dt.date = Field(description="When it is due (the last day of duePrecision's period).")
    due_precision: DatePrecision = Field(description="How exact dueOn is.")
    stated_on: dt.date = Field(description="The day the lab stated it.")
    source: SourceRef = Field(description="Where the lab stated it.")
    note: Text | None = Field(None, description="Anything else, for a person to read.")


class ExternalIdSubject(Input):
    """Whose key it is: exactly one of a lab or a model."""

    ONE_OF = True

    lab: Slug | None = omitted("The lab's slug.")
    model: Slug | None = omitted("The model's slug.")


class ExternalIdInput(Input):
    """Another registry's key for a lab or a model."""

    system: ExternalSystem = Field(description="The other registry.")
    external_key: Name = Field(description="The lab's or model's key there.")
    subject: ExternalIdSubject = Field(description="The lab or model it names.")


_KEPT = "Left out: unchanged."
_CLEARED = f"{_KEPT} Null clears it."
_NOT_NULL = f"{_KEPT} Cannot be null."


class Patch(Input):
    """An update: only the fields sent change, `null` clears one that may be empty.

    `expected_revision` is the revision the client last read; a stale one is a CONFLICT.
    """

    expected_revision: Revision = Field(
        description="The revision last read (a payload's revision); a stale one is a CONFLICT."
    )
    # Fields naming the row to change, and columns that can never be cleared.
    KEYS: ClassVar[frozenset[str]] = frozenset()
    REQUIRED: ClassVar[frozenset[str]] = frozenset()

    def rules(self) -> None:
        for name in sorted(self.REQUIRED & self.model_fields_set):
            if getattr(self, name) is None:
                raise FieldError(name, "cannot be null")
        if not self.changes():
            raise FieldError("input", "changes nothing: send at least one field to change")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set - self.KEYS - {"expected_revision"})


class LabPatch(Patch):
    """Change a lab: only the fields sent change; null clears an optional one."""

    KEYS = frozenset({"slug"})
    REQUIRED = frozenset({"name"})

    slug: Slug = Field(description="The lab's slug.")
    name: Name | None = omitted(f"The lab's name. {_NOT_NULL}")
    country: CountryCode | None = omitted(f"Its country. {_CLEARED}")
    founded_year: int | None = omitted(f"The year it was founded. {_CLEARED}", ge=1900, le=2100)
    headquarters: Name | None = omitted(f"Its headquarters' city. {_CLEARED}")
    website: Url | None = omitted(f"Its website. {_CLEARED}")
    description: Text | None = omitted(f"What it is. {_CLEARED}")


class ModelPatch(Patch):
    """Change a model: only the fields sent change; null clears an optional one."""

    KEYS = frozenset({"slug"})
    REQUIRED = frozenset({"name", "modality", "open_weights"})

    slug: Slug = Field(description="The model's slug.")
    name: Name | None = omitted(f"The model's name. {_NOT_NULL}")
    family: Slug | None = omitted(f"The family's slug. {_CLEARED}")
    modality: Modality | None = omitted(f"What it takes in and puts out. {_NOT_NULL}")
    open_weights: bool | None = omitted(f"Whether its weights are published. {_NOT_NULL}")
    license: Name | None = omitted(f"Its licence. {_CLEARED}")
    training_origin: TrainingOrigin | None = omitted(f"From scratch or derived. {_CLEARED}")
    description: Text | None = omitted(f"What it is. {_CLEARED}")


class VersionPatch(Patch):
    """Change a version: only the fields sent change; null clears an optional one."""

    KEYS = frozenset({"model", "label"})
    REQUIRED = frozenset({"new_label"})

    model: Slug = Field(description="The model's slug.")
    label: Name = Field(description="The version's current label.")
    new_label: Name | None = omitted(f"Its new label. {_NOT_NULL}")
    announced_on: dt.date | None = omitted(f"The day it was announced. {_CLEARED}")
    released_on: dt.date | None = omitted(f"When it was released. {_CLEARED}")
    released_precision: DatePrecision | None = omitted(f"How exact releasedOn is. {_CLEARED}")
    planned_on: dt.date | None = omitted(f"When its release is planned. {_CLEARED}")
    planned_precision: DatePrecision | None = omitted(f"How exact plannedOn is. {_CLEARED}")
    total_parameters: Count | None = omitted(f"Its parameters. {_CLEARED}")
    active_parameters: Count | None = omitted(f"Parameters active per token. {_CLEARED}")
    context_window: ContextWindow | None = omitted(f"Its context window. {_CLEARED}")
    source: SourceRef | None = omitted(f"Where its facts come from. {_CLEARED}")


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


class SupersedeScoreInput(Input):
    """A correction of a score: a new observation that replaces it; the old one stays."""

    score: ScoreId = Field(description="The id of the score corrected.")
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

    score: ScoreId = Field(description="The id of the score.")
    verification: Verification = Field(description="Its verification from changedOn on.")
    changed_on: dt.date = Field(description="The day it changed; not before the score's.")
    # The measurement that confirms or refutes the claim.
    evidence: ScoreId | None = omitted(
        "The id of the score that confirms or refutes this one, measuring the same model on "
        f"the same benchmark. {_CLEARED}"
    )

    def rules(self) -> None:
        if self.evidence == self.score:
            raise FieldError("evidence", "a score cannot be its own evidence")


class UnlinkInput(Input):
    """The lineage link to remove."""

    parent: Slug = Field(description="The parent model's slug.")
    child: Slug = Field(description="The child model's slug.")
    relation: LineageRelation = Field(description="The link's relation.")


class ArchiveInput(Input):
    """Archive or restore a lab or model by slug."""

    slug: Slug = Field(description="The lab's or model's slug.")
    # Optional: archiving is a state change clients may make without reading first.
    expected_revision: Revision | None = Field(
        None, description="The revision last read, checked when given: a stale one is a CONFLICT."
    )
