"""Validated inputs of every write, checked by pydantic before any SQL runs.

Field names are snake_case in Python and camelCase in error paths, so a user error names the
field exactly as the GraphQL input spells it. The same models validate the demo data file.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar

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


def _paired(on: dt.date | None, precision: DatePrecision | None, field: str) -> None:
    # A date coarser than a day stores the last day of its period; both come together.
    if (on is None) != (precision is None):
        raise ValueError(f"{field} and its precision are given together or not at all")


Slug = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_slug)]
CountryCode = Annotated[str, AfterValidator(_country)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_url)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=20_000)]
Count = Annotated[int, Field(gt=0, le=10**15)]


class Input(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class SourceInput(Input):
    url: Url
    title: Name
    publisher: Name | None = None
    published_on: dt.date | None = None
    kind: SourceKind


class LabInput(Input):
    slug: Slug
    name: Name
    country: CountryCode
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
    memory_gb: Decimal | None = Field(default=None, gt=0, le=1_000_000)
    precision: NumericPrecision | None = None
    note: Text | None = None
    source: Url | None = None


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
    context_window: Count | None = None
    source: Url | None = None
    hardware_targets: list[HardwareTargetInput] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> VersionInput:
        _paired(self.planned_on, self.planned_precision, "plannedOn")
        _paired(self.released_on, self.released_precision, "releasedOn")
        if (
            self.total_parameters is not None
            and self.active_parameters is not None
            and self.active_parameters > self.total_parameters
        ):
            raise ValueError("activeParameters cannot exceed totalParameters")
        if self.promoted_from is not None and self.stage is not VersionStage.FINAL:
            raise ValueError("only a FINAL version can be promoted from a preview")
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
            raise ValueError("scaleMax must be greater than scaleMin")
        return self


class ComponentInput(Input):
    benchmark: Slug
    weight: Decimal = Field(gt=0, le=1)


class BenchmarkVersionInput(Input):
    benchmark: Slug
    label: Name
    effective_on: dt.date
    notes: Text | None = None
    source: Url | None = None
    components: list[ComponentInput] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _weights(self) -> BenchmarkVersionInput:
        if self.components and sum(c.weight for c in self.components) != 1:
            raise ValueError("component weights must sum to 1")
        if len({c.benchmark for c in self.components}) != len(self.components):
            raise ValueError("a component benchmark is listed twice")
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
    source: Url
    note: Text | None = None


class LineageLinkInput(Input):
    parent: Slug
    child: Slug
    relation: LineageRelation
    source: Url | None = None
    note: Text | None = None


class ProgramInput(Input):
    slug: Slug
    name: Name
    sponsor: Name
    country: CountryCode
    started_on: dt.date | None = None
    started_precision: DatePrecision | None = None
    description: Text | None = None
    source: Url | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ProgramInput:
        _paired(self.started_on, self.started_precision, "startedOn")
        return self


class ParticipantStatusInput(Input):
    program: Slug
    lab: Slug
    status: ParticipantStatus
    effective_on: dt.date
    effective_precision: DatePrecision = DatePrecision.DAY
    source: Url | None = None
    note: Text | None = None


class TargetInput(Input):
    lab: Slug
    benchmark: Slug
    model: Slug | None = None
    value: Decimal
    due_on: dt.date
    due_precision: DatePrecision
    stated_on: dt.date
    source: Url
    note: Text | None = None


class ExternalIdInput(Input):
    system: ExternalSystem
    external_key: Name
    lab: Slug | None = None
    model: Slug | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ExternalIdInput:
        if (self.lab is None) == (self.model is None):
            raise ValueError("give exactly one of lab or model")
        return self


InputT = TypeVar("InputT", bound=Input)

_OUT_OF_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def parse(model: type[InputT], data: Any) -> InputT:
    """Validate raw data into an input model, or raise InputRejected naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputRejected([_user_error(error) for error in exc.errors()]) from exc


def _user_error(error: Any) -> UserError:
    field = ".".join(to_camel(str(part)) for part in error["loc"]) or "input"
    code = ErrorCode.OUT_OF_RANGE if error["type"] in _OUT_OF_RANGE else ErrorCode.INVALID
    message = str(error["msg"]).removeprefix("Value error, ")
    return UserError(field, message, code)
