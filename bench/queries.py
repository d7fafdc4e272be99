"""The three queries, in the registry's schema and in PostGraphile's generated one."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench.config import AS_OF, LEADERBOARD_BENCHMARK
from bench.dataset import Dataset
from bench.peers import REGISTRIES

LEADERBOARD = "leaderboard"
MODEL_PAGE = "model page"
LINEAGE = "lineage"

NOTES = {
    LEADERBOARD: (
        "PostGraphile's query is the closest its default schema offers: the scores of the "
        "same benchmark version ordered by value, first 20. It neither keeps one entry per "
        "model (best-per-model ranking is not expressible there) nor filters by date, "
        "retraction or supersession, so it does less work than the registry's ranking."
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

    def body(self) -> bytes:
        return json.dumps({"query": self.document}).encode()


def _registry(dataset: Dataset) -> dict[str, Query]:
    model = dataset.scale.page_model
    return {
        LEADERBOARD: Query(
            LEADERBOARD,
            f"""{{ leaderboard(benchmark: "{LEADERBOARD_BENCHMARK}", asOf: "{AS_OF}", first: 20)
  {{ edges {{ node {{ rank score {{ value qualifier }} model {{ name }} lab {{ name }}
  country {{ code }} }} }} }} }}""",
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


def _postgraphile(dataset: Dataset) -> dict[str, Query]:
    model = dataset.scale.page_model
    version = dataset.leaderboard_version_id
    up = _nest("lineageLinksByChildModelId", "modelByParentModelId", 3)
    down = _nest("lineageLinksByParentModelId", "modelByChildModelId", 3)
    return {
        LEADERBOARD: Query(
            LEADERBOARD,
            f"""{{ allScores(condition: {{ benchmarkVersionId: "{version}" }},
  orderBy: VALUE_DESC, first: 20) {{ nodes {{ value qualifier
  modelVersionByVersionId {{ modelByModelId {{ name labByLabId {{ name
  countryByCountryCode {{ code }} }} }} }} }} }} }}""",
        ),
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


def for_server(server: str, dataset: Dataset) -> dict[str, Query]:
    return _registry(dataset) if server in REGISTRIES else _postgraphile(dataset)


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
