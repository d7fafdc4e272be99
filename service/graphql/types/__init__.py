"""GraphQL object types, one module per aggregate, each built from a record by `from_record`.

Scalar fields are plain attributes (no resolver runs for them); only relations resolve, and
they go through the request's DataLoaders so the number of SQL statements stays bounded by
the depth of the query, never by the number of rows.

Types of different aggregates refer to each other (a Lab lists its Models, a Model names its
Lab): each module imports the types that refer back to it at its end, so any of them can be
imported first. `shared` holds what they all use.
"""

from __future__ import annotations

from service.graphql.types.benchmarks import Benchmark, BenchmarkComponent, BenchmarkVersion
from service.graphql.types.external_ids import ExternalId
from service.graphql.types.labs import Lab
from service.graphql.types.lineage import LineageLink
from service.graphql.types.models import Model, ModelFamily
from service.graphql.types.programs import Participant, ParticipantStatusChange, Program
from service.graphql.types.scores import Score
from service.graphql.types.shared import Country, Node, PreciseDate, Row, country
from service.graphql.types.sources import Source
from service.graphql.types.targets import Target
from service.graphql.types.versions import HardwareTarget, MemoryFit, Version, memory_fit

__all__ = [
    "Benchmark",
    "BenchmarkComponent",
    "BenchmarkVersion",
    "Country",
    "ExternalId",
    "HardwareTarget",
    "Lab",
    "LineageLink",
    "MemoryFit",
    "Model",
    "ModelFamily",
    "Node",
    "Participant",
    "ParticipantStatusChange",
    "PreciseDate",
    "Program",
    "Row",
    "Score",
    "Source",
    "Target",
    "Version",
    "country",
    "memory_fit",
]
