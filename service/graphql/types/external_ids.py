"""ExternalId: a lab or model under another registry's name."""

from __future__ import annotations

import strawberry

from service import enums, ids
from service.graphql.types.shared import Node, Row


@strawberry.type(description="The same lab or model under another registry's name.")
class ExternalId(Node):
    system: enums.ExternalSystem = strawberry.field(description="The other registry.")
    external_key: str = strawberry.field(
        description="The key it uses for the lab or model, exactly as it writes it "
        "('upstage/SOLAR-10.7B-v1.0')."
    )

    @classmethod
    def from_record(cls, row: Row) -> ExternalId:
        return cls(
            id=strawberry.ID(ids.encode("ExternalId", row["id"])),
            system=enums.ExternalSystem(row["system"]),
            external_key=row["external_key"],
        )
