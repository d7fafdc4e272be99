"""Model and ModelFamily."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from service import enums, ids
from service.graphql.context import Info
from service.graphql.limits import NESTED_LIST_CAP
from service.graphql.types.external_ids import ExternalId
from service.graphql.types.shared import FIRST, Node, Row, capped


@strawberry.type(description="A product line grouping models.")
class ModelFamily(Node):
    slug: str = strawberry.field(
        description="The family's key, used by every reference to it ('solar')."
    )
    name: str = strawberry.field(description="The family's name ('Solar').")
    description: str | None = strawberry.field(
        description="What it is, for a person to read; null when none was written."
    )

    @classmethod
    def from_record(cls, row: Row) -> ModelFamily:
        return cls(
            id=strawberry.ID(ids.encode("ModelFamily", row["id"])),
            slug=row["slug"],
            name=row["name"],
            description=row["description"],
        )


@strawberry.type(description="A named model, released in one or more versions.")
class Model(Node):
    slug: str = strawberry.field(
        description="The model's key, used by every reference to it ('solar-pro-3')."
    )
    name: str = strawberry.field(description="The model's name ('Solar Pro 3').")
    modality: enums.Modality = strawberry.field(description="What it takes in and puts out.")
    open_weights: bool = strawberry.field(
        description="Whether its weights are published for anyone to download."
    )
    license: str | None = strawberry.field(
        description="The licence of its weights ('Apache-2.0'); null when not known."
    )
    training_origin: enums.TrainingOrigin | None = strawberry.field(
        description="FROM_SCRATCH or DERIVED; null when not known."
    )
    description: str | None = strawberry.field(
        description="What it is, for a person to read; null when none was written."
    )
    revision: int = strawberry.field(
        description="1 when created, one more with every update: send it as an update's "
        "expectedRevision."
    )
    archived_at: dt.datetime | None = strawberry.field(
        description="When archived (hidden from lists, still found by slug and id)."
    )
    row_id: strawberry.Private[int]
    lab_id: strawberry.Private[int]
    family_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, row: Row) -> Model:
        origin = row["training_origin"]
        return cls(
            id=strawberry.ID(ids.encode("Model", row["id"])),
            slug=row["slug"],
            name=row["name"],
            modality=enums.Modality(row["modality"]),
            open_weights=row["open_weights"],
            license=row["license"],
            training_origin=None if origin is None else enums.TrainingOrigin(origin),
            description=row["description"],
            revision=row["revision"],
            archived_at=row["archived_at"],
            row_id=row["id"],
            lab_id=row["lab_id"],
            family_id=row["family_id"],
        )

    @strawberry.field(description="The lab that built it.")
    async def lab(self, info: Info) -> Lab:
        row = await info.context.loaders.lab.load(self.lab_id)
        assert row is not None, "model.lab_id is a foreign key"
        return Lab.from_record(row)

    @strawberry.field(description="Its product line; null when it belongs to none.")
    async def family(self, info: Info) -> ModelFamily | None:
        if self.family_id is None:
            return None
        row = await info.context.loaders.family.load(self.family_id)
        return None if row is None else ModelFamily.from_record(row)

    @strawberry.field(description="Versions in release order.")
    async def versions(
        self, info: Info, first: Annotated[int | None, FIRST] = NESTED_LIST_CAP
    ) -> list[Version]:
        shown = capped(first)
        rows = await info.context.loaders.versions_by_model.load(self.row_id)
        return [Version.from_record(row) for row in rows[:shown]]

    @strawberry.field(description="The last FINAL version in release order, if any.")
    async def latest_final_version(self, info: Info) -> Version | None:
        rows = await info.context.loaders.versions_by_model.load(self.row_id)
        finals = [row for row in rows if row["stage"] == enums.VersionStage.FINAL]
        return Version.from_record(finals[-1]) if finals else None

    @strawberry.field(description="Links to the models this one came from, typed.")
    async def parents(self, info: Info) -> list[LineageLink]:
        rows = await info.context.loaders.parents_by_model.load(self.row_id)
        return [LineageLink.from_record(row) for row in rows]

    @strawberry.field(description="Links to the models that came from this one, typed.")
    async def children(self, info: Info) -> list[LineageLink]:
        rows = await info.context.loaders.children_by_model.load(self.row_id)
        return [LineageLink.from_record(row) for row in rows]

    @strawberry.field(description="The model under other registries' names.")
    async def external_ids(self, info: Info) -> list[ExternalId]:
        rows = await info.context.loaders.external_ids_by_model.load(self.row_id)
        return [ExternalId.from_record(row) for row in rows]


async def load_model(info: Info, model_id: int) -> Model:
    row = await info.context.loaders.model.load(model_id)
    assert row is not None, "lineage links refer to models by foreign key"
    return Model.from_record(row)


# Types of aggregates that refer back to this module's: imported last so that either
# module can be imported first (strawberry resolves the annotations when the schema is built).
from service.graphql.types.labs import Lab  # noqa: E402
from service.graphql.types.lineage import LineageLink  # noqa: E402
from service.graphql.types.versions import Version  # noqa: E402
