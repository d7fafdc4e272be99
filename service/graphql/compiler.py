"""Compile a validated GraphQL selection into ONE SQL statement that builds the response JSON.

graphql-core spends a few microseconds on every field of every row; for the documents
frontends send on every view (a leaderboard, a model page, a lab) that per-field work, not
the database, dominates. For those documents the selection is turned into nested
json_build_object / json_agg expressions once, cached by document, and PostgreSQL returns
the finished `{"data": ...}` bytes. Anything the compiler does not cover (a field it has no
rule for, an argument on a nested field, a directive, an abstract type) raises
NotCompilable and the request takes the normal execution path; so does any request whose
root field would fail (an unknown benchmark), so errors are always produced by one path.

Rules map each object type's fields to SQL over a table alias `{t}`:
  Scalar   an expression over the row
  ToOne    a correlated subquery returning one object (NULL when absent)
  ToMany   a correlated json_agg subquery (never NULL)
Every value, ordering and null matches what the resolvers in graphql/types/ return; a test runs a
corpus of documents through both paths and requires identical data.

Over 400 lines on purpose for now: the rules table and the builder are being reworked (issue
10, item 3: rules derived from the resolvers; item 2: keyset pages), so it stays one module
until then; the split it wants is rules / builder / root fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    value_from_ast,
)

from service import clock, ids
from service.db import graph, models, rankings, scores
from service.db.pages import Page
from service.graphql import lineage, pagination
from service.graphql.errors import ClientError
from service.graphql.limits import NESTED_LIST_CAP

_PAGE_ARGUMENTS = ("first", "after", "last", "before")


class NotCompilable(Exception):
    """The document needs the normal execution path."""


def _check_unguarded(field: GraphQLField | None, where: str) -> None:
    # A permission class or a field extension runs per field in graphql-core; the compiled
    # statement would skip it, so such a field is never compiled, whatever RULES say.
    definition = field.extensions.get("strawberry-definition") if field is not None else None
    if definition is not None and (definition.permission_classes or definition.extensions):
        raise NotCompilable(f"{where} is guarded")


def _global_id(type_name: str, column: str) -> str:
    return ids.sql(type_name, column)


@dataclass(frozen=True)
class Scalar:
    sql: str


@dataclass(frozen=True)
class ToOne:
    type_name: str
    source: str  # FROM ... WHERE ... selecting one row as {c}, correlated to {t}
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ToMany:
    type_name: str
    source: str  # FROM ... WHERE ... rows as {c}, correlated to {t}
    order: str  # ORDER BY expression over {c}


Rule = Scalar | ToOne | ToMany


def _precise(on: str, precision: str) -> ToOne:
    return ToOne(
        "PreciseDate",
        f"(SELECT {{t}}.{on} AS date, {{t}}.{precision} AS precision) AS {{c}} "
        f"WHERE {{t}}.{on} IS NOT NULL AND {{t}}.{precision} IS NOT NULL",
    )


# strawberry's DateTime is Python's isoformat(): "2026-05-30T08:00:00.123456+00:00".
_TIMESTAMP = (
    "to_json(CASE WHEN {column} IS NULL THEN NULL ELSE "
    "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN extract(microseconds FROM {column})::int % 1000000 = 0 THEN '' "
    "ELSE to_char({column} AT TIME ZONE 'UTC', '.US') END || '+00:00' END)"
)
_SUPERSEDED = scores.SUPERSEDED.format(score="{t}")


def _float(column: str) -> Scalar:
    # PostgreSQL writes an integral float8 as `40`, Python (the resolver path) as `40.0`: give
    # integral values their fraction here so both paths send the same bytes for a Float.
    return Scalar(
        f"(CASE WHEN {column} = trunc({column}) AND abs({column}) < 1e15 "
        f"THEN (trunc({column})::numeric::text || '.0')::json ELSE to_json({column}) END)"
    )


RULES: dict[str, dict[str, Rule]] = {
    "Country": {
        "code": Scalar("{t}.code"),
        "name": Scalar("{t}.name"),
    },
    "PreciseDate": {
        "date": Scalar("{t}.date"),
        "precision": Scalar("{t}.precision"),
    },
    "Source": {
        "id": Scalar(_global_id("Source", "{t}.id")),
        "url": Scalar("{t}.url"),
        "title": Scalar("{t}.title"),
        "publisher": Scalar("{t}.publisher"),
        "publishedOn": Scalar("{t}.published_on"),
        "kind": Scalar("{t}.kind"),
    },
    "Lab": {
        "id": Scalar(_global_id("Lab", "{t}.id")),
        "slug": Scalar("{t}.slug"),
        "name": Scalar("{t}.name"),
        "foundedYear": Scalar("{t}.founded_year"),
        "headquarters": Scalar("{t}.headquarters"),
        "website": Scalar("{t}.website"),
        "description": Scalar("{t}.description"),
        "revision": Scalar("{t}.revision"),
        "archivedAt": Scalar(_TIMESTAMP.format(column="{t}.archived_at")),
        "country": ToOne("Country", "country AS {c} WHERE {c}.code = {t}.country_code"),
        "models": ToMany(
            "Model",
            "model AS {c} WHERE {c}.lab_id = {t}.id AND {c}.archived_at IS NULL",
            models.MODEL_ORDER.format(t="{c}"),
        ),
    },
    "ModelFamily": {
        "id": Scalar(_global_id("ModelFamily", "{t}.id")),
        "slug": Scalar("{t}.slug"),
        "name": Scalar("{t}.name"),
        "description": Scalar("{t}.description"),
    },
    "Model": {
        "id": Scalar(_global_id("Model", "{t}.id")),
        "slug": Scalar("{t}.slug"),
        "name": Scalar("{t}.name"),
        "modality": Scalar("{t}.modality"),
        "openWeights": Scalar("{t}.open_weights"),
        "license": Scalar("{t}.license"),
        "trainingOrigin": Scalar("{t}.training_origin"),
        "description": Scalar("{t}.description"),
        "revision": Scalar("{t}.revision"),
        "archivedAt": Scalar(_TIMESTAMP.format(column="{t}.archived_at")),
        "lab": ToOne("Lab", "lab AS {c} WHERE {c}.id = {t}.lab_id"),
        "family": ToOne("ModelFamily", "model_family AS {c} WHERE {c}.id = {t}.family_id"),
        "versions": ToMany(
            "Version",
            "model_version AS {c} WHERE {c}.model_id = {t}.id",
            models.VERSION_ORDER.format(t="{c}"),
        ),
    },
    "HardwareTarget": {
        "accelerator": Scalar("{t}.accelerator"),
        "acceleratorCount": Scalar("{t}.accelerator_count"),
        "memoryGb": _float("{t}.memory_gb::float8"),
        "precision": Scalar("{t}.precision"),
        "note": Scalar("{t}.note"),
    },
    "Version": {
        "id": Scalar(_global_id("Version", "{t}.id")),
        "label": Scalar("{t}.label"),
        "stage": Scalar("{t}.stage"),
        "isPreview": Scalar("{t}.stage = 'PREVIEW'"),
        "announcedOn": Scalar("{t}.announced_on"),
        "released": _precise("released_on", "released_precision"),
        "planned": _precise("planned_on", "planned_precision"),
        "totalParameters": Scalar("{t}.total_parameters"),
        "activeParameters": Scalar("{t}.active_parameters"),
        "contextWindow": Scalar("{t}.context_window"),
        "revision": Scalar("{t}.revision"),
        "model": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.model_id"),
        "source": ToOne("Source", "source AS {c} WHERE {c}.id = {t}.source_id"),
        "promotedFrom": ToOne(
            "Version", "model_version AS {c} WHERE {c}.id = {t}.promoted_from_id"
        ),
        "hardwareTargets": ToMany(
            "HardwareTarget",
            "hardware_target AS {c} WHERE {c}.version_id = {t}.id",
            models.HARDWARE_ORDER.format(t="{c}"),
        ),
        "scores": ToMany(
            "Score",
            "score AS {c} WHERE {c}.version_id = {t}.id",
            scores.ORDER.format(t="{c}"),
        ),
    },
    "BenchmarkVersion": {
        "id": Scalar(_global_id("BenchmarkVersion", "{t}.id")),
        "label": Scalar("{t}.label"),
        "effectiveOn": Scalar("{t}.effective_on"),
        "benchmarkSlug": Scalar("(SELECT slug FROM benchmark WHERE id = {t}.benchmark_id)"),
        "benchmarkName": Scalar("(SELECT name FROM benchmark WHERE id = {t}.benchmark_id)"),
    },
    "Score": {
        "id": Scalar(_global_id("Score", "{t}.id")),
        "value": _float("{t}.value::float8"),
        "qualifier": Scalar("{t}.qualifier"),
        "uncertainty": _float("{t}.uncertainty::float8"),
        "runConfiguration": Scalar("{t}.run_configuration"),
        "measuredOn": Scalar("{t}.measured_on"),
        "provenance": Scalar("{t}.provenance"),
        "verification": Scalar("{t}.verification"),
        "verificationChangedOn": Scalar("{t}.verification_changed_on"),
        "superseded": Scalar(_SUPERSEDED),
        "recordedAt": Scalar(_TIMESTAMP.format(column="{t}.recorded_at")),
        "note": Scalar("{t}.note"),
        "source": ToOne("Source", "source AS {c} WHERE {c}.id = {t}.source_id"),
        "benchmarkVersion": ToOne(
            "BenchmarkVersion", "benchmark_version AS {c} WHERE {c}.id = {t}.benchmark_version_id"
        ),
        "version": ToOne("Version", "model_version AS {c} WHERE {c}.id = {t}.version_id"),
    },
    # A leaderboard row ({t} is one ranked row: score columns plus rank, model_id, lab_id).
    "LeaderboardEntry": {
        "rank": Scalar("{t}.rank"),
        # Eligible as of the date means not superseded as of it, and its verification is the
        # one recorded by the time the answer is for, as the resolver says.
        "score": ToOne(
            "Score",
            "(SELECT score.*, {t}.known_change FROM score WHERE score.id = {t}.id) AS {c}",
            {
                "superseded": "false",
                # No history: its status never changed, and its row says.
                "verification": "coalesce(({t}.known_change).verification, {t}.verification)",
                "verificationChangedOn": "CASE WHEN ({t}.known_change).id IS NULL "
                "THEN {t}.verification_changed_on ELSE ({t}.known_change).changed_on END",
            },
        ),
        "version": ToOne("Version", "model_version AS {c} WHERE {c}.id = {t}.version_id"),
        "model": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.model_id"),
        "lab": ToOne("Lab", "lab AS {c} WHERE {c}.id = {t}.lab_id"),
        "country": ToOne("Country", "country AS {c} WHERE {c}.code = {t}.country_code"),
    },
    "LineageLink": {
        "id": Scalar(_global_id("LineageLink", "{t}.id")),
        "relation": Scalar("{t}.relation"),
        "note": Scalar("{t}.note"),
        "parent": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.parent_model_id"),
        "child": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.child_model_id"),
        "source": ToOne("Source", "source AS {c} WHERE {c}.id = {t}.source_id"),
    },
}


@dataclass
class Plan:
    """SQL with $n parameters, and how to compute each parameter from the variables."""

    sql: str
    params: list[Callable[[Mapping[str, Any]], Any]]

    def bind(self, variables: Mapping[str, Any]) -> list[Any]:
        return [param(variables) for param in self.params]


@dataclass
class _Builder:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    params: list[Callable[[Mapping[str, Any]], Any]] = field(default_factory=list)
    preconditions: list[str] = field(default_factory=list)
    aliases: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**6)))

    def param(self, getter: Callable[[Mapping[str, Any]], Any], cast: str) -> str:
        self.params.append(getter)
        return f"${len(self.params)}::{cast}"

    def alias(self) -> str:
        return f"t{next(self.aliases)}"

    def fields(self, selection_set: SelectionSetNode | None, type_name: str) -> list[FieldNode]:
        """The selection's fields, fragments expanded; anything conditional is refused."""
        if selection_set is None:
            raise NotCompilable("a composite field without a selection")
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                self._check_condition(selection.type_condition, type_name)
                found.extend(self.fields(selection.selection_set, type_name))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    raise NotCompilable("unknown fragment")
                self._check_condition(fragment.type_condition, type_name)
                found.extend(self.fields(fragment.selection_set, type_name))
        return found

    def keyed(
        self, selection_set: SelectionSetNode | None, type_name: str
    ) -> list[tuple[str, FieldNode]]:
        """The selection's fields with their response keys, each key once."""
        found: dict[str, FieldNode] = {}
        for node in self.fields(selection_set, type_name):
            key = node.alias.value if node.alias else node.name.value
            if key in found:
                # Merged fields (the same key twice) are left to graphql-core.
                raise NotCompilable("repeated response key")
            found[key] = node
        return list(found.items())

    @staticmethod
    def _check_condition(condition: Any, type_name: str) -> None:
        if condition is not None and condition.name.value != type_name:
            raise NotCompilable("a fragment on another type")

    def object(
        self,
        selection_set: SelectionSetNode | None,
        type_name: str,
        table: str,
        overrides: Mapping[str, str] | None = None,
    ) -> str:
        """json_build_object(...) of the selection over the row aliased `table`."""
        rules = RULES.get(type_name)
        if rules is None:
            raise NotCompilable(f"no rules for {type_name}")
        parts: list[str] = []
        for key, node in self.keyed(selection_set, type_name):
            parts.append(f"'{key}', {self.value(node, type_name, rules, table, overrides)}")
        return f"json_build_object({', '.join(parts)})"

    def value(
        self,
        node: FieldNode,
        type_name: str,
        rules: Mapping[str, Rule],
        table: str,
        overrides: Mapping[str, str] | None,
    ) -> str:
        name = node.name.value
        if name == "__typename":
            return f"'{type_name}'"
        rule = rules.get(name)
        # A nested list's `first` (its cap) is the one argument compiled; others are not.
        capped = isinstance(rule, ToMany) and not (overrides and name in overrides)
        if any(arg.name.value != "first" or not capped for arg in node.arguments or ()):
            raise NotCompilable(f"arguments on {type_name}.{name}")
        graphql_type = self.schema.get_type(type_name)
        fields = getattr(graphql_type, "fields", {})
        _check_unguarded(fields.get(name), f"{type_name}.{name}")
        if overrides and name in overrides:
            return overrides[name].format(t=table)
        if rule is None:
            raise NotCompilable(f"no rule for {type_name}.{name}")
        if isinstance(rule, Scalar):
            return rule.sql.format(t=table)
        child = self.alias()
        source = rule.source.format(t=table, c=child)
        if isinstance(rule, ToOne):
            inner = self.object(node.selection_set, rule.type_name, child, rule.overrides)
            return f"(SELECT {inner} FROM {source})"
        inner = self.object(node.selection_set, rule.type_name, child)
        order = rule.order.format(c=child)
        definition = getattr(self.schema.get_type(type_name), "fields", {})[name]
        if "first" in definition.args:
            get_first = self.argument(node, "first", definition.args["first"])
            first = self.param(lambda v: _nested_first(get_first(v)), "int")
            source = f"(SELECT {child}.* FROM {source} ORDER BY {order} LIMIT {first}) AS {child}"
        return f"(SELECT COALESCE(json_agg({inner} ORDER BY {order}), '[]'::json) FROM {source})"

    def argument(self, node: FieldNode, name: str, definition: Any) -> Callable[..., Any]:
        """A getter of an argument's coerced value from the request's coerced variables."""
        value_node: ValueNode | None = next(
            (argument.value for argument in node.arguments or () if argument.name.value == name),
            None,
        )
        default = None if definition.default_value is Undefined else definition.default_value

        def get(variables: Mapping[str, Any]) -> Any:
            if value_node is None:
                return default
            if isinstance(value_node, VariableNode) and value_node.name.value not in variables:
                return default
            value = value_from_ast(value_node, definition.type, dict(variables))
            if value is Undefined:
                raise NotCompilable(f"argument {name} does not coerce")
            return value

        return get


