"""Catalog reads: labs, models, versions, benchmarks, programmes, targets, nodes by id."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

import pycountry
import strawberry

from service import clock, enums, ids
from service.db import Conn, catalog, external_ids, history, labs, models
from service.db.pages import Page
from service.graphql import pagination
from service.graphql.arguments import ModelRef, Slug
from service.graphql.claims import Claim, list_claims
from service.graphql.context import Info
from service.graphql.errors import ClientError
from service.graphql.pagination import After, Before, Connection, First, Last, NodeT
from service.graphql.scalars import BigInt
from service.graphql.types import (
    Benchmark,
    BenchmarkVersion,
    ExternalId,
    Lab,
    LineageLink,
    Model,
    ModelFamily,
    Node,
    Program,
    Row,
    Score,
    Source,
    Target,
    Version,
)
from service.graphql.vocabularies import vocabulary

# node(id:) builds each type from the row its loader returns.
NODE_TYPES: dict[str, type] = {
    "Lab": Lab,
    "Model": Model,
    "ModelFamily": ModelFamily,
    "Version": Version,
    "Score": Score,
    "Source": Source,
    "Benchmark": Benchmark,
    "BenchmarkVersion": BenchmarkVersion,
    "Program": Program,
    "Target": Target,
    "LineageLink": LineageLink,
    "ExternalId": ExternalId,
}
MAX_NODES = 100


@vocabulary
class LabOrderField(enums.Vocabulary):
    """What labs are sorted by; rows without the value come last, ties by slug."""

    SLUG = "SLUG", "The lab's slug."
    NAME = "NAME", "The lab's name."
    FOUNDED_YEAR = "FOUNDED_YEAR", "The year it was founded (unknown last)."


@vocabulary
class ModelOrderField(enums.Vocabulary):
    """What models are sorted by; rows without the value come last, ties by slug."""

    SLUG = "SLUG", "The model's slug."
    NAME = "NAME", "The model's name."
    PARAMETERS = "PARAMETERS", "The largest total parameter count of its versions (unknown last)."
    LATEST_RELEASE = (
        "LATEST_RELEASE",
        ("Its latest version's release date, or announcement date when not released (none last)."),
    )


_DIRECTION = "ASC (the default) or DESC."


@strawberry.input(description="How labs are sorted; by slug, ascending, by default.")
class LabOrder:
    field: LabOrderField = strawberry.field(default=LabOrderField.SLUG, description="The key.")
    direction: enums.OrderDirection = strawberry.field(
        default=enums.OrderDirection.ASC, description=_DIRECTION
    )


@strawberry.input(description="How models are sorted; by slug, ascending, by default.")
class ModelOrder:
    field: ModelOrderField = strawberry.field(default=ModelOrderField.SLUG, description="The key.")
    direction: enums.OrderDirection = strawberry.field(
        default=enums.OrderDirection.ASC, description=_DIRECTION
    )


_COUNTRY = "ISO 3166-1 alpha-2 code of the lab's country, any case ('kr'); INVALID otherwise."


@strawberry.input(description="Which labs: every condition given must hold.")
class LabFilter:
    country: str | None = strawberry.field(default=None, description=_COUNTRY)
    search: str | None = strawberry.field(
        default=None, description="Part of the name, any case, typos tolerated ('upstge')."
    )


@strawberry.input(
    description="Which models: every condition given must hold; the version conditions "
    "(stage, parameters, hardware, memory) on one and the same version."
)
class ModelFilter:
    lab: str | None = strawberry.field(default=None, description="The lab's slug.")
    country: str | None = strawberry.field(default=None, description=_COUNTRY)
    family: str | None = strawberry.field(default=None, description="The model family's slug.")
    stage: enums.VersionStage | None = strawberry.field(
        default=None, description="Some version is of this stage."
    )
    open_weights: bool | None = strawberry.field(
        default=None, description="true: only models with open weights; false: only without."
    )
    min_parameters: BigInt | None = strawberry.field(
        default=None, description="Some version has at least this many total parameters."
    )
    max_parameters: BigInt | None = strawberry.field(
        default=None, description="... and at most this many (the same version)."
    )
    hardware: str | None = strawberry.field(
        default=None, description="Part of a hardware target's accelerator name, any case."
    )
    fits_memory_gb: float | None = strawberry.field(
        default=None,
        description="Some version fits in this many GB (10^9 bytes): a stated hardware "
        "target within it, or bf16 weights (2 bytes per parameter) within it.",
    )


@strawberry.input(description="Which sources: every condition given must hold.")
class SourceFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the title (typos tolerated)."
    )
    publisher: str | None = strawberry.field(
        default=None, description="Part of the publisher, any case."
    )
    kind: enums.SourceKind | None = strawberry.field(default=None, description="Only this kind.")
    url: str | None = strawberry.field(default=None, description="The exact URL cited.")


def _country(code: str | None) -> str | None:
    if code is None:
        return None
    if pycountry.countries.get(alpha_2=code.upper()) is None:
        raise ClientError(f"{code!r} is not an ISO 3166-1 alpha-2 code", "INVALID", field="country")
    return code.upper()


async def _one(
    info: Info, fetch: Callable[[Conn], Awaitable[Row | None]], to_node: Callable[[Row], NodeT]
) -> NodeT | None:
    async with info.context.pool.acquire() as conn:
        row = await fetch(conn)
    return None if row is None else to_node(row)


async def _listed(
    info: Info,
    fetch: Callable[[Conn, Page], Awaitable[Sequence[Row]]],
    page: Page,
    to_node: Callable[[Row], NodeT],
) -> Connection[NodeT]:
    async with info.context.pool.acquire() as conn:
        rows = await fetch(conn, page)
    return pagination.connection(rows, page, to_node)


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Labs that are not archived.")
    async def labs(
        self,
        info: Info,
        filter: Annotated[
            LabFilter | None, strawberry.argument(description="Which labs; null for all.")
        ] = None,
        order_by: Annotated[
            LabOrder | None, strawberry.argument(description="Their order; null for by slug.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Lab]:
        where, order = filter or LabFilter(), order_by or LabOrder()
        key = (order.field.value, order.direction.value)
        page = pagination.page(catalog.LAB_ORDERINGS[key], first, after, last, before)
        country = _country(where.country)
        return await _listed(
            info,
            lambda conn, page: catalog.labs(
                conn, country=country, search=where.search, order=key, page=page
            ),
            page,
            Lab.from_record,
        )

    @strawberry.field(description="A lab by its slug, archived or not.")
    async def lab(self, info: Info, slug: Slug) -> Lab | None:
        return await _one(info, lambda conn: labs.by_slug(conn, slug), Lab.from_record)

    @strawberry.field(description="Models that are not archived, of labs that are not.")
    async def models(
        self,
        info: Info,
        filter: Annotated[
            ModelFilter | None, strawberry.argument(description="Which models; null for all.")
        ] = None,
        order_by: Annotated[
            ModelOrder | None,
            strawberry.argument(description="Their order; null for by slug."),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Model]:
        where, order = filter or ModelFilter(), order_by or ModelOrder()
        key = (order.field.value, order.direction.value)
        page = pagination.page(catalog.MODEL_ORDERINGS[key], first, after, last, before)
        conditions = catalog.ModelFilter(
            lab=where.lab,
            country=_country(where.country),
            family=where.family,
            open_weights=where.open_weights,
            stage=None if where.stage is None else where.stage.value,
            min_parameters=where.min_parameters,
            max_parameters=where.max_parameters,
            hardware=where.hardware,
            fits_memory_gb=where.fits_memory_gb,
        )
        return await _listed(
            info,
            lambda conn, page: catalog.models(conn, conditions, order=key, page=page),
            page,
            Model.from_record,
        )

    @strawberry.field(description="A model by its slug, archived or not.")
    async def model(self, info: Info, slug: Slug) -> Model | None:
        return await _one(info, lambda conn: models.by_slug(conn, slug), Model.from_record)

    @strawberry.field(description="One version of a model, by the model's slug and its label.")
    async def version(
        self,
        info: Info,
        model: ModelRef,
        label: Annotated[
            str, strawberry.argument(description="The version's label, e.g. 'preview'.")
        ],
    ) -> Version | None:
        return await _one(
            info, lambda conn: catalog.version_by_key(conn, model, label), Version.from_record
        )

    @strawberry.field(description="Benchmarks and indexes, by slug.")
    async def benchmarks(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Benchmark]:
        page = pagination.page(catalog.BENCHMARK_ORDERING, first, after, last, before)
        return await _listed(info, catalog.benchmarks, page, Benchmark.from_record)

    @strawberry.field(description="A benchmark or index by its slug.")
    async def benchmark(self, info: Info, slug: Slug) -> Benchmark | None:
        return await _one(
            info, lambda conn: catalog.benchmark_by_slug(conn, slug), Benchmark.from_record
        )

    @strawberry.field(description="Public programmes that select labs, by slug.")
    async def programs(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Program]:
        page = pagination.page(catalog.PROGRAM_ORDERING, first, after, last, before)
        return await _listed(info, catalog.programs, page, Program.from_record)

    @strawberry.field(description="A programme by its slug.")
    async def program(self, info: Info, slug: Slug) -> Program | None:
        return await _one(
            info, lambda conn: catalog.program_by_slug(conn, slug), Program.from_record
        )

    @strawberry.field(
        description="Sources by title, publisher, kind or URL, newest first; a source "
        "without a URL is found by its details."
    )
    async def sources(
        self,
        info: Info,
        filter: Annotated[
            SourceFilter | None, strawberry.argument(description="Which sources; null for all.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Source]:
        where = filter or SourceFilter()
        conditions = catalog.SourceFilter(
            search=where.search,
            publisher=where.publisher,
            kind=None if where.kind is None else where.kind.value,
            url=where.url,
        )
        page = pagination.page(catalog.SOURCE_ORDERING, first, after, last, before)
        return await _listed(
            info,
            lambda conn, page: catalog.sources(conn, conditions, page),
            page,
            Source.from_record,
        )

    claims: Connection[Claim] = strawberry.field(
        resolver=list_claims,
        description="Labs' claims about their own models (LAB_CLAIM scores not superseded) and "
        "whether independent evidence confirmed or refuted them, newest first: "
        "claims(status: [PENDING, REFUTED], minValue: 40) are the claims past 40 never "
        "independently confirmed.",
    )

    @strawberry.field(description="Stated targets, by due date; status is derived from scores.")
    async def targets(
        self,
        info: Info,
        lab: Annotated[
            str | None, strawberry.argument(description="Only this lab's (slug); null for all.")
        ] = None,
        benchmark: Annotated[
            str | None,
            strawberry.argument(description="Only on this benchmark (slug); null for all."),
        ] = None,
        known_at: Annotated[
            dt.datetime | None,
            strawberry.argument(
                description="Only the targets the registry had recorded by this time (default: "
                "now); their status and metBy answer for it too. A time without an offset is UTC."
            ),
        ] = None,
    ) -> list[Target]:
        async with info.context.pool.acquire() as conn:
            rows = await history.targets(conn, lab, benchmark, clock.utc(known_at))
        return [Target.from_record(row) for row in rows]

    @strawberry.field(
        description="Every observation of a model (or one version) on a benchmark, oldest "
        "first, superseded and retracted ones included and marked."
    )
    async def score_history(
        self,
        info: Info,
        model: ModelRef,
        version: Annotated[
            str | None,
            strawberry.argument(description="Only this version (its label); null for all."),
        ] = None,
        benchmark: Annotated[
            str | None,
            strawberry.argument(description="Only on this benchmark (slug); null for all."),
        ] = None,
        known_at: Annotated[
            dt.datetime | None,
            strawberry.argument(
                description="Only the observations the registry had recorded by this time "
                "(default: now), each marked superseded and verified as it was recorded then. "
                "A time without an offset is UTC."
            ),
        ] = None,
    ) -> list[Score]:
        async with info.context.pool.acquire() as conn:
            rows = await history.score_history(conn, model, version, benchmark, clock.utc(known_at))
        return [Score.as_known(row) for row in rows]

    @strawberry.field(description="Any object by its global id; null when there is none.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="An object's `id`.")],
    ) -> Node | None:
        return await _node(info, id)

    @strawberry.field(description="Objects by global ids, in order; null for unknown ids.")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Objects' `id`s, at most {MAX_NODES}."),
        ],
    ) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise ClientError(f"at most {MAX_NODES} ids", "OUT_OF_RANGE", field="ids")
        # Concurrently, so the loaders batch every id of a type into one statement.
        return list(await asyncio.gather(*(_node(info, global_id) for global_id in ids)))

    @strawberry.field(
        description="The registry's lab or model for another registry's id "
        "(a Hugging Face repo, an OpenRouter slug ...); null when unknown."
    )
    async def resolve_external_id(
        self,
        info: Info,
        system: Annotated[
            enums.ExternalSystem, strawberry.argument(description="The other registry.")
        ],
        id: Annotated[
            str,
            strawberry.argument(
                description="Its key for the lab or model, exactly as it writes it "
                "('upstage/SOLAR-10.7B-v1.0')."
            ),
        ],
    ) -> Node | None:
        async with info.context.pool.acquire() as conn:
            row = await external_ids.find(conn, system.value, id)
        if row is None:
            return None
        if row["model_id"] is not None:
            return await _node(info, strawberry.ID(ids.encode("Model", row["model_id"])))
        return await _node(info, strawberry.ID(ids.encode("Lab", row["lab_id"])))


async def _node(info: Info, global_id: str) -> Node | None:
    decoded = ids.decode(global_id)
    if decoded is None:
        return None
    type_name, row_id = decoded
    loader = info.context.loaders.by_type(type_name)
    node_type = NODE_TYPES.get(type_name)
    if loader is None or node_type is None:
        return None
    row = await loader.load(row_id)
    if row is None:
        return None
    node: Node = node_type.from_record(row)  # type: ignore[attr-defined]
    return node
