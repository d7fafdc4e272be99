"""The inputs of external-id writes."""

from __future__ import annotations

from pydantic import Field

from service.enums import ExternalSystem
from service.validation import Input, Name, Slug, omitted


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