RootCompiler = Callable[[_Builder, FieldNode, Any], str]


def _slug_root(table: str, type_name: str) -> RootCompiler:
    def compile_root(builder: _Builder, node: FieldNode, field_def: Any) -> str:
        slug = builder.param(builder.argument(node, "slug", field_def.args["slug"]), "text")
        child = builder.alias()
        inner = builder.object(node.selection_set, type_name, child)
        return f"(SELECT {inner} FROM {table} AS {child} WHERE {child}.slug = {slug})"

    return compile_root


def _renumbered(sql: str, mapping: Mapping[int, str]) -> str:
    """Put this statement's own $n parameters where a shared fragment has $1, $2 ..."""
    return re.sub(r"\$(\d+)", lambda match: mapping[int(match.group(1))], sql)


def _enum_values(values: Any) -> list[str] | None:
    return None if values is None else [str(getattr(v, "value", v)) for v in values]


def _nested_first(first: Any) -> int:
    """A nested list's `first` as the resolver takes it; what it refuses is not compiled."""
    if first is None:
        return NESTED_LIST_CAP
    if not isinstance(first, int) or not 0 <= first <= NESTED_LIST_CAP:
        raise NotCompilable("the resolver reports this first")
    return first


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


def _leaderboard(builder: _Builder, node: FieldNode, field_def: Any) -> str:
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
    provenance = builder.param(lambda v: _enum_values(arg("provenance")(v)), "score_provenance[]")
    verification = builder.param(
        lambda v: _enum_values(arg("verification")(v)), "score_verification[]"
    )
    stages = builder.param(lambda v: _enum_values(arg("stages")(v)), "version_stage[]")
    countries_arg = arg("countries")
    countries = builder.param(
        lambda v: None if countries_arg(v) is None else [c.upper() for c in countries_arg(v)],
        "text[]",
    )
    first = builder.param(lambda v: _page(v, get_page).limit, "int")
    after = builder.param(lambda v: _page(v, get_page).after, "text[]")
    # As the resolver settles it (service.clock.known_at), from the clock this statement sees.
    asked = builder.param(lambda v: clock.utc(get_known_at(v)), "timestamptz")
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
    # Where the after-cursor stands in the ranking now, counted once.
    low = rankings.position_sql(placeholders, after, inclusive=True)
    offset = "(SELECT low FROM bounds)"
    walk = rankings.walk_sql({**placeholders, "limit": f"{offset} + {first} + 1"})
    entry_alias, version_alias = builder.alias(), builder.alias()
    parts = []
    for key, child in builder.keyed(node.selection_set, "Leaderboard"):
        name = child.name.value
        if child.arguments:
            raise NotCompilable("arguments inside a leaderboard")
        if name == "__typename":
            parts.append(f"'{key}', 'Leaderboard'")
        elif name == "asOf":
            parts.append(f"'{key}', {as_of}")
        elif name == "knownAt":
            parts.append(f"'{key}', {_TIMESTAMP.format(column='(SELECT at FROM known)')}")
        elif name == "totalCount":
            parts.append(f"'{key}', ({rankings.total_sql(placeholders)})")
        elif name == "benchmarkVersion":
            inner = builder.object(child.selection_set, "BenchmarkVersion", version_alias)
            parts.append(
                f"'{key}', (SELECT {inner} FROM benchmark_version AS {version_alias} "
                f"WHERE {version_alias}.id = bv.id)"
            )
        elif name == "edges":
            parts.append(f"'{key}', {_edges(builder, child, entry_alias, f'{offset} + {first}')}")
        elif name == "nodes":
            node_sql = builder.object(child.selection_set, "LeaderboardEntry", entry_alias)
            parts.append(f"'{key}', {_shown(node_sql, entry_alias, f'{offset} + {first}')}")
        elif name == "pageInfo":
            parts.append(f"'{key}', {_page_info(builder, child, first, offset)}")
        else:
            raise NotCompilable(f"Leaderboard.{name}")
    return f"""(
WITH known AS (SELECT {known_at} AS at),
bv AS ({version_sql}),
bounds AS (SELECT CASE WHEN {after} IS NULL THEN 0 ELSE ({low}) END AS low),
page AS (SELECT * FROM ({walk}) AS walked WHERE position > {offset})
SELECT json_build_object({", ".join(parts)}) FROM bv)"""


