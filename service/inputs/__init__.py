"""Validated inputs of every write: the one definition of each, checked before any SQL runs.

Each model is the contract of one kind of write. The mutations take it as their GraphQL input
(service.graphql.input_types registers it under its GraphQL name; its fields, nullability,
defaults and descriptions come from here), and the demo data file is validated by it too.
Field types, the `Input` base and how a refusal becomes user errors are in service.validation.

Field names are snake_case in Python and camelCase in error paths and GraphQL, so a user error
names the field exactly as the GraphQL input spells it.

One module per aggregate, as service.commands; `shared` holds what several use. The package
exports every input, so `from service.inputs import LabInput` names it wherever it lives.
"""

from __future__ import annotations

from service.inputs.benchmarks import BenchmarkInput, BenchmarkVersionInput, ComponentInput
from service.inputs.external_ids import ExternalIdInput, ExternalIdSubject
from service.inputs.labs import LabInput, LabPatch
from service.inputs.lineage import LineageLinkInput, UnlinkInput
from service.inputs.models import ModelFamilyInput, ModelInput, ModelPatch
from service.inputs.programs import ParticipantStatusInput, ProgramInput
from service.inputs.scores import ScoreInput, ScoreVerificationInput, SupersedeScoreInput
from service.inputs.shared import ArchiveInput, Patch
from service.inputs.sources import SourceInput, SourceRef
from service.inputs.targets import TargetInput
from service.inputs.versions import (
    HardwareTargetInput,
    HardwareTargetsInput,
    PromoteVersionInput,
    VersionFacts,
    VersionInput,
    VersionPatch,
    version_rules,
)

__all__ = [
    "ArchiveInput",
    "BenchmarkInput",
    "BenchmarkVersionInput",
    "ComponentInput",
    "ExternalIdInput",
    "ExternalIdSubject",
    "HardwareTargetInput",
    "HardwareTargetsInput",
    "LabInput",
    "LabPatch",
    "LineageLinkInput",
    "ModelFamilyInput",
    "ModelInput",
    "ModelPatch",
    "ParticipantStatusInput",
    "Patch",
    "ProgramInput",
    "PromoteVersionInput",
    "ScoreInput",
    "ScoreVerificationInput",
    "SourceInput",
    "SourceRef",
    "SupersedeScoreInput",
    "TargetInput",
    "UnlinkInput",
    "VersionFacts",
    "VersionInput",
    "VersionPatch",
    "version_rules",
]
