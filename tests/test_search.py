"""Search tolerates typos and mixes labs, models and benchmarks."""

from __future__ import annotations

from tests.conftest import Api

SEARCH = """
query ($text: String!, $first: Int! = 10) {
  search(text: $text, first: $first) {
    __typename
    ... on Lab { slug }
    ... on Model { slug }
    ... on Benchmark { slug }
  }
}
"""


async def test_a_typo_still_finds_solar_pro(api: Api) -> None:
    hits = (await api.data(SEARCH, text="solr pro"))["search"]
    assert hits[0] == {"__typename": "Model", "slug": "solar-pro"}
    assert {"__typename": "Model", "slug": "solar-pro-3"} in hits


async def test_labs_and_benchmarks_are_found_too(api: Api) -> None:
    lab = (await api.data(SEARCH, text="upstge"))["search"]
    assert lab[0] == {"__typename": "Lab", "slug": "upstage"}
    index = (await api.data(SEARCH, text="intelligence index"))["search"]
    assert index[0] == {"__typename": "Benchmark", "slug": "aa-intelligence-index"}


async def test_nothing_alike_finds_nothing_and_first_caps_results(api: Api) -> None:
    assert (await api.data(SEARCH, text="zzzzqqq"))["search"] == []
    assert len((await api.data(SEARCH, text="solar", first=2))["search"]) == 2
    body = await api.graphql(SEARCH, text="solar", first=101)
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_RANGE"
    body = await api.graphql(SEARCH, text="   ")
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


async def test_a_match_exactly_at_the_threshold_is_found(api: Api) -> None:
    # "alyszq" shares 3 of 10 trigrams with a word of the index's name: a rank of exactly 0.3,
    # the lowest that is shown; every other name ranks below it.
    hits = (await api.data(SEARCH, text="alyszq"))["search"]
    assert hits == [{"__typename": "Benchmark", "slug": "aa-intelligence-index"}]
