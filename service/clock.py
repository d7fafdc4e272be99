"""The registry's calendar: "today" is the current date in UTC, on every path and replica.

A date argument left out means today; the server's local time zone never decides it, so two
replicas in different zones, or one before and after a DST change, give the same answer.
"""

from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
