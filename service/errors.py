"""Every error the registry raises on purpose derives from one base class.

    RegistryError
    ├── ConfigurationError          settings that cannot work (bad DATABASE_URL, unusable data dir)
    ├── EmbeddedPostgresError       the embedded PostgreSQL could not be initialised or started
    ├── InputRejected               one or more UserErrors found together (all fields at once)
    ├── ImportFailed                `registry import` refused a file (service.importer)
    ├── ExportCutShort              `registry export` stopped by the database (service.export)
    └── UserError                   a client's input was refused; carries field, code and message
        ├── ValidationFailed        INVALID / OUT_OF_RANGE: the input breaks a rule
        ├── NotFound                NOT_FOUND: a referenced row does not exist
        ├── AlreadyExists           ALREADY_EXISTS: a unique key is taken
        ├── Conflict                CONFLICT: a stale revision or a concurrent change
        ├── CycleDetected           CYCLE: a lineage link would close a cycle
        └── Archived                ARCHIVED: the lab or model written to is archived

UserErrors are expected and become `userErrors` data in mutation payloads; anything else
that reaches the GraphQL layer is logged with a request id and masked for the client.
"""

from __future__ import annotations

from service.enums import Vocabulary


class ErrorCode(Vocabulary):
    """Why a mutation wrote nothing; the entry's `field` names the input field at fault."""

    INVALID = "INVALID", "The value breaks a rule (a format, a pattern, a pairing of fields)."
    NOT_FOUND = "NOT_FOUND", "The row the field refers to does not exist."
    ALREADY_EXISTS = "ALREADY_EXISTS", "The slug, label or key is taken."
    OUT_OF_RANGE = (
        "OUT_OF_RANGE",
        "The value is outside its bounds (a length, a minimum, a maximum).",
    )
    CYCLE = "CYCLE", "The lineage link would make a model its own ancestor."
    CONFLICT = (
        "CONFLICT",
        "The row changed since it was read (a stale `revision`), or a concurrent write "
        "conflicted; read it again and retry.",
    )
    ARCHIVED = "ARCHIVED", "The lab or model written to is archived; restore it first."


class RegistryError(Exception):
    """Base class of every error the registry raises on purpose."""


class ConfigurationError(RegistryError):
    pass


class EmbeddedPostgresError(RegistryError):
    """The message is one line for a terminal; `detail` keeps the tool's output or log tail."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class UserError(RegistryError):
    code: ErrorCode = ErrorCode.INVALID

    def __init__(self, field: str, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        if code is not None:
            self.code = code


class ValidationFailed(UserError):
    code = ErrorCode.INVALID


class NotFound(UserError):
    code = ErrorCode.NOT_FOUND


class AlreadyExists(UserError):
    code = ErrorCode.ALREADY_EXISTS


class Conflict(UserError):
    code = ErrorCode.CONFLICT


class CycleDetected(UserError):
    code = ErrorCode.CYCLE


class Archived(UserError):
    code = ErrorCode.ARCHIVED


class InputRejected(RegistryError):
    """Several UserErrors found in one input, reported together."""

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors
