"""The mutations' inputs as GraphQL types: service.inputs' models, registered under a name.

strawberry.pydantic builds each GraphQL input type from its pydantic model, which stays the one
definition: field names, types, nullability, defaults and descriptions come from the model, and
the model validates what a client sends. Here each model only gets the name the schema gives it
(a model may be its fields' type elsewhere, or shared by several mutations), and an exactly-one
model (`ONE_OF`) gets `@oneOf`, so GraphQL itself refuses anything but one of its fields.

strawberry validates an input while it converts the arguments and reports a refusal as a
GraphQL error (or, with an exception handler, as a member of a union). The mutations answer a
payload with `userErrors` instead: each input's conversion hands the resolver a `Refused` in
place of the model, and the argument's Python type says so (`Given[Model]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

import strawberry
from pydantic import BaseModel
from strawberry.pydantic import InputValidationError
from strawberry.pydantic.conversion import build_pydantic_model
from strawberry.types.arguments import InputContext

from service import inputs, validation
from service.errors import UserError
from service.graphql.vocabularies import docstring


@dataclass(frozen=True)
class Refused:
    """An input its model refused: every bad field, as user errors."""

    errors: list[UserError]


InputT = TypeVar("InputT", bound=validation.Input)
_INPUT = (
    "What to write, checked as a whole: every field refused comes back in userErrors, "
    "and then nothing is written."
)

if TYPE_CHECKING:
    Given: TypeAlias = InputT | Refused
else:

    class Given:
        """`Given[Model]`: an argument of GraphQL input type Model, a Refused when refused."""

        def __class_getitem__(cls, model: type[validation.Input]) -> object:
            return Annotated[
                model | Refused, strawberry.argument(graphql_type=model, description=_INPUT)
            ]


def _checked(
    model: type[BaseModel], value: Mapping[str, Any], context: InputContext
) -> BaseModel | Refused:
    try:
        return build_pydantic_model(model, value, context)
    except InputValidationError as exc:
        # Locations start with the argument's name; user errors name fields within it.
        start = len(context.path)
        return Refused(
            [
                validation.user_error(detail.location[start:], detail.type, detail.message)
                for detail in exc.errors
            ]
        )


# Each model under its GraphQL name; nested ones before the inputs that hold them.
_NAMES: dict[type[validation.Input], str] = {
    inputs.SourceInput: "AddSourceInput",
    inputs.SourceRef: "SourceRefInput",
    inputs.HardwareTargetInput: "HardwareTargetInput",
    inputs.ComponentInput: "ComponentInput",
    inputs.ExternalIdSubject: "ExternalIdSubjectInput",
    inputs.LabInput: "CreateLabInput",
    inputs.LabPatch: "UpdateLabInput",
    inputs.ModelInput: "CreateModelInput",
    inputs.ModelPatch: "UpdateModelInput",
    inputs.VersionInput: "CreateVersionInput",
    inputs.VersionPatch: "UpdateVersionInput",
    inputs.PromoteVersionInput: "PromoteVersionInput",
    inputs.HardwareTargetsInput: "SetHardwareTargetsInput",
    inputs.BenchmarkInput: "CreateBenchmarkInput",
    inputs.BenchmarkVersionInput: "CreateBenchmarkVersionInput",
    inputs.ScoreInput: "RecordScoreInput",
    inputs.SupersedeScoreInput: "SupersedeScoreInput",
    inputs.ScoreVerificationInput: "SetScoreVerificationInput",
    inputs.LineageLinkInput: "LinkModelsInput",
    inputs.UnlinkInput: "UnlinkModelsInput",
    inputs.ProgramInput: "CreateProgramInput",
    inputs.ParticipantStatusInput: "SetParticipantStatusInput",
    inputs.TargetInput: "StateTargetInput",
    inputs.ExternalIdInput: "SetExternalIdInput",
    inputs.ArchiveInput: "ArchiveInput",
}


for _model, _name in _NAMES.items():
    strawberry.pydantic.input(
        _model, name=_name, description=docstring(_model), one_of=_model.ONE_OF
    )
    # The hook strawberry.pydantic points at build_pydantic_model: ours answers a Refused.
    _model.__strawberry_definition__.from_input = _checked  # type: ignore[attr-defined]
