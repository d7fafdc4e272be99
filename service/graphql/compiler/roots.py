"""The root fields the compiler covers, each compiled by its own function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import FieldNode

from service.db import graph
from service.graphql import lineage
from service.graphql.compiler.builder import (
    Builder,
    NotCompilable,
    enum_values,
    json_array,
    json_literal,
    json_nullable,
    json_object,
)
from service.graphql.compiler.leaderboard import leaderboard

# SQL for the root field's JSON text, or NULL (json_nullable'd by compile_operation).
RootCompiler = Callable[[Builder, FieldNode, Any], str]


def _slug_root(table: str, type_name: str) -> RootCompiler:
    def compile_root(builder: Builder, node: FieldNode, field_def: Any) -> str:
        slug = builder.param(builder.argument(node, "slug", field_def.args["slug"]), "text")
        if table == "model":
            _model_claims(builder, slug)
        child = builder.alias()
        inner = builder.object(node.selection_set, type_name, child)
        return f"(SELECT {inner} FROM {table} AS {child} WHERE {child}.slug = {slug})"

    return compile_root


def _model_claims(builder: Builder, slug: str) -> None:
    """A model page reads its own versions, and their scores, by these rules' correlations
    (Model.versions, Version.scores): the versions of the model, the scores of those versions."""
    builder.claim(
        "model_version",
        paths=(("Model.versions",),),
        anchor=f"ARRAY(SELECT 'model:' || id FROM model WHERE slug = {slug})",
    )
    builder.claim(
        "score",
        paths=(("Model.versions", "Version.scores"),),
        anchor="ARRAY(SELECT 'version:' || v.id FROM model_version AS v "
        f"JOIN model AS m ON m.id = v.model_id WHERE m.slug = {slug})",
    )


def _lineage(builder: Builder, node: FieldNode, field_def: Any) -> str:
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
    relations = builder.param(lambda v: enum_values(get_relations(v)), "lineage_relation[]")
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
    parts: list[tuple[str, str]] = []
    for key, child in builder.keyed(node.selection_set, "LineageGraph"):
        # LineageGraph's fields take no arguments and it has no others: validation (the fast
        # path compiles only valid documents) refuses anything else before this.
        name = child.name.value
        row = builder.alias()
        if name == "__typename":
            parts.append((key, json_literal("LineageGraph")))
        elif name == "root":
            inner = builder.object(child.selection_set, "Model", row)
            found = (
                f"(SELECT {inner} FROM model AS {row} WHERE {row}.id = (SELECT id FROM graph_root))"
            )
            parts.append((key, json_nullable(found)))
        elif name == "nodes":
            ends = builder.alias()
            inner = builder.object(child.selection_set, "Model", row)
            # One primary-key lookup per node (OFFSET 0 keeps the planner from turning the
            # handful of nodes into a hash join over every model).
            source = (
                f"graph_nodes AS {ends} CROSS JOIN LATERAL "
                f"(SELECT * FROM model WHERE model.id = {ends}.model_id OFFSET 0) AS {row}"
            )
            parts.append((key, json_array(inner, f"{ends}.position", source)))
        else:  # edges
            inner = builder.object(child.selection_set, "LineageLink", row)
            parts.append((key, json_array(inner, f"{row}.position", f"graph_links AS {row}")))
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
SELECT {json_object(parts)} FROM graph_root)"""


ROOTS: dict[str, RootCompiler] = {
    "model": _slug_root("model", "Model"),
    "lab": _slug_root("lab", "Lab"),
    "leaderboard": leaderboard,
    "lineage": _lineage,
}
