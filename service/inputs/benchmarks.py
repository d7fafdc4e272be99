"""The inputs of benchmark writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from service.inputs.sources import SOURCE, SourceRef
from service.validation import FieldError, Input, Name, Slug, Text, Url


class BenchmarkInput(Input):
    """A new benchmark or index."""

    slug: Slug = Field(description="The benchmark's key, used by every reference to it.")
    name: Name = Field(description="The benchmark's name.")
    publisher: Name | None = Field(None, description="Who runs it.")
    url: Url | None = Field(None, description="Its page.")
    scale_min: Decimal = Field(description="The lowest score possible.")
    scale_max: Decimal = Field(description="The highest score possible; above scaleMin.")
    higher_is_better: bool = Field(True, description="Whether a higher score is better.")
    is_independent: bool = Field(description="Whether it is run independently of the labs.")
    is_index: bool = Field(False, description="Whether it is a weighted average of benchmarks.")
    methodology: Text | None = Field(None, description="How it is measured.")

    def rules(self) -> None:
        if self.scale_max <= self.scale_min:
            raise FieldError("scale_max", "must be greater than scaleMin")


class ComponentInput(Input):
    """One benchmark of an index and its weight."""

    benchmark: Slug = Field(description="The component benchmark's slug.")
    weight: Decimal = Field(gt=0, le=1, description="Its weight; an index's weights sum to 1.")


class BenchmarkVersionInput(Input):
    """A method version of a benchmark; an index's component weights sum to 1."""

    benchmark: Slug = Field(description="The benchmark's slug.")
    label: Name = Field(description="The method version's label, e.g. 'v4'.")
    effective_on: dt.date = Field(description="The day it took effect.")
    notes: Text | None = Field(None, description="What changed, for a person to read.")
    source: SourceRef | None = Field(None, description=SOURCE)
    components: list[ComponentInput] = Field(
        default=[], max_length=100, description="An index's components; empty for a benchmark."
    )

    def rules(self) -> None:
        if self.components and sum(c.weight for c in self.components) != 1:
            raise FieldError("components", "component weights must sum to 1")
        if len({c.benchmark for c in self.components}) != len(self.components):
            raise FieldError("components", "a component benchmark is listed twice")
