"""What an answer read and what a write touched, in one vocabulary, and whether they meet.

A `Scope` maps a table to the keys of its rows concerned, or to None for the whole table:
`{"score": {"version:7"}, "model": None}`. `EVERYTHING` (None as a scope) stands for "not
known", which meets anything. A cached answer's scope is what its statements read; a write's
is what its NOTIFY payloads said (migration 0008). They meet when they share a table whose
keys, on both sides, are not disjoint sets. Keys are namespaced ("version:7",
"benchmark_version:3", "operation:archiveLab"), so a write names every key its rows have and
an answer only the ones its reading was limited to.

An answer's tables come from the text of every statement it ran (`tables_of`): any word that
is a table's name counts, so a column or alias named like a table only widens the scope. A
statement naming a table whose writes do not notify, or an unknown one, reads EVERYTHING
(a test compares these lists with the database's own).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Mapping

import orjson

Keys = frozenset[str] | None
Scope = dict[str, Keys]
EVERYTHING: None = None

# Tables whose every write sends a notification (migrations 0002 and 0008).
NOTIFYING = frozenset(
    {
        "country",
        "source",
        "lab",
        "model_family",
        "model",
        "model_version",
        "hardware_target",
        "benchmark",
        "benchmark_version",
        "benchmark_component",
        "score",
        "lineage_link",
        "program",
        "program_participant",
        "participant_status_change",
        "target",
        "external_id",
        "audit_event",
        "verification_change",
        "transaction_clock",
    }
)
# Bookkeeping that never notifies: an answer reading it is never narrowed.
# (leaderboard_best_pending: a transaction's own marks, never read by a query; migration 0011.)
SILENT = frozenset(
    {
        "api_token",
        "idempotency_key",
        "persisted_document",
        "alembic_version",
        "leaderboard_best_pending",
    }
)
# Tables written only by triggers, in the transaction of a write to the tables they derive
# from (each model's best, migrations 0009, 0010): reading one reads those, and a root that
# claims them (the compiled leaderboard) narrows them as it does for the walk.
DERIVED: Mapping[str, frozenset[str]] = {
    "leaderboard_best": frozenset({"score", "verification_change", "audit_event", "model", "lab"})
}
# SQL functions that read tables (the trigger functions are never called by a query).
FUNCTIONS: Mapping[str, frozenset[str]] = {
    "transaction_time": frozenset({"transaction_clock"}),
    "audit_event_labs": frozenset({"model", "program_participant"}),
}

_WORD = re.compile(r"[a-z_][a-z0-9_]*")


@functools.lru_cache(maxsize=4096)
def tables_of(sql: str) -> Scope | None:
    """The whole tables a statement may read, from its text; EVERYTHING if it names one that
    does not notify. Statements are module constants and compiled plans: few distinct texts."""
    words = set(_WORD.findall(sql.lower()))
    found = words & NOTIFYING
    for table in words & DERIVED.keys():
        found |= DERIVED[table]
    for function in words & FUNCTIONS.keys():
        found |= FUNCTIONS[function]
    return EVERYTHING if words & SILENT else dict.fromkeys(found)


def union(scopes: Iterable[Scope | None]) -> Scope | None:
    merged: Scope = {}
    for scope in scopes:
        if scope is EVERYTHING:
            return EVERYTHING
        for table, keys in scope.items():
            if table in merged:
                old = merged[table]
                merged[table] = None if old is None or keys is None else old | keys
            else:
                merged[table] = keys
    return merged


def meets(read: Scope | None, written: Scope | None) -> bool:
    """Whether a write of `written` may change an answer that read `read`."""
    if read is EVERYTHING or written is EVERYTHING:
        return True
    return any(table in read and _overlap(keys, read[table]) for table, keys in written.items())


def _overlap(written: Keys, read: Keys) -> bool:
    """Whether the keys of one table's rows, written and read, may share a row (None: all)."""
    return written is None or read is None or not written.isdisjoint(read)


def parse_payload(payload: str) -> Scope | None:
    """A notification's payload: a bare table name (the whole table: migration 0002's form, and
    0008's when the keys would not fit), or `{"t": table, "k": [keys]}`; else EVERYTHING."""
    if payload in NOTIFYING:
        return {payload: None}
    with contextlib.suppress(orjson.JSONDecodeError):
        found = orjson.loads(payload)
        table, keys = (found.get("t"), found.get("k")) if isinstance(found, dict) else (None, None)
        if table in NOTIFYING and isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            return {str(table): frozenset(keys)}
    return EVERYTHING
