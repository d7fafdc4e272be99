"""What did Solar Pro grow into: the lineage graph and the path between two models."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.config import Settings
from service.enums import Role
from tests.conftest import Api, running_api
from tests.writing import Writer, issue_token

LINEAGE = """
query ($model: String!, $direction: LineageDirection!, $depth: Int!,
       $relations: [LineageRelation!]) {
  lineage(model: $model, direction: $direction, depth: $depth, relations: $relations) {
    root { slug }
    nodes { slug trainingOrigin }
    edges { relation parent { slug } child { slug } source { kind } }
  }
}
"""


def _edges(graph: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["parent"]["slug"], e["relation"], e["child"]["slug"]) for e in graph["edges"]]


async def test_what_solar_pro_grew_into(api: Api) -> None:
    data = await api.data(LINEAGE, model="solar-pro", direction="DESCENDANTS", depth=5)
    graph = data["lineage"]
    assert [n["slug"] for n in graph["nodes"]] == [
        "solar-pro",
        "solar-pro-2",
        "solar-pro-3",
        "solar-next",
    ]
    assert _edges(graph) == [
        ("solar-pro", "SUCCESSOR", "solar-pro-2"),
        ("solar-pro-2", "SUCCESSOR", "solar-pro-3"),
        ("solar-pro-3", "SUCCESSOR", "solar-next"),
    ]
    # The new model starts from scratch: its link reuses no weights.
    assert graph["nodes"][-1]["trainingOrigin"] == "FROM_SCRATCH"


async def test_which_steps_reused_weights(api: Api) -> None:
    weights = ["FINE_TUNE", "CONTINUED_PRETRAINING", "DEPTH_UP_SCALED", "DISTILLED", "MERGED"]
    # The walk follows every link; `relations` picks which of the walked links come back. From
    # the new model up, the SUCCESSOR chain is walked but not returned, so what remains is
    # where SOLAR 10.7B reused Mistral 7B's weights: depth up-scaling, then continued training.
    data = await api.data(
        LINEAGE, model="solar-next", direction="ANCESTORS", depth=10, relations=weights
    )
    reused = [
        ("mistral-7b", "DEPTH_UP_SCALED", "solar-10.7b"),
        ("mistral-7b", "CONTINUED_PRETRAINING", "solar-10.7b"),
    ]
    assert _edges(data["lineage"]) == reused
    # The nodes are the root and the ends of the returned links, nothing walked past.
    assert [node["slug"] for node in data["lineage"]["nodes"]] == [
        "solar-next",
        "mistral-7b",
        "solar-10.7b",
    ]
    assert data["lineage"]["edges"][0]["source"] == {"kind": "PAPER"}
    # README's question, from Solar Pro both ways.
    data = await api.data(LINEAGE, model="solar-pro", direction="BOTH", depth=3, relations=weights)
    assert _edges(data["lineage"]) == reused
    # Only successors: the whole product line, and no weight-reusing step.
    data = await api.data(
        LINEAGE, model="solar-pro", direction="BOTH", depth=3, relations=["SUCCESSOR"]
    )
    assert {relation for _, relation, _ in _edges(data["lineage"])} == {"SUCCESSOR"}
    assert len(data["lineage"]["edges"]) == 4
    # A depth too short to reach a matching link returns no links at all.
    data = await api.data(
        LINEAGE, model="solar-next", direction="ANCESTORS", depth=3, relations=weights
    )
    assert data["lineage"]["edges"] == []
    assert [node["slug"] for node in data["lineage"]["nodes"]] == ["solar-next"]


async def test_depth_limits_the_walk_both_ways(api: Api) -> None:
    data = await api.data(LINEAGE, model="solar-pro-2", direction="BOTH", depth=1)
    assert sorted(_edges(data["lineage"])) == [
        ("solar-pro", "SUCCESSOR", "solar-pro-2"),
        ("solar-pro-2", "SUCCESSOR", "solar-pro-3"),
    ]
    body = await api.graphql(LINEAGE, model="solar-pro-2", direction="BOTH", depth=11)
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"


async def test_an_unknown_model_is_not_found(api: Api) -> None:
    body = await api.graphql(LINEAGE, model="nope", direction="BOTH", depth=2)
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "model"}


async def test_the_path_between_two_models_in_either_order(api: Api) -> None:
    query = """
    query ($from: String!, $to: String!) {
      lineagePath(from: $from, to: $to) { models { slug } links { relation } } }
    """
    down = (await api.data(query, **{"from": "mistral-7b", "to": "solar-pro-3"}))["lineagePath"]
    assert [m["slug"] for m in down["models"]] == [
        "mistral-7b",
        "solar-10.7b",
        "solar-pro",
        "solar-pro-2",
        "solar-pro-3",
    ]
    up = (await api.data(query, **{"from": "solar-pro-3", "to": "mistral-7b"}))["lineagePath"]
    assert up == down
    unrelated = await api.data(query, **{"from": "gpt-5.5", "to": "solar-pro"})
    assert unrelated["lineagePath"] is None


async def test_a_lineage_is_one_traversal_whatever_its_size(database_url: str) -> None:
    # The resolvers' own count; the compiled path answers in one statement (test_compiled).
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        seed_demo=False,
        response_cache=False,
        compiled_queries=False,
    )
    async with running_api(settings) as api:
        await _check_one_traversal(api, database_url)


async def _check_one_traversal(api: Api, database_url: str) -> None:
    query = '{ lineage(model: "chain-0", direction: DESCENDANTS, depth: 10) { nodes { slug } } }'
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            WITH lab_row AS (SELECT id FROM lab WHERE slug = 'cohere'),
            chain AS (
                INSERT INTO model (slug, name, lab_id)
                SELECT 'chain-' || n, 'Chain ' || n, lab_row.id
                FROM generate_series(0, 40) AS n, lab_row RETURNING id, slug
            )
            INSERT INTO lineage_link (parent_model_id, child_model_id, relation)
            SELECT parent.id, child.id, 'FINE_TUNE'
            FROM chain AS parent JOIN chain AS child
              ON split_part(child.slug, '-', 2)::int = split_part(parent.slug, '-', 2)::int + 1
            """
        )
    finally:
        await conn.close()
    await api.data(query)
    api.queries.clear()
    data = await api.data(query)
    assert len(data["lineage"]["nodes"]) == 11
    # the root's id, the recursive walk, and one batch of models
    assert len(api.queries.statements) == 3


