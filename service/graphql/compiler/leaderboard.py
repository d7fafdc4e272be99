"""The leaderboard root field: its ranked page (keyset, after a cursor), knownAt and pageInfo."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from graphql import FieldNode

from service import clock
from service.db import rankings
from service.db.pages import Page
from service.graphql import pagination
from service.graphql.compiler.builder import (
    Builder,
    NotCompilable,
    enum_values,
    json_array,
    json_literal,
    json_nullable,
    json_object,
    json_value,
)
from service.graphql.compiler.rules import TIMESTAMP
from service.graphql.errors import ClientError

_PAGE_ARGUMENTS = ("first", "after", "last", "before")


def _renumbered(sql: str, mapping: Mapping[int, str]) -> str:
    """Put this statement's own $n parameters where a shared fragment has $1, $2 ..."""
    return re.sub(r"\$(\d+)", lambda match: mapping[int(match.group(1))], sql)


def _page(variables: Mapping[str, Any], get: Mapping[str, Callable[..., Any]]) -> Page:
    """The page exactly as the resolver reads it; what it refuses is not compiled, nor a page
    counted from the end or before a cursor (the resolver counts those first)."""
    try:
        page = pagination.page(
            rankings.ordering(), *(get[name](variables) for name in _PAGE_ARGUMENTS)
        )
    except ClientError as exc:
        raise NotCompilable("the resolver reports this page's arguments") from exc
    if page.backward or page.before is not None:
        raise NotCompilable("a page from the end or before a cursor")
    return page


_LEADERBOARD_ARGUMENTS = {
    "benchmark",
    "benchmarkVersion",
    "asOf",
    "knownAt",
    "provenance",
    "verification",
    "stages",
    "countries",
    *_PAGE_ARGUMENTS,
}


def leaderboard(builder: Builder, node: FieldNode, field_def: Any) -> str:
    def arg(name: str) -> Callable[[Mapping[str, Any]], Any]:
        return builder.argument(node, name, field_def.args[name])

    # An argument the statement does not model would be silently ignored: refuse it instead.
    unmodelled = {a.name.value for a in node.arguments or ()} - _LEADERBOARD_ARGUMENTS
    if unmodelled:
        raise NotCompilable(f"leaderboard arguments {sorted(unmodelled)}")
    get_as_of, get_known_at = arg("asOf"), arg("knownAt")
    get_page = {name: arg(name) for name in _PAGE_ARGUMENTS}
    slug = builder.param(arg("benchmark"), "text")
    label = builder.param(arg("benchmarkVersion"), "text")
    as_of = builder.param(lambda v: get_as_of(v) or clock.today(), "date")
    filters = {name: _enum_values(arg(name)) for name in ("provenance", "verification", "stages")}
    provenance = builder.param(filters["provenance"], "score_provenance[]")
    verification = builder.param(filters["verification"], "score_verification[]")
    stages = builder.param(filters["stages"], "version_stage[]")
    countries_arg = arg("countries")
    countries = builder.param(
        lambda v: None if countries_arg(v) is None else [c.upper() for c in countries_arg(v)],
        "text[]",
    )
    first = builder.param(lambda v: _page(v, get_page).limit, "int")
    after = builder.param(lambda v: _page(v, get_page).after, "text[]")

    # As the resolver settles it (service.clock.known_at), from the clock this statement sees.
    def get_asked(variables: Mapping[str, Any]) -> Any:
        return clock.utc(get_known_at(variables))

    asked = builder.param(get_asked, "timestamptz")
    known_at = f"least(coalesce({asked}, 'infinity'), (SELECT last_at FROM transaction_clock))"

    version_sql = _renumbered(rankings.BENCHMARK_VERSION, {1: slug, 2: label, 3: as_of, 4: asked})
    # Without a version the root field fails (NOT_FOUND), and lower-is-better benchmarks walk
    # another order: both are left to the resolver.
    builder.preconditions.append(
        f"EXISTS (SELECT 1 FROM ({version_sql}) AS found WHERE found.higher_is_better)"
    )
    placeholders = {
        "bv": "(SELECT id FROM bv)",
        "as_of": as_of,
        "provenances": provenance,
        "verifications": verification,
        "stages": stages,
        "countries": countries,
        "known_at": "(SELECT at FROM known)",
    }

    # As rankings.from_best decides it: the table answers the latest write, with no filter
    # on scores; otherwise the walk. Settled from the variables before the statement is
    # chosen (a statement per outcome, holding its branch alone), and tested again in SQL,
    # which also holds both branches when there are too many switches to choose from.
    def reads_table(variables: Mapping[str, Any]) -> bool:
        return get_asked(variables) is None and all(
            values(variables) is None for values in filters.values()
        )

    taken = builder.switch(reads_table)
    from_best = (
        f"({asked} IS NULL AND {provenance} IS NULL AND {verification} IS NULL "
        f"AND {stages} IS NULL)"
    )

    def branch(table: str, walk: str) -> str:
        """The table's SQL or the walk's, or a one-time test between them."""
        if taken is None:
            return f"CASE WHEN {from_best} THEN ({table}) ELSE ({walk}) END"
        return table if taken else walk

    # Where the after-cursor stands in the ranking now, counted once.
    low = branch(
        rankings.best_position_sql(placeholders, after, inclusive=True, descending=True),
        rankings.position_sql(placeholders, after, inclusive=True),
    )
    offset = "(SELECT low FROM bounds)"
    limited = {**placeholders, "limit": f"{offset} + {first} + 1"}
    columns = rankings.ENTRY_COLUMNS
    arms = []
    if taken is not False:
        best = rankings.best_sql(limited)
        arms.append(f"SELECT {columns} FROM ({best}) AS best WHERE {from_best}")
    if taken is not True:
        walked = rankings.walk_sql(limited)
        arms.append(f"SELECT {columns} FROM ({walked}) AS walk WHERE NOT {from_best}")
    walk = "\nUNION ALL\n".join(arms)
    entry_alias, version_alias = builder.alias(), builder.alias()
    parts: list[tuple[str, str]] = []
    keyed = builder.keyed(node.selection_set, "Leaderboard")
    _claims(builder, version_sql, shows_clock=any(c.name.value == "knownAt" for _, c in keyed))
    for key, child in keyed:
        name = child.name.value
        if child.arguments:
            raise NotCompilable("arguments inside a leaderboard")
        if name == "__typename":
            parts.append((key, json_literal("Leaderboard")))
        elif name == "asOf":
            parts.append((key, json_value(as_of)))
        elif name == "knownAt":
            parts.append((key, json_value(TIMESTAMP.format(column="(SELECT at FROM known)"))))
        elif name == "totalCount":
            total = branch(rankings.best_total_sql(placeholders), rankings.total_sql(placeholders))
            parts.append((key, json_value(f"({total})")))
        elif name == "benchmarkVersion":
            inner = builder.object(child.selection_set, "BenchmarkVersion", version_alias)
            found = f"(SELECT {inner} FROM benchmark_version AS {version_alias} "
            parts.append((key, json_nullable(f"{found}WHERE {version_alias}.id = bv.id)")))
        elif name == "edges":
            parts.append((key, _edges(builder, child, entry_alias, f"{offset} + {first}")))
        elif name == "nodes":
            node_sql = builder.object(child.selection_set, "LeaderboardEntry", entry_alias)
            parts.append((key, _shown(node_sql, entry_alias, f"{offset} + {first}")))
        elif name == "pageInfo":
            parts.append((key, _page_info(builder, child, first, offset)))
        else:
            raise NotCompilable(f"Leaderboard.{name}")
    return f"""(
WITH known AS (SELECT {known_at} AS at),
bv AS ({version_sql}),
bounds AS (SELECT CASE WHEN {after} IS NULL THEN 0 ELSE ({low}) END AS low),
page AS (SELECT * FROM ({walk}) AS walked WHERE position > {offset})
SELECT {json_object(parts)} FROM bv)"""


