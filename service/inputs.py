"""Validated inputs of every write, checked by pydantic before any SQL runs.

Field names are snake_case in Python and camelCase in error paths, so a user error names the
field exactly as the GraphQL input spells it. The same models validate the demo data file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
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
from service.errors import ErrorCode, InputRejected, UserError

_SLUG = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class FieldError(ValueError):
    """A rule across fields broken: names the one field to blame (snake_case), not the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("must be lower-case letters and digits joined by single '-' or '.'")
    return value


def _country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


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


Slug = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_slug)]
CountryCode = Annotated[str, AfterValidator(_country)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_url)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=20_000)]
Count = Annotated[int, Field(gt=0, le=10**15)]
# The column is a 32-bit integer: a larger window would fail in the database, not here.
ContextWindow = Annotated[int, Field(gt=0, le=2**31 - 1)]
Revision = Annotated[int, Field(ge=1)]
# Scores and sources are named by row id: the GraphQL layer decodes global ids first.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Input(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class SourceInput(Input):
    """A source's own details; its URL only when a page was actually cited, never guessed."""

    url: Url | None = None
    title: Name
    publisher: Name | None = None
    published_on: dt.date | None = None
    kind: SourceKind


class SourceRef(Input):
    """How a write cites a source: a recorded one by id, or a new one by its details.

    A new source identical to one already recorded is that source, so citing the same
    article twice never records it twice.
    """

    id: RowId | None = None
    new: SourceInput | None = None

    @model_validator(mode="after")
    def _one_way(self) -> SourceRef:
        if (self.id is None) == (self.new is None):
            raise FieldError("input", "give exactly one of id (a recorded source) or new")
        return self


class LabInput(Input):
    slug: Slug
    name: Name
    # Unknown is storable: a catalog often knows a lab's name but not its country.
    country: CountryCode | None = None
    founded_year: int | None = Field(default=None, ge=1900, le=2100)
    headquarters: Name | None = None
    website: Url | None = None
    description: Text | None = None


class ModelFamilyInput(Input):
    slug: Slug
    name: Name
    lab: Slug | None = None
    description: Text | None = None


class HardwareTargetInput(Input):
    accelerator: Name
    accelerator_count: int = Field(default=1, gt=0, le=100_000)
    memory_gb: Decimal | None = Field(default=None, gt=0, lt=1_000_000, decimal_places=2)
    precision: NumericPrecision | None = None
    note: Text | None = None
    source: SourceRef | None = None


class ModelInput(Input):
    slug: Slug
    name: Name
    lab: Slug
    family: Slug | None = None
    modality: Modality = Modality.TEXT
    open_weights: bool = False
    license: Name | None = None
    training_origin: TrainingOrigin | None = None
    description: Text | None = None


class VersionInput(Input):
    model: Slug
    label: Name
    stage: VersionStage
    promoted_from: Name | None = None
    announced_on: dt.date | None = None
    released_on: dt.date | None = None
    released_precision: DatePrecision | None = None
    planned_on: dt.date | None = None
    planned_precision: DatePrecision | None = None
    total_parameters: Count | None = None
    active_parameters: Count | None = None
    context_window: ContextWindow | None = None
    source: SourceRef | None = None
    hardware_targets: list[HardwareTargetInput] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> VersionInput:
        version_rules(self.model_dump())
        if self.promoted_from is not None and self.stage is not VersionStage.FINAL:
            raise FieldError("promoted_from", "only a FINAL version can be promoted from a preview")
        return self


class BenchmarkInput(Input):
    slug: Slug
    name: Name
    publisher: Name | None = None
    url: Url | None = None
    scale_min: Decimal
    scale_max: Decimal
    higher_is_better: bool = True
    is_independent: bool
    is_index: bool = False
    methodology: Text | None = None

    @model_validator(mode="after")
    def _scale(self) -> BenchmarkInput:
        if self.scale_max <= self.scale_min:
            raise FieldError("scale_max", "must be greater than scaleMin")
        return self


class ComponentInput(Input):
    benchmark: Slug
    weight: Decimal = Field(gt=0, le=1)


class BenchmarkVersionInput(Input):
    benchmark: Slug
    label: Name
    effective_on: dt.date
    notes: Text | None = None
    source: SourceRef | None = None
    components: list[ComponentInput] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _weights(self) -> BenchmarkVersionInput:
        if self.components and sum(c.weight for c in self.components) != 1:
            raise FieldError("components", "component weights must sum to 1")
        if len({c.benchmark for c in self.components}) != len(self.components):
            raise FieldError("components", "a component benchmark is listed twice")
        return self


class ScoreInput(Input):
    model: Slug
    version: Name
    benchmark: Slug
    benchmark_version: Name | None = None
    value: Decimal
    qualifier: ScoreQualifier = ScoreQualifier.EXACT
    uncertainty: Decimal | None = Field(default=None, ge=0)
    run_configuration: dict[str, Any] = Field(default_factory=dict)
    measured_on: dt.date
    provenance: Provenance
    verification: Verification = Verification.UNVERIFIED
    source: SourceRef
    note: Text | None = None


class LineageLinkInput(Input):
    parent: Slug
    child: Slug
    relation: LineageRelation
    source: SourceRef | None = None
    note: Text | None = None


class ProgramInput(Input):
    slug: Slug
    name: Name
    sponsor: Name
    country: CountryCode
    started_on: dt.date | None = None
    started_precision: DatePrecision | None = None
    description: Text | None = None
    source: SourceRef | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ProgramInput:
        _paired(self.started_on, self.started_precision, "started")
        return self


class ParticipantStatusInput(Input):
    program: Slug
    lab: Slug
    status: ParticipantStatus
    effective_on: dt.date
    effective_precision: DatePrecision = DatePrecision.DAY
    source: SourceRef | None = None
    note: Text | None = None


