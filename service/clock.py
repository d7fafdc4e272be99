"""The registry's calendar: "today" is the current date in UTC, on every path and replica.

A date argument left out means today; the server's local time zone never decides it, so two
replicas in different zones, or one before and after a DST change, give the same answer.
"""

from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def known_at(asked: dt.datetime | None, registry_clock: dt.datetime) -> dt.datetime:
    """The transaction time an answer is computed for, in UTC: the one asked (a time without an
    offset is UTC), or the registry's clock (the time of its latest write) when that is earlier.

    Past the clock, a write still committing may yet be recorded at or before the time asked;
    at or before it, nothing can be any more (migration 0007), so the answer is final. Asked
    for nothing ("now"), the answer is the one for the latest write, the same since then.
    """
    asked = utc(asked)
    if asked is None or asked > registry_clock:
        return registry_clock
    return asked


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A time in UTC, the registry's calendar (a time without an offset already is)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