def _edges(builder: _Builder, node: FieldNode, entry: str, shown: str) -> str:
    parts = []
    for key, child in builder.keyed(node.selection_set, "LeaderboardEdge"):
        name = child.name.value
        if child.arguments:
            raise NotCompilable("arguments inside an edge")
        if name == "__typename":
            parts.append(f"'{key}', 'LeaderboardEdge'")
        elif name == "cursor":
            parts.append(f"'{key}', {pagination.cursor_sql(rankings.ordering(), entry)}")
        elif name == "node":
            node_sql = builder.object(child.selection_set, "LeaderboardEntry", entry)
            parts.append(f"'{key}', {node_sql}")
        else:
            raise NotCompilable(f"LeaderboardEdge.{name}")
    return _shown(f"json_build_object({', '.join(parts)})", entry, shown)


def _shown(item: str, entry: str, shown: str) -> str:
    """The page's entries (positions up to `shown`), each as `item`, in rank order."""
    return (
        f"(SELECT COALESCE(json_agg({item} ORDER BY {entry}.position), '[]'::json) "
        f"FROM page AS {entry} WHERE {entry}.position <= {shown})"
    )


def _page_info(builder: _Builder, node: FieldNode, first: str, offset: str) -> str:
    shown = f"page.position > {offset} AND page.position <= {offset} + {first}"
    edge_cursor = pagination.cursor_sql(rankings.ordering(), "page")
    values = {
        "hasNextPage": f"EXISTS (SELECT 1 FROM page WHERE position > {offset} + {first})",
        "hasPreviousPage": f"{offset} > 0",
        "startCursor": f"(SELECT {edge_cursor} FROM page WHERE {shown} "
        "ORDER BY page.position LIMIT 1)",
        "endCursor": f"(SELECT {edge_cursor} FROM page WHERE {shown} "
        "ORDER BY page.position DESC LIMIT 1)",
        "__typename": "'PageInfo'",
    }
    parts = []
    for key, child in builder.keyed(node.selection_set, "PageInfo"):
        if child.name.value not in values:
            raise NotCompilable(f"PageInfo.{child.name.value}")
        parts.append(f"'{key}', {values[child.name.value]}")
    return f"json_build_object({', '.join(parts)})"


