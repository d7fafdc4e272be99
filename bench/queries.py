"""The three queries, in the registry's schema and in PostGraphile's generated one, as rows.

A row is one server answering one query. The leaderboard has three kinds of PostGraphile row:
the fair one (the registry's ranking as a SQL function, bench/fair.py), and the easy one its
default schema offers, which does less work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench import fair
from bench.config import AS_OF, LEADERBOARD_BENCHMARK, Scale
from bench.dataset import Dataset
from bench.peers import REGISTRIES, V4, V5, V5S
from service import clock

LEADERBOARD = "leaderboard"
# The common frontend request: today's board for the latest write (no asOf, no knownAt).
# The registry reads both boards from leaderboard_best (migrations 0009, 0010), the past
# date's too, instead of walking.
LEADERBOARD_TODAY = "leaderboard today"
LEADERBOARDS = (LEADERBOARD, LEADERBOARD_TODAY)
MODEL_PAGE = "model page"
LINEAGE = "lineage"
NAMES = (LEADERBOARD, LEADERBOARD_TODAY, MODEL_PAGE, LINEAGE)

# What a row is, for the ratios: the registry; PostGraphile's fair leaderboard; its easy one;
# PostGraphile answering the same question (model page, lineage).
REGISTRY_ROW, FAIR, EASY, PEER = "registry", "fair", "easy", "peer"
EASY_LABEL = "easy (does less work)"
TOP = 20

NOTES = {
    LEADERBOARD: (
        f"fair: PostGraphile v5 with the same ranking as a STABLE SQL function returning SETOF "
        f"score, exposed as the root connection `{fair.FIELD}` (bench/fair.py: the registry's "
        f"own ranking walk), top {TOP}; its {TOP} entries are checked against the registry's "
        "(same models, values and order) before any load. easy: the closest query PostGraphile's "
        "default schema offers, the scores of the same benchmark version ordered by value, "
        f"first {TOP}: no best-per-model, no as-of date, no retraction or supersession, so it "
        "does less work than the registry's ranking. The ceiling is pgbench running the "
        "statement the registry runs for this query (the compiled one), alone."
    ),
    LEADERBOARD_TODAY: (
        "the same board as of today, asked as a frontend asks it (no asOf, no knownAt): the "
        "registry reads leaderboard_best (one index range scan), as for the row above. "
        "fair: the same function with today's date (it walks); its entries are "
        "checked against the registry's as above. The ceiling is pgbench running the "
        "statement the registry runs for this query."
    ),
    MODEL_PAGE: "model by slug with its lab, versions and each version's scores.",
    LINEAGE: (
        "3 levels up and 3 down from one model. PostGraphile nests "
        "lineageLinksByChildModelId -> modelByParentModelId (and the reverse) by hand."
    ),
}


@dataclass(frozen=True)
class Query:
    name: str
    document: str
    variables: dict[str, Any] | None = None

    def body(self) -> bytes:
        payload: dict[str, Any] = {"query": self.document}
        if self.variables is not None:
            payload["variables"] = self.variables
        return json.dumps(payload, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Row:
    label: str  # the row's name in the table
    server: str  # the server that answers it
    kind: str  # REGISTRY_ROW, FAIR, EASY or PEER
    query: Query

    @property
    def slug(self) -> str:
        return f"{self.label}-{self.query.name}".replace(", ", "-").replace(" ", "-")


def registry_leaderboard(
    benchmark: str, as_of: str | None, first: int = TOP, name: str = LEADERBOARD
) -> Query:
    """The leaderboard query; without as_of, today's (the registry's default)."""
    date = "" if as_of is None else f', asOf: "{as_of}"'
    return Query(
        name,
        f"""{{ leaderboard(benchmark: "{benchmark}"{date}, first: {first})
  {{ edges {{ node {{ rank score {{ value qualifier }} model {{ name }} lab {{ name }}
  country {{ code }} }} }} }} }}""",
    )


def _registry(dataset: Dataset) -> dict[str, Query]:
    return registry_queries(dataset.scale)


def registry_queries(scale: Scale) -> dict[str, Query]:
    """The registry's three queries on a dataset of this scale (bench/cpu_profile.py too)."""
    model = scale.page_model
    return {
        LEADERBOARD: registry_leaderboard(LEADERBOARD_BENCHMARK, AS_OF.isoformat()),
        LEADERBOARD_TODAY: registry_leaderboard(
            LEADERBOARD_BENCHMARK, None, name=LEADERBOARD_TODAY
        ),
        MODEL_PAGE: Query(
            MODEL_PAGE,
            f"""{{ model(slug: "{model}") {{ name lab {{ name country {{ code }} }}
  versions {{ label stage scores {{ value measuredOn provenance }} }} }} }}""",
        ),
        LINEAGE: Query(
            LINEAGE,
            f"""{{ lineage(model: "{model}", direction: BOTH, depth: 3) {{
  nodes {{ slug name }} edges {{ relation parent {{ slug }} child {{ slug }} }} }} }}""",
        ),
    }


