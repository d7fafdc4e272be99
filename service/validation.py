"""What every input shares: field types with their constraints, the Input base, and errors.

Constraints are written once, in a field's type or its `Field(...)`: pydantic checks them, and
`Input` adds them in words to the field's description, which the GraphQL schema shows. Rules
across fields (`Input.rules`) raise FieldError naming the field to blame; pydantic reports it at
that field like any other, so every entry point (GraphQL, the demo data) names it the same way.

A field a client may leave out with a meaning of its own ("keep the current value", one branch
of an exactly-one input) is declared with `omitted()`: it shows no default in the SDL, and being
left out is not the same as being sent as null (`model_fields_set` tells them apart).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, ClassVar, NewType, Self, TypeVar, get_args, get_origin

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from service import ids
from service.errors import ErrorCode, InputRejected, UserError

_SLUG = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class FieldError(ValueError):
    """A rule across fields broken: names the one field to blame (snake_case), or "input"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def located(self) -> ValidationError:
        """This error as pydantic reports a bad field: located at the field it blames."""
        location = () if self.field == "input" else (self.field,)
        detail = InitErrorDetails(
            type=PydanticCustomError("invalid", str(self)), loc=location, input=None
        )
        return ValidationError.from_exception_data("input", [detail])


# The docstring of each rule below is what a field's description says of it.
def _slug(value: str) -> str:
    """lower-case letters and digits joined by single '-' or '.'"""
    if not _SLUG.fullmatch(value):
        raise ValueError("must be lower-case letters and digits joined by single '-' or '.'")
    return value


def _country(value: str) -> str:
    """an ISO 3166-1 alpha-2 code, any case"""
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _url(value: str) -> str:
    """an absolute http(s) URL"""
    if not _URL.fullmatch(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


class PublicId(int):
    """A row named by its public id (service.ids), decoded to the row id on validation.

    A subclass per type of row names the type it must be; an id of another type, or no id at
    all, is an error at the field. The GraphQL layer shows these fields as `ID`.
    """

    type_name: ClassVar[str]

    @classmethod
    def _row_id(cls, value: Any) -> Any:
        # A client sends the public id (a string); Python callers may give the row id itself.
        if not isinstance(value, str):
            return value
        decoded = ids.decode(value)
        if decoded is None or decoded[0] != cls.type_name:
            raise ValueError(f"is not the id of a {cls.type_name}")
        return decoded[1]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        # A row id is a positive 64-bit integer; a larger one is OUT_OF_RANGE, not a crash.
        row_id = core_schema.int_schema(ge=1, le=2**63 - 1)
        return core_schema.no_info_before_validator_function(
            cls._row_id, core_schema.no_info_after_validator_function(cls, row_id)
        )


class ScoreId(PublicId):
    type_name = "Score"


class SourceId(PublicId):
    type_name = "Source"


# Parameter counts pass 2^31; the GraphQL layer shows them as its BigInt scalar.
ParameterCount = NewType("ParameterCount", int)
# A free-form object (e.g. reasoning effort); the GraphQL layer shows it as JSON.
RunConfiguration = NewType("RunConfiguration", dict[str, Any])

Slug = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_slug)]
CountryCode = Annotated[str, AfterValidator(_country)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_url)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=20_000)]
Count = Annotated[ParameterCount, Field(gt=0, le=10**15)]
# The column is a 32-bit integer: a larger window would fail in the database, not here.
ContextWindow = Annotated[int, Field(gt=0, le=2**31 - 1)]
Revision = Annotated[int, Field(ge=1)]


def _left_out() -> None:
    return None


def omitted(description: str, **constraints: Any) -> Any:
    """A field that may be left out, which then holds None without counting as sent.

    pydantic leaves a default factory's value out of `model_fields_set`, and strawberry shows
    such a field nullable with no default: left out and null can mean different things.
    """
    return Field(default_factory=_left_out, description=description, **constraints)