async def test_unlinking_removes_that_one_link_and_no_other(api: Api, database_url: str) -> None:
    editor = Writer(api, await issue_token(database_url, "lineage-editor", Role.EDITOR))
    link = {"parent": "mistral-7b", "child": "solar-pro", "relation": "DISTILLED"}
    other = {"parent": "solar-pro-3", "child": "gpt-5.5", "relation": "DISTILLED"}
    for data in (link, other):
        await editor.ok("linkModels", "LinkModelsInput", "link { relation }", data)
    selection = "link { relation parent { slug } child { slug } }"
    gone = await editor.ok("unlinkModels", "UnlinkModelsInput", selection, link)
    assert gone["link"] == {
        "relation": "DISTILLED",
        "parent": {"slug": "mistral-7b"},
        "child": {"slug": "solar-pro"},
    }
    # Mistral 7B's other links, and the other DISTILLED link, are still there.
    down = await api.data(LINEAGE, model="mistral-7b", direction="DESCENDANTS", depth=1)
    assert sorted(_edges(down["lineage"])) == [
        ("mistral-7b", "CONTINUED_PRETRAINING", "solar-10.7b"),
        ("mistral-7b", "DEPTH_UP_SCALED", "solar-10.7b"),
    ]
    up = await api.data(LINEAGE, model="gpt-5.5", direction="ANCESTORS", depth=1)
    assert _edges(up["lineage"]) == [("solar-pro-3", "DISTILLED", "gpt-5.5")]


async def test_depth_counts_every_link_up_and_down(api: Api) -> None:
    # Three links away and no further, whichever way the walk goes: Solar Pro 3's
    # grandparent's parent, and Mistral 7B's grandchild's child (both of its links to
    # SOLAR 10.7B are one link away).
    data = await api.data(LINEAGE, model="solar-pro-3", direction="ANCESTORS", depth=3)
    assert _edges(data["lineage"]) == [
        ("solar-pro-2", "SUCCESSOR", "solar-pro-3"),
        ("solar-pro", "SUCCESSOR", "solar-pro-2"),
        ("solar-10.7b", "SUCCESSOR", "solar-pro"),
    ]
    data = await api.data(LINEAGE, model="mistral-7b", direction="DESCENDANTS", depth=3)
    assert _edges(data["lineage"]) == [
        ("mistral-7b", "DEPTH_UP_SCALED", "solar-10.7b"),
        ("mistral-7b", "CONTINUED_PRETRAINING", "solar-10.7b"),
        ("solar-10.7b", "SUCCESSOR", "solar-pro"),
        ("solar-pro", "SUCCESSOR", "solar-pro-2"),
    ]


async def test_the_path_between_a_parent_and_its_child_is_their_one_link(api: Api) -> None:
    query = """
    query ($from: String!, $to: String!) {
      lineagePath(from: $from, to: $to) { models { slug } links { relation } } }
    """
    path = (await api.data(query, **{"from": "solar-pro-2", "to": "solar-pro"}))["lineagePath"]
    assert path == {
        "models": [{"slug": "solar-pro"}, {"slug": "solar-pro-2"}],
        "links": [{"relation": "SUCCESSOR"}],
    }
