"""The inputs of lab writes."""

from __future__ import annotations

from pydantic import Field

from service.inputs.shared import CLEARED, NOT_NULL, Patch
from service.validation import CountryCode, Input, Name, Slug, Text, Url, omitted


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


class LabPatch(Patch):
    """Change a lab: only the fields sent change; null clears an optional one."""

    KEYS = frozenset({"slug"})
    REQUIRED = frozenset({"name"})

    slug: Slug = Field(description="The lab's slug.")
    name: Name | None = omitted(f"The lab's name. {NOT_NULL}")
    country: CountryCode | None = omitted(f"Its country. {CLEARED}")
    founded_year: int | None = omitted(f"The year it was founded. {CLEARED}", ge=1900, le=2100)
    headquarters: Name | None = omitted(f"Its headquarters' city. {CLEARED}")
    website: Url | None = omitted(f"Its website. {CLEARED}")
    description: Text | None = omitted(f"What it is. {CLEARED}")