def _enum_values(
    get: Callable[[Mapping[str, Any]], Any],
) -> Callable[[Mapping[str, Any]], list[str] | None]:
    def values(variables: Mapping[str, Any]) -> list[str] | None:
        return enum_values(get(variables))

    return values


def _claims(builder: Builder, version_sql: str, *, shows_clock: bool) -> None:
    """What this root's own SQL reads only in part: the scores of the one benchmark version
    ranked (the walk's and LeaderboardEntry.score's, a score by the id the walk found), their
    verification histories, and archiving events only (service.db.rankings). The clock
    (transaction_clock) bounds which rows count: a time it passes is a row's recorded_at,
    stamped by the write that moved it (which notifies that row's table), or an archived_at
    written with plain SQL, which migration 0008 reports as `clock:archived`. So, unless the
    answer shows the clock, only that key of it matters."""
    version = f"ARRAY(SELECT 'benchmark_version:' || found.id FROM ({version_sql}) AS found)"
    builder.claim("score", paths=(("LeaderboardEntry.score",),), anchor=version)
    builder.claim("verification_change", anchor=version)
    archival = frozenset(f"operation:{op}" for op in rankings.ARCHIVAL_OPERATIONS)
    builder.claim("audit_event", keys=archival)
    if not shows_clock:
        builder.claim("transaction_clock", keys=frozenset({"clock:archived"}))


def _edges(builder: Builder, node: FieldNode, entry: str, shown: str) -> str:
    parts: list[tuple[str, str]] = []
    for key, child in builder.keyed(node.selection_set, "LeaderboardEdge"):
        name = child.name.value
        if child.arguments:
            raise NotCompilable("arguments inside an edge")
        if name == "__typename":
            parts.append((key, json_literal("LeaderboardEdge")))
        elif name == "cursor":
            parts.append((key, json_value(pagination.cursor_sql(rankings.ordering(), entry))))
        elif name == "node":
            node_sql = builder.object(child.selection_set, "LeaderboardEntry", entry)
            parts.append((key, node_sql))
        else:
            raise NotCompilable(f"LeaderboardEdge.{name}")
    return _shown(json_object(parts), entry, shown)


def _shown(item: str, entry: str, shown: str) -> str:
    """The page's entries (positions up to `shown`), each as `item`, in rank order."""
    return json_array(
        item, f"{entry}.position", f"page AS {entry} WHERE {entry}.position <= {shown}"
    )


def _page_info(builder: Builder, node: FieldNode, first: str, offset: str) -> str:
    shown = f"page.position > {offset} AND page.position <= {offset} + {first}"
    edge_cursor = pagination.cursor_sql(rankings.ordering(), "page")
    values = {
        "hasNextPage": f"EXISTS (SELECT 1 FROM page WHERE position > {offset} + {first})",
        "hasPreviousPage": f"{offset} > 0",
        "startCursor": f"(SELECT {edge_cursor} FROM page WHERE {shown} "
        "ORDER BY page.position LIMIT 1)",
        "endCursor": f"(SELECT {edge_cursor} FROM page WHERE {shown} "
        "ORDER BY page.position DESC LIMIT 1)",
        "__typename": "'PageInfo'::text",
    }
    parts: list[tuple[str, str]] = []
    for key, child in builder.keyed(node.selection_set, "PageInfo"):
        if child.name.value not in values:
            raise NotCompilable(f"PageInfo.{child.name.value}")
        parts.append((key, json_value(values[child.name.value])))
    return json_object(parts)