def _metadata(annotation: Any) -> Iterator[Any]:
    """The constraints inside an annotation, e.g. within `Slug | None`."""
    if get_origin(annotation) is Annotated:
        for item in get_args(annotation)[1:]:
            yield from item.metadata if isinstance(item, FieldInfo) else (item,)
        yield from _metadata(get_args(annotation)[0])
    elif get_origin(annotation) is not list:
        for arg in get_args(annotation):
            yield from _metadata(arg)


def _number(value: Any) -> str:
    # Years and lengths read plainly; large bounds get thousands separators.
    return f"{value:,}" if isinstance(value, int) and value >= 100_000 else str(value)


# The constraint objects pydantic keeps per field (annotated_types), by the attribute each has.
_BOUNDS = (("gt", "greater than"), ("ge", "at least"), ("lt", "less than"), ("le", "at most"))
_CONSTRAINTS = ("min_length", "max_length", "decimal_places", *(name for name, _ in _BOUNDS))


def _constraints(info: FieldInfo) -> list[str]:
    """What a field's own constraints say, in words, in a stable order."""
    found: dict[str, Any] = {}
    rules: list[str] = []
    for item in [*info.metadata, *_metadata(info.annotation)]:
        if isinstance(item, AfterValidator) and item.func.__doc__:
            rules.append(item.func.__doc__)
        for name in _CONSTRAINTS:
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    unit = "items" if get_origin(info.annotation) is list else "characters"
    if "min_length" in found and "max_length" in found:
        rules.append(f"{_number(found['min_length'])} to {_number(found['max_length'])} {unit}")
    elif "max_length" in found:
        rules.append(f"at most {_number(found['max_length'])} {unit}")
    words = [f"{phrase} {_number(found[name])}" for name, phrase in _BOUNDS if name in found]
    if found.keys() & {"ge", "le"} == {"ge", "le"} and len(words) == 2:
        words = [f"from {_number(found['ge'])} to {_number(found['le'])}"]
    if words:
        rules.append(", ".join(words))
    if "decimal_places" in found:
        rules.append(f"at most {found['decimal_places']} decimal places")
    return rules


class Input(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Each field's description ends with its constraints, written once in its type.
        for name in inspect.get_annotations(cls):
            info = cls.model_fields.get(name)
            rules = [] if info is None else _constraints(info)
            if info is not None and rules:
                sentence = "; ".join(rules)
                described = f"{info.description or ''} {sentence[0].upper()}{sentence[1:]}."
                info.description = described.strip()

    # Exactly one field is given (GraphQL's @oneOf): a choice between ways to say one thing.
    ONE_OF: ClassVar[bool] = False

    @model_validator(mode="after")
    def _rules_hold(self) -> Self:
        try:
            if self.ONE_OF:
                self._one_given()
            self.rules()
        except FieldError as exc:
            raise exc.located() from None
        return self

    def _one_given(self) -> None:
        names = list(type(self).model_fields)
        if sum(getattr(self, name) is not None for name in names) != 1:
            choices = " or ".join(to_camel(name) for name in names)
            raise FieldError("input", f"give exactly one of {choices}")

    def rules(self) -> None:
        """Rules across fields: raise FieldError naming the field to blame."""


InputT = TypeVar("InputT", bound=Input)

_OUT_OF_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def parse(model: type[InputT], data: Any) -> InputT:
    """Validate raw data into an input model, or raise InputRejected naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputRejected([_refused(error) for error in exc.errors()]) from exc


def _refused(error: Any) -> UserError:
    path = [to_camel(str(part)) for part in error["loc"]]
    return user_error(path, error["type"], str(error["msg"]).removeprefix("Value error, "))


def user_error(path: Sequence[str], kind: str, message: str) -> UserError:
    """A refused field as a user error: its camelCase path, a stable code, pydantic's message.

    `kind` is pydantic's error type: a bound broken is OUT_OF_RANGE, anything else INVALID.
    """
    code = ErrorCode.OUT_OF_RANGE if kind in _OUT_OF_RANGE else ErrorCode.INVALID
    return UserError(".".join(path) or "input", message, code)
