"""The inputs of programme writes."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from service.enums import DatePrecision, ParticipantStatus
from service.inputs.shared import paired
from service.inputs.sources import SOURCE, SourceRef
from service.validation import CountryCode, Input, Name, Slug, Text


class ProgramInput(Input):
    """A new public programme that selects labs."""

    slug: Slug = Field(description="The programme's key, used by every reference to it.")
    name: Name = Field(description="The programme's name.")
    sponsor: Name = Field(description="Who runs it.")
    country: CountryCode = Field(description="Its country.")
    started_on: dt.date | None = Field(
        None, description="When it started (the last day of startedPrecision's period)."
    )
    started_precision: DatePrecision | None = Field(
        None, description="How exact startedOn is; given with it."
    )
    description: Text | None = Field(None, description="What it is, for a person to read.")
    source: SourceRef | None = Field(None, description=SOURCE)

    def rules(self) -> None:
        paired(self.started_on, self.started_precision, "started")


class ParticipantStatusInput(Input):
    """A lab's status in a programme from a date on."""

    program: Slug = Field(description="The programme's slug.")
    lab: Slug = Field(description="The lab's slug.")
    status: ParticipantStatus = Field(description="Its status from effectiveOn on.")
    effective_on: dt.date = Field(description="The day the status took effect.")
    effective_precision: DatePrecision = Field(
        DatePrecision.DAY, description="How exact effectiveOn is."
    )
    source: SourceRef | None = Field(None, description=SOURCE)
    note: Text | None = Field(None, description="Anything else, for a person to read.")