def _lineage(builder: _Builder, node: FieldNode, field_def: Any) -> str:
    """The graph LineageQuery.lineage answers: the root model, the links the shared
    neighbourhood walk finds (nearest first, then by id), and the models they join: root
    first, then each link's parent and child in link order, each once."""

    def arg(name: str) -> Callable[[Mapping[str, Any]], Any]:
        return builder.argument(node, name, field_def.args[name])

    get_direction, get_depth, get_relations = arg("direction"), arg("depth"), arg("relations")

    def depth_value(variables: Mapping[str, Any]) -> int:
        depth = get_depth(variables)
        if not isinstance(depth, int) or not 1 <= depth <= lineage.MAX_DEPTH:
            raise NotCompilable("depth out of range: the resolver reports it")
        return depth

    slug = builder.param(arg("model"), "text")
    direction = builder.param(lambda v: str(getattr(d := get_direction(v), "value", d)), "text")
    depth = builder.param(depth_value, "int")
    relations = builder.param(lambda v: _enum_values(get_relations(v)), "lineage_relation[]")
    # An unknown model fails the root field (NOT_FOUND): left to the resolver.
    builder.preconditions.append(f"EXISTS (SELECT 1 FROM model WHERE slug = {slug})")
    walk = graph.neighbourhood_sql(
        {
            "root": "(SELECT id FROM graph_root)",
            "direction": direction,
            "depth": depth,
            "relations": relations,
        }
    )
    parts = []
    for key, child in builder.keyed(node.selection_set, "LineageGraph"):
        name = child.name.value
        if child.arguments:
            raise NotCompilable("arguments inside a lineage")
        row = builder.alias()
        if name == "__typename":
            parts.append(f"'{key}', 'LineageGraph'")
        elif name == "root":
            inner = builder.object(child.selection_set, "Model", row)
            parts.append(
                f"'{key}', (SELECT {inner} FROM model AS {row} "
                f"WHERE {row}.id = (SELECT id FROM graph_root))"
            )
        elif name == "nodes":
            ends = builder.alias()
            inner = builder.object(child.selection_set, "Model", row)
            # One primary-key lookup per node (OFFSET 0 keeps the planner from turning the
            # handful of nodes into a hash join over every model).
            parts.append(
                f"'{key}', (SELECT COALESCE(json_agg({inner} ORDER BY {ends}.position), "
                f"'[]'::json) FROM graph_nodes AS {ends} CROSS JOIN LATERAL "
                f"(SELECT * FROM model WHERE model.id = {ends}.model_id OFFSET 0) AS {row})"
            )
        elif name == "edges":
            inner = builder.object(child.selection_set, "LineageLink", row)
            parts.append(
                f"'{key}', (SELECT COALESCE(json_agg({inner} ORDER BY {row}.position), "
                f"'[]'::json) FROM graph_links AS {row})"
            )
        else:
            raise NotCompilable(f"LineageGraph.{name}")
    return f"""(
WITH graph_root AS (SELECT id FROM model WHERE slug = {slug}),
graph_links AS (
    SELECT link.*, row_number() OVER (ORDER BY link.depth, link.id) AS position
    FROM ({walk}) AS link
),
graph_nodes AS (
    SELECT model_id, min(position) AS position FROM (
        SELECT id AS model_id, 0::bigint AS position FROM graph_root
        UNION ALL SELECT parent_model_id, 2 * position - 1 FROM graph_links
        UNION ALL SELECT child_model_id, 2 * position FROM graph_links
    ) AS ends
    GROUP BY model_id
)
SELECT json_build_object({", ".join(parts)}) FROM graph_root)"""


