"""Lineage reads: the typed graph around a model, and the chain between two models."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry

from service import enums
from service.db import graph, keys
from service.graphql.arguments import ModelRef
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.types import LineageLink, Model

MAX_DEPTH = 10


@strawberry.type(description="Models and the typed links between them.")
class LineageGraph:
    root: Model = strawberry.field(description="The model asked about.")
    nodes: list[Model] = strawberry.field(description="Every model in the graph, root first.")
    edges: list[LineageLink] = strawberry.field(description="Links, nearest to the root first.")


@strawberry.type(description="A chain of parent -> child links from one model to another.")
class LineagePath:
    links: list[LineageLink] = strawberry.field(
        description="The links, from the ancestor's end; empty when both models are the same."
    )
    models: list[Model] = strawberry.field(description="The models along the chain, in order.")


async def _model_id(info: Info, slug: str, field: str) -> int:
    async with info.context.pool.acquire() as conn:
        found = await keys.model_id(conn, slug)
    if found is None:
        raise ClientError(f"no model {slug!r}", "NOT_FOUND", field=field)
    return found


async def _models(info: Info, model_ids: list[int]) -> list[Model]:
    rows = await asyncio.gather(*(info.context.loaders.model.load(i) for i in model_ids))
    return [Model.from_record(row) for row in rows if row is not None]


@strawberry.type
class LineageQuery:
    @strawberry.field(
        description="The lineage around a model, computed in one recursive query: ancestors, "
        "descendants or both, up to `depth` links away. The walk follows every link; "
        "`relations` (all when omitted) chooses which walked links are returned, and `nodes` "
        "are the root and the ends of those links."
    )
    async def lineage(
        self,
        info: Info,
        model: ModelRef,
        direction: Annotated[
            enums.LineageDirection, strawberry.argument(description="Which way to walk.")
        ] = enums.LineageDirection.BOTH,
        depth: Annotated[
            int,
            strawberry.argument(
                description=f"How many links away to walk, 1 to {MAX_DEPTH}; OUT_OF_RANGE "
                "otherwise."
            ),
        ] = 3,
        relations: Annotated[
            list[enums.LineageRelation] | None,
            strawberry.argument(description="Return only links of these relations; null for all."),
        ] = None,
    ) -> LineageGraph:
        if not 1 <= depth <= MAX_DEPTH:
            raise ClientError(
                f"depth must be between 1 and {MAX_DEPTH}", "OUT_OF_RANGE", field="depth"
            )
        root_id = await _model_id(info, model, "model")
        wanted = None if relations is None else [relation.value for relation in relations]
        async with info.context.pool.acquire() as conn:
            rows = await graph.neighbourhood(conn, root_id, direction.value, depth, wanted)
        links = [LineageLink.from_record(row) for row in rows]
        model_ids = [root_id]
        for link in links:
            for end in (link.parent_id, link.child_id):
                if end not in model_ids:
                    model_ids.append(end)
        nodes = await _models(info, model_ids)
        return LineageGraph(root=nodes[0], nodes=nodes, edges=links)

    @strawberry.field(
        description="The shortest chain of links between two models (either may be the "
        "ancestor), or null when they are not related by descent."
    )
    async def lineage_path(
        self,
        info: Info,
        from_: Annotated[str, strawberry.argument(name="from", description="One model's slug.")],
        to: Annotated[str, strawberry.argument(description="The other model's slug.")],
    ) -> LineagePath | None:
        from_id = await _model_id(info, from_, "from")
        to_id = await _model_id(info, to, "to")
        async with info.context.pool.acquire() as conn:
            rows = await graph.path(conn, from_id, to_id)
            if rows is None:
                rows = await graph.path(conn, to_id, from_id)
        if rows is None:
            return None
        links = [LineageLink.from_record(row) for row in rows]
        model_ids = [links[0].parent_id, *(link.child_id for link in links)] if links else [from_id]
        return LineagePath(links=links, models=await _models(info, model_ids))
