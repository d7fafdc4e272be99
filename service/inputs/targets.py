"""The inputs of target writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from service.enums import DatePrecision
from service.inputs.sources import SourceRef
from service.validation import Input, Slug, Text


class TargetInput(Input):
    """A target a lab stated: a value on a benchmark by a date."""

    lab: Slug = Field(description="The lab's slug.")
    benchmark: Slug = Field(description="The benchmark's slug.")
    model: Slug | None = Field(None, description="The model's slug, when the target names one.")
    value: Decimal = Field(description="The value targeted.")
    due_on: dt.date = Field(description="When it is due (the last day of duePrecision's period).")
    due_precision: DatePrecision = Field(description="How exact dueOn is.")
    stated_on: dt.date = Field(description="The day the lab stated it.")
    source: SourceRef = Field(description="Where the lab stated it.")
    note: Text | None = Field(None, description="Anything else, for a person to read.")
