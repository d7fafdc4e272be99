"""What the inputs of several aggregates share: paired date checks, the Patch base of updates,
archiving."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import Field
from pydantic.alias_generators import to_camel

from service.validation import FieldError, Input, Revision, Slug


def paired(on: dt.date | None, precision: Any, field: str) -> None:
    # A date coarser than a day stores the last day of its period; both come together.
    if on is None and precision is not None:
        raise FieldError(f"{field}_on", f"is required with {to_camel(field)}Precision")
    if on is not None and precision is None:
        raise FieldError(f"{field}_precision", f"is required with {to_camel(field)}On")


KEPT = "Left out: unchanged."


CLEARED = f"{KEPT} Null clears it."


NOT_NULL = f"{KEPT} Cannot be null."


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


class ArchiveInput(Input):
    """Archive or restore a lab or model by slug."""

    slug: Slug = Field(description="The lab's or model's slug.")
    # Optional: archiving is a state change clients may make without reading first.
    expected_revision: Revision | None = Field(
        None, description="The revision last read, checked when given: a stale one is a CONFLICT."
    )
