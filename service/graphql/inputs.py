"""The GraphQL input objects of the mutations: one `input` argument per mutation (Relay).

GraphQL checks only their types; service.inputs validates their values. A field left out is
UNSET and never reaches validation, so the service's defaults apply and an update changes
only what was sent (an explicit null clears a field).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any

import strawberry
from pydantic.alias_generators import to_camel
from strawberry.scalars import JSON

from service import enums, ids
from service.errors import ValidationFailed
from service.graphql.scalars import BigInt

UNSET: Any = strawberry.UNSET


def raw(value: Any, path: tuple[str, ...] = ()) -> Any:
    """An input object as plain data for service.inputs.parse, without its UNSET fields.

    Fields that name a row by global id (GLOBAL_IDS) become row ids; an id of another type
    is an INVALID user error naming the field where it was given.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        global_ids = GLOBAL_IDS.get(type(value), {})
        data = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is strawberry.UNSET:
                continue
            here = (*path, field.name)
            if field.name in global_ids and item is not None:
                data[field.name] = _row_id(item, global_ids[field.name], here)
            else:
                data[field.name] = raw(item, here)
        return data
    if isinstance(value, list):
        return [raw(item, (*path, str(index))) for index, item in enumerate(value)]
    if isinstance(value, Enum):
        return value.value
    return value


def _row_id(global_id: str, type_name: str, path: tuple[str, ...]) -> int:
    decoded = ids.decode(global_id)
    if decoded is None or decoded[0] != type_name:
        field = ".".join(to_camel(part) for part in path)
        raise ValidationFailed(field, f"is not the id of a {type_name}")
    return decoded[1]


@strawberry.input(description="A source's details: a URL only for a page actually cited.")
class AddSourceInput:
    title: str = strawberry.field(
        description="The headline or title; a description in [square brackets] when the "
        "source has none of its own or it was not recorded."
    )
    kind: enums.SourceKind = strawberry.field(description="What sort of source it is.")
    url: str | None = strawberry.field(
        default=UNSET, description="The page cited; left out when none was recorded."
    )
    publisher: str | None = strawberry.field(
        default=UNSET, description="Who published it; left out when not known."
    )
    published_on: dt.date | None = strawberry.field(
        default=UNSET, description="The day it was published; left out when not known."
    )


@strawberry.input(
    description="Cite a source: exactly one of id (a recorded source) or new (its details; an "
    "identical source already recorded is reused, never duplicated)."
)
class SourceRefInput:
    id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="A recorded source's id (sources(filter:) finds it)."
    )
    new: AddSourceInput | None = strawberry.field(
        default=UNSET, description="A source's details; recorded unless already there."
    )


@strawberry.input
class CreateLabInput:
    slug: str
    name: str
    country: str | None = strawberry.field(
        default=UNSET, description="ISO 3166-1 alpha-2 code; left out when not known."
    )
    founded_year: int | None = UNSET
    headquarters: str | None = UNSET
    website: str | None = UNSET
    description: str | None = UNSET


@strawberry.input(description="Only the fields sent change; null clears an optional one.")
class UpdateLabInput:
    slug: str
    expected_revision: int
    name: str | None = UNSET
    country: str | None = UNSET
    founded_year: int | None = UNSET
    headquarters: str | None = UNSET
    website: str | None = UNSET
    description: str | None = UNSET


@strawberry.input
class CreateModelInput:
    slug: str
    name: str
    lab: str = strawberry.field(description="The lab's slug.")
    family: str | None = UNSET
    modality: enums.Modality | None = UNSET
    open_weights: bool | None = UNSET
    license: str | None = UNSET
    training_origin: enums.TrainingOrigin | None = UNSET
    description: str | None = UNSET


@strawberry.input(description="Only the fields sent change; null clears an optional one.")
class UpdateModelInput:
    slug: str
    expected_revision: int
    name: str | None = UNSET
    family: str | None = UNSET
    modality: enums.Modality | None = UNSET
    open_weights: bool | None = UNSET
    license: str | None = UNSET
    training_origin: enums.TrainingOrigin | None = UNSET
    description: str | None = UNSET


@strawberry.input
class HardwareTargetInput:
    accelerator: str
    accelerator_count: int | None = UNSET
    memory_gb: float | None = UNSET
    precision: enums.NumericPrecision | None = UNSET
    note: str | None = UNSET
    source: SourceRefInput | None = UNSET


@strawberry.input(description="Dates coarser than a day hold the period's last day.")
class CreateVersionInput:
    model: str = strawberry.field(description="The model's slug.")
    label: str
    stage: enums.VersionStage
    promoted_from: str | None = strawberry.field(
        default=UNSET, description="The label of the PREVIEW a FINAL is released from."
    )
    announced_on: dt.date | None = UNSET
    released_on: dt.date | None = UNSET
    released_precision: enums.DatePrecision | None = UNSET
    planned_on: dt.date | None = UNSET
    planned_precision: enums.DatePrecision | None = UNSET
    total_parameters: BigInt | None = UNSET
    active_parameters: BigInt | None = UNSET
    context_window: int | None = UNSET
    source: SourceRefInput | None = UNSET
    hardware_targets: list[HardwareTargetInput] | None = UNSET


@strawberry.input(description="Only the fields sent change; null clears an optional one.")
class UpdateVersionInput:
    model: str
    label: str
    expected_revision: int
    new_label: str | None = UNSET
    announced_on: dt.date | None = UNSET
    released_on: dt.date | None = UNSET
    released_precision: enums.DatePrecision | None = UNSET
    planned_on: dt.date | None = UNSET
    planned_precision: enums.DatePrecision | None = UNSET
    total_parameters: BigInt | None = UNSET
    active_parameters: BigInt | None = UNSET
    context_window: int | None = UNSET
    source: SourceRefInput | None = UNSET


@strawberry.input(description="A FINAL version released from a PREVIEW, which stays.")
class PromoteVersionInput:
    model: str
    preview: str = strawberry.field(description="The PREVIEW's label.")
    label: str = strawberry.field(description="The new FINAL version's label.")
    announced_on: dt.date | None = UNSET
    released_on: dt.date | None = UNSET
    released_precision: enums.DatePrecision | None = UNSET
    planned_on: dt.date | None = UNSET
    planned_precision: enums.DatePrecision | None = UNSET
    total_parameters: BigInt | None = UNSET
    active_parameters: BigInt | None = UNSET
    context_window: int | None = UNSET
    source: SourceRefInput | None = UNSET
    hardware_targets: list[HardwareTargetInput] | None = UNSET


@strawberry.input(description="Replaces every hardware target of a version.")
class SetHardwareTargetsInput:
    model: str
    version: str = strawberry.field(description="The version's label.")
    expected_revision: int
    targets: list[HardwareTargetInput]


@strawberry.input
class CreateBenchmarkInput:
    slug: str
    name: str
    scale_min: float
    scale_max: float
    is_independent: bool
    publisher: str | None = UNSET
    url: str | None = UNSET
    higher_is_better: bool | None = UNSET
    is_index: bool | None = UNSET
    methodology: str | None = UNSET


@strawberry.input
class ComponentInput:
    benchmark: str
    weight: float


@strawberry.input(description="An index's components carry weights summing to 1.")
class CreateBenchmarkVersionInput:
    benchmark: str
    label: str
    effective_on: dt.date
    notes: str | None = UNSET
    source: SourceRefInput | None = UNSET
    components: list[ComponentInput] | None = UNSET


@strawberry.input
class RecordScoreInput:
    model: str
    version: str = strawberry.field(description="The version's label.")
    benchmark: str
    value: float
    measured_on: dt.date
    provenance: enums.Provenance
    source: SourceRefInput
    benchmark_version: str | None = strawberry.field(
        default=UNSET, description="The method version's label; default: in effect on measuredOn."
    )
    qualifier: enums.ScoreQualifier | None = UNSET
    uncertainty: float | None = UNSET
    run_configuration: JSON | None = UNSET
    verification: enums.Verification | None = UNSET
    note: str | None = UNSET


@strawberry.input(description="A correction: a new score replacing one; the old one stays.")
class SupersedeScoreInput:
    score: strawberry.ID
    value: float
    measured_on: dt.date
    source: SourceRefInput
    qualifier: enums.ScoreQualifier | None = UNSET
    uncertainty: float | None = UNSET
    run_configuration: JSON | None = UNSET
    provenance: enums.Provenance | None = strawberry.field(
        default=UNSET, description="Default: the corrected score's."
    )
    note: str | None = UNSET


@strawberry.input
class SetScoreVerificationInput:
    score: strawberry.ID
    verification: enums.Verification
    changed_on: dt.date
    evidence: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="The score that confirms or refutes this one; left out keeps the current.",
    )


@strawberry.input
class LinkModelsInput:
    parent: str
    child: str
    relation: enums.LineageRelation
    source: SourceRefInput | None = UNSET
    note: str | None = UNSET


@strawberry.input
class UnlinkModelsInput:
    parent: str
    child: str
    relation: enums.LineageRelation


@strawberry.input
class CreateProgramInput:
    slug: str
    name: str
    sponsor: str
    country: str
    started_on: dt.date | None = UNSET
    started_precision: enums.DatePrecision | None = UNSET
    description: str | None = UNSET
    source: SourceRefInput | None = UNSET


@strawberry.input
class SetParticipantStatusInput:
    program: str
    lab: str
    status: enums.ParticipantStatus
    effective_on: dt.date
    effective_precision: enums.DatePrecision | None = UNSET
    source: SourceRefInput | None = UNSET
    note: str | None = UNSET


@strawberry.input
class StateTargetInput:
    lab: str
    benchmark: str
    value: float
    due_on: dt.date
    due_precision: enums.DatePrecision
    stated_on: dt.date
    source: SourceRefInput
    model: str | None = UNSET
    note: str | None = UNSET


@strawberry.input(description="Give exactly one of lab or model.")
class SetExternalIdInput:
    system: enums.ExternalSystem
    external_key: str
    lab: str | None = UNSET
    model: str | None = UNSET


@strawberry.input(description="Archive or restore a lab or model by slug.")
class ArchiveInput:
    slug: str
    expected_revision: int | None = strawberry.field(
        default=UNSET, description="When given, a stale revision is a CONFLICT."
    )


# Fields naming a row by its global id, per input: decoded by raw() before validation.
GLOBAL_IDS: dict[type, dict[str, str]] = {
    SourceRefInput: {"id": "Source"},
    SupersedeScoreInput: {"score": "Score"},
    SetScoreVerificationInput: {"score": "Score", "evidence": "Score"},
}