class TargetInput(Input):
    lab: Slug
    benchmark: Slug
    model: Slug | None = None
    value: Decimal
    due_on: dt.date
    due_precision: DatePrecision
    stated_on: dt.date
    source: SourceRef
    note: Text | None = None


class ExternalIdInput(Input):
    system: ExternalSystem
    external_key: Name
    lab: Slug | None = None
    model: Slug | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ExternalIdInput:
        if (self.lab is None) == (self.model is None):
            raise FieldError("lab", "give exactly one of lab or model")
        return self


class Patch(Input):
    """An update: only the fields sent change, `null` clears one that may be empty.

    `expected_revision` is the revision the client last read; a stale one is a CONFLICT.
    """

    expected_revision: Revision
    # Fields naming the row to change, and columns that can never be cleared.
    KEYS: ClassVar[frozenset[str]] = frozenset()
    REQUIRED: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _some_change(self) -> Patch:
        for name in sorted(self.REQUIRED & self.model_fields_set):
            if getattr(self, name) is None:
                raise FieldError(name, "cannot be null")
        if not self.changes():
            raise FieldError("input", "changes nothing: send at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set - self.KEYS - {"expected_revision"})


class LabPatch(Patch):
    KEYS = frozenset({"slug"})
    REQUIRED = frozenset({"name"})

    slug: Slug
    name: Name | None = None
    country: CountryCode | None = None
    founded_year: int | None = Field(default=None, ge=1900, le=2100)
    headquarters: Name | None = None
    website: Url | None = None
    description: Text | None = None


class ModelPatch(Patch):
    KEYS = frozenset({"slug"})
    REQUIRED = frozenset({"name", "modality", "open_weights"})

    slug: Slug
    name: Name | None = None
    family: Slug | None = None
    modality: Modality | None = None
    open_weights: bool | None = None
    license: Name | None = None
    training_origin: TrainingOrigin | None = None
    description: Text | None = None


class VersionPatch(Patch):
    KEYS = frozenset({"model", "label"})
    REQUIRED = frozenset({"new_label"})

    model: Slug
    label: Name
    new_label: Name | None = None
    announced_on: dt.date | None = None
    released_on: dt.date | None = None
    released_precision: DatePrecision | None = None
    planned_on: dt.date | None = None
    planned_precision: DatePrecision | None = None
    total_parameters: Count | None = None
    active_parameters: Count | None = None
    context_window: ContextWindow | None = None
    source: SourceRef | None = None


class PromoteVersionInput(Input):
    """A FINAL version released from a PREVIEW, which stays with its scores."""

    model: Slug
    preview: Name
    label: Name
    announced_on: dt.date | None = None
    released_on: dt.date | None = None
    released_precision: DatePrecision | None = None
    planned_on: dt.date | None = None
    planned_precision: DatePrecision | None = None
    total_parameters: Count | None = None
    active_parameters: Count | None = None
    context_window: ContextWindow | None = None
    source: SourceRef | None = None
    hardware_targets: list[HardwareTargetInput] = Field(default_factory=list, max_length=50)

    def as_version(self) -> VersionInput:
        fields = self.model_dump(exclude={"preview", "hardware_targets"})
        return VersionInput(
            **fields,
            stage=VersionStage.FINAL,
            promoted_from=self.preview,
            hardware_targets=self.hardware_targets,
        )

    @model_validator(mode="after")
    def _consistent(self) -> PromoteVersionInput:
        version_rules(self.model_dump())
        return self


class HardwareTargetsInput(Input):
    """Replaces every hardware target of a version (an empty list removes them all)."""

    model: Slug
    version: Name
    expected_revision: Revision
    targets: list[HardwareTargetInput] = Field(max_length=50)


class SupersedeScoreInput(Input):
    """A correction of a score: a new observation that replaces it; the old one stays."""

    score: RowId
    value: Decimal
    qualifier: ScoreQualifier = ScoreQualifier.EXACT
    uncertainty: Decimal | None = Field(default=None, ge=0)
    run_configuration: dict[str, Any] = Field(default_factory=dict)
    measured_on: dt.date
    # The corrected score's provenance unless the correction comes from elsewhere.
    provenance: Provenance | None = None
    source: SourceRef
    note: Text | None = None


class ScoreVerificationInput(Input):
    score: RowId
    verification: Verification
    changed_on: dt.date
    # The measurement that confirms or refutes the claim; left out keeps the current one.
    evidence: RowId | None = None

    @model_validator(mode="after")
    def _not_itself(self) -> ScoreVerificationInput:
        if self.evidence == self.score:
            raise FieldError("evidence", "a score cannot be its own evidence")
        return self


class UnlinkInput(Input):
    parent: Slug
    child: Slug
    relation: LineageRelation


class ArchiveInput(Input):
    slug: Slug
    # Optional: archiving is a state change clients may make without reading first.
    expected_revision: Revision | None = None


InputT = TypeVar("InputT", bound=Input)

_OUT_OF_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def parse(model: type[InputT], data: Any) -> InputT:
    """Validate raw data into an input model, or raise InputRejected naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputRejected([_user_error(error) for error in exc.errors()]) from exc


def _user_error(error: Any) -> UserError:
    path = [str(part) for part in error["loc"]]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, FieldError) and cause.field != "input":
        path.append(cause.field)
    field = ".".join(to_camel(part) for part in path) or "input"
    code = ErrorCode.OUT_OF_RANGE if error["type"] in _OUT_OF_RANGE else ErrorCode.INVALID
    message = str(error["msg"]).removeprefix("Value error, ")
    return UserError(field, message, code)
