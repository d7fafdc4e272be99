"""The inputs that name a source: a new one's details, or a reference to a recorded one."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from service.enums import SourceKind
from service.validation import Input, Name, SourceId, Url, omitted


class SourceInput(Input):
    """A source's details: a URL only for a page actually cited, never a guessed one."""

    url: Url | None = Field(None, description="The page cited; null when none was recorded.")
    title: Name = Field(
        description="The headline or title; a description in [square brackets] when the "
        "source has none of its own or it was not recorded."
    )
    publisher: Name | None = Field(None, description="Who published it; null when not known.")
    published_on: dt.date | None = Field(
        None, description="The day it was published; null when not known."
    )
    kind: SourceKind = Field(description="What sort of source it is.")


class SourceRef(Input):
    """Cite a source: exactly one of id (a recorded source) or new (its details).

    A new source identical to one already recorded is that source, so citing the same
    article twice never records it twice.
    """

    ONE_OF = True

    id: SourceId | None = omitted("A recorded source's id (sources(filter:) finds it).")
    new: SourceInput | None = omitted("A source's details; recorded unless already there.")


SOURCE = "Where the fact comes from; null when no source is cited."