ROOTS: dict[str, RootCompiler] = {
    "model": _slug_root("model", "Model"),
    "lab": _slug_root("lab", "Lab"),
    "leaderboard": _leaderboard,
    "lineage": _lineage,
}


def compile_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Plan:
    """One statement answering the whole operation, or NotCompilable."""
    if operation.operation is not OperationType.QUERY:
        raise NotCompilable("only queries")
    query_type = schema.query_type
    assert query_type is not None
    builder = _Builder(schema=schema, fragments=fragments)
    parts: list[str] = []
    for key, node in builder.keyed(operation.selection_set, "Query"):
        name = node.name.value
        if name == "__typename":
            parts.append(f"'{key}', 'Query'")
            continue
        compile_root = ROOTS.get(name)
        if compile_root is None:
            raise NotCompilable(f"root field {name}")
        _check_unguarded(query_type.fields[name], f"Query.{name}")
        parts.append(f"'{key}', {compile_root(builder, node, query_type.fields[name])}")
    data = f"json_build_object('data', json_build_object({', '.join(parts)}))::text"
    # NULL when a root field would fail: the caller then runs the normal path for its error.
    checks = " AND ".join(builder.preconditions) or "true"
    return Plan(sql=f"SELECT CASE WHEN {checks} THEN {data} END", params=builder.params)