def _nest(relation: str, target: str, depth: int) -> str:
    if depth == 0:
        return ""
    inner = _nest(relation, target, depth - 1)
    return f"{relation} {{ nodes {{ relation {target} {{ slug name {inner} }} }} }}"


def _easy_leaderboard(dataset: Dataset, name: str) -> Query:
    return Query(
        name,
        f"""{{ allScores(condition: {{ benchmarkVersionId: "{dataset.leaderboard_version_id}" }},
  orderBy: VALUE_DESC, first: {TOP}) {{ nodes {{ value qualifier
  modelVersionByVersionId {{ modelByModelId {{ name labByLabId {{ name
  countryByCountryCode {{ code }} }} }} }} }} }} }}""",
    )


def _postgraphile(dataset: Dataset) -> dict[str, Query]:
    model = dataset.scale.page_model
    up = _nest("lineageLinksByChildModelId", "modelByParentModelId", 3)
    down = _nest("lineageLinksByParentModelId", "modelByChildModelId", 3)
    return {
        MODEL_PAGE: Query(
            MODEL_PAGE,
            f"""{{ modelBySlug(slug: "{model}") {{ name labByLabId {{ name
  countryByCountryCode {{ code }} }} modelVersionsByModelId {{ nodes {{ label stage
  scoresByVersionId {{ nodes {{ value measuredOn provenance }} }} }} }} }} }}""",
        ),
        LINEAGE: Query(
            LINEAGE,
            f'{{ modelBySlug(slug: "{model}") {{ slug name {up} {down} }} }}',
        ),
    }


def fair_leaderboard(
    benchmark: str, as_of: str, first: int = TOP, name: str = LEADERBOARD
) -> Query:
    return Query(name, fair.document(benchmark, as_of, first))


def as_of(name: str) -> str:
    """The date a leaderboard row ranks as of: the fixed one, or today (UTC, as the
    registry's default)."""
    return clock.today().isoformat() if name == LEADERBOARD_TODAY else AS_OF.isoformat()


def rows(name: str, servers: list[str], dataset: Dataset) -> list[Row]:
    """The rows of one query's table: the registries, then the fair rows, then the rest."""
    found = []
    for server in servers:
        if server in REGISTRIES:
            found.append(Row(server, server, REGISTRY_ROW, _registry(dataset)[name]))
        elif name not in LEADERBOARDS:
            found.append(Row(server, server, PEER, _postgraphile(dataset)[name]))
        else:
            if server in V5S:
                query = fair_leaderboard(LEADERBOARD_BENCHMARK, as_of(name), name=name)
                found.append(Row(f"{server}: fair", server, FAIR, query))
            if server in (V5, V4):
                label = f"{server}: {EASY_LABEL}"
                found.append(Row(label, server, EASY, _easy_leaderboard(dataset, name)))
    order = [REGISTRY_ROW, FAIR, PEER, EASY]
    return sorted(found, key=lambda row: order.index(row.kind))


def check_answer(payload: bytes) -> str | None:
    """None when the answer holds data and no errors; otherwise what is wrong with it."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return f"not JSON: {payload[:200]!r}"
    if answer.get("errors"):
        return str(answer["errors"][0].get("message", answer["errors"][0]))[:200]
    data = answer.get("data")
    if not data or any(value is None for value in data.values()):
        return f"no data: {payload[:200]!r}"
    return None
