"""The inputs of lineage writes."""

from __future__ import annotations

from pydantic import Field

from service.enums import LineageRelation
from service.inputs.sources import SOURCE, SourceRef
from service.validation import Input, Slug, Text


class LineageLinkInput(Input):
    """A link from a parent model to a child; a link closing a cycle is refused."""

    parent: Slug = Field(description="The parent model's slug.")
    child: Slug = Field(description="The child model's slug.")
    relation: LineageRelation = Field(description="How the child comes from the parent.")
    source: SourceRef | None = Field(None, description=SOURCE)
    note: Text | None = Field(None, description="Anything else, for a person to read.")


class UnlinkInput(Input):
    """The lineage link to remove."""

    parent: Slug = Field(description="The parent model's slug.")
    child: Slug = Field(description="The child model's slug.")
    relation: LineageRelation = Field(
        description="The relation of the link to remove (two models may be linked by several)."
    )
