"""Pages of ordered lists, cut by key: the one definition every list statement is built from.

An ordering is a named tuple of keys, the last one unique (a row id), so that every row has a
place no other row shares. A page is the rows strictly after one key (`after`) and strictly
before another (`before`), `limit` of them from the start of that range, or from its end
(`backward`). A key names a row's values, not its place in the list, so a page asked for
with a key stays where it was however many rows are written before it: what consumers that
resume, exports and the change feed need.

Keys travel as text (`text[]`, one element per key column) and are cast to the column's
type in SQL; `cursor_key` is the same array built from a row, so a row's key and a client's
cursor are one thing. NULLs sort last in either direction, as the catalog always sorted.
Statements fetch one row more than asked: whether it exists says whether the page stops
short of the range's end. `before_start` and `past_end` say whether any row lies on the
other side of the cursors given (at or before `after`, at or after `before`), so both
directions report both neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class Key:
    """One column of an ordering: an expression over the matched row, its SQL type."""

    column: str
    type: str  # text, bigint, date or numeric
    descending: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Ordering:
    name: str  # what a cursor says it belongs to: a cursor of one ordering fits no other
    keys: tuple[Key, ...]

    def order_by(self, row: str = "", *, reverse: bool = False) -> str:
        prefix = f"{row}." if row else ""
        parts = []
        for key in self.keys:
            descending = key.descending != reverse
            nulls = "FIRST" if reverse else "LAST"
            parts.append(f"{prefix}{key.column} {'DESC' if descending else 'ASC'} NULLS {nulls}")
        return ", ".join(parts)

    def cursor_key(self, row: str = "") -> str:
        prefix = f"{row}." if row else ""
        return "ARRAY[" + ", ".join(f"{prefix}{k.column}::text" for k in self.keys) + "]"


@dataclass(frozen=True)
class Page:
    """Rows of one ordering: `limit` of them past `after` and short of `before` (keys of that
    ordering), from the end of that range when `backward`."""

    ordering: Ordering
    limit: int
    after: Sequence[str | None] | None = None
    before: Sequence[str | None] | None = None
    backward: bool = False


def _value(key: Key, param: str, index: int) -> str:
    return f"({param}::text[])[{index}]::{key.type}"


def beyond(ordering: Ordering, param: str, *, later: bool, row: str = "") -> str:
    """SQL: the row (aliased `row`) lies strictly after (later) or before the key that the
    text[] `param` holds, in the ordering."""
    return _beyond(ordering.keys, param, later=later, row=f"{row}." if row else "")


def _beyond(keys: Sequence[Key], param: str, *, later: bool, row: str, start: int = 1) -> str:
    key, rest = keys[0], keys[1:]
    column, value = f"{row}{key.column}", _value(key, param, start)
    ahead = later != key.descending  # towards larger values
    compare = ">" if ahead else "<"
    if not key.nullable:
        strictly = f"{column} {compare} {value}"
        equal = f"{column} = {value}"
    else:
        # NULLs sort after every value: later means "a value, then NULL", earlier the reverse.
        if later:
            strictly = f"({value} IS NOT NULL AND ({column} IS NULL OR {column} {compare} {value}))"
        else:
            strictly = f"({column} IS NOT NULL AND ({value} IS NULL OR {column} {compare} {value}))"
        equal = f"{column} IS NOT DISTINCT FROM {value}"
    if not rest:
        return f"({strictly})"
    then = _beyond(rest, param, later=later, row=row, start=start + 1)
    return f"({strictly} OR ({equal} AND {then}))"


def paged(
    matched: str, ordering: Ordering, *, backward: bool, after: bool, before: bool, counted: bool
) -> str:
    """One page of `matched` in the ordering, with `cursor_key` and the neighbour flags.

    Parameters: $after and $before (text[] keys; `after`, `before` say whether each is given,
    a statement per case so that a given key is a plain index condition) and $limit. An
    empty page is one row whose page columns are NULL, so the flags (and `total`) always
    come back. With `counted` the rows matched are gathered once and every row carries
    `total`; without it (long lists such as the change feed, counted on request) `matched`
    is only probed by its indexes: the page, and one EXISTS per flag.
    """
    # A key not given is NULL: "$after IS NULL" keeps every row and still types the parameter.
    past_after = beyond(ordering, "$after", later=True) if after else "$after::text[] IS NULL"
    short_of_before = (
        beyond(ordering, "$before", later=False) if before else "$before::text[] IS NULL"
    )
    page = f"""
    SELECT matched.*, {ordering.cursor_key("matched")} AS cursor_key FROM {{source}} AS matched
    WHERE {past_after} AND {short_of_before}
    ORDER BY {ordering.order_by(reverse=backward)}
    LIMIT $limit + 1"""
    if counted:
        return f"""
WITH matched AS ({matched}), counted AS (
    SELECT count(*) AS total,
           COALESCE(bool_or(NOT {past_after}), false) AS before_start,
           COALESCE(bool_or(NOT {short_of_before}), false) AS past_end
    FROM matched
)
SELECT page.*, counted.total, counted.before_start, counted.past_end
FROM counted LEFT JOIN LATERAL ({page.format(source="matched")}
) AS page ON true
"""
    source = f"({matched})"
    return f"""
SELECT page.*, flags.before_start, flags.past_end
FROM (
    SELECT EXISTS (SELECT 1 FROM {source} AS matched WHERE NOT {past_after}) AS before_start,
           EXISTS (SELECT 1 FROM {source} AS matched WHERE NOT {short_of_before}) AS past_end
) AS flags LEFT JOIN LATERAL ({page.format(source=source)}
) AS page ON true
"""


def numbered(sql: str, names: tuple[str, ...]) -> str:
    # Named placeholders keep the statements readable; asyncpg wants $1..$n. Longer names
    # go first so "$o" never eats the start of "$offset".
    numbers = {name: index for index, name in enumerate(names, start=1)}
    for name in sorted(names, key=len, reverse=True):
        sql = sql.replace(f"${name}", f"${numbers[name]}")
    return sql


@dataclass(frozen=True)
class Statements:
    """A list's page statements, one per direction and cursors given; parameters: the
    list's own, then after, before, limit (`args`)."""

    ordering: Ordering
    sql: dict[tuple[bool, bool, bool], str]

    def __call__(self, page: Page) -> str:
        assert page.ordering == self.ordering, "a page of another list"
        return self.sql[page.backward, page.after is not None, page.before is not None]

    def wrapped(self, wrap: Callable[[str, bool], str]) -> Statements:
        """Each statement inside another: wrap(statement, backward)."""
        return Statements(
            self.ordering, {case: wrap(sql, case[0]) for case, sql in self.sql.items()}
        )


def statements(
    matched: str, ordering: Ordering, params: tuple[str, ...], *, counted: bool = True
) -> Statements:
    names = (*params, "after", "before", "limit")
    cases = [(b, a, c) for b in (False, True) for a in (False, True) for c in (False, True)]
    return Statements(
        ordering,
        {
            (backward, after, before): numbered(
                paged(
                    matched,
                    ordering,
                    backward=backward,
                    after=after,
                    before=before,
                    counted=counted,
                ),
                names,
            )
            for backward, after, before in cases
        },
    )


def args(page: Page) -> tuple[object, ...]:
    """The page's parameters, in the order `statements` numbers them."""
    return (
        None if page.after is None else list(page.after),
        None if page.before is None else list(page.before),
        page.limit,
    )
