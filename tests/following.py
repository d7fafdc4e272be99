"""Helpers of the feed tests: the consumer's query, and following it to the end."""

from __future__ import annotations

from typing import Any

from service import inputs, validation
from tests.conftest import Api
from tests.writing import demo_source

# The index's leaderboard, cited by its details: writes find the recorded demo source.
SOURCE = demo_source("aa-leaderboard")
INDEX = "aa-intelligence-index"

FEED = """
query Feed($after: String, $first: Int, $kinds: [ChangeKind!], $entityTypes: [String!],
           $labs: [String!]) {
  changes(after: $after, first: $first, kinds: $kinds, entityTypes: $entityTypes, labs: $labs) {
    edges { cursor node { kind entityType entityId recordedAt actor state } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""


async def follow(
    api: Api, after: str | None = None, **filters: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """Every change after the cursor, page by page, and the cursor to resume from."""
    edges: list[dict[str, Any]] = []
    while True:
        page = (await api.data(FEED, after=after, first=100, **filters))["changes"]
        edges += page["edges"]
        after = page["pageInfo"]["endCursor"] or after
        if not page["pageInfo"]["hasNextPage"]:
            return edges, after


def score_input(model: str, version: str, value: float, measured_on: str) -> inputs.ScoreInput:
    """An independent score on the index, as the command layer takes it."""
    return validation.parse(
        inputs.ScoreInput,
        {
            "model": model,
            "version": version,
            "benchmark": INDEX,
            "value": value,
            "measuredOn": measured_on,
            "provenance": "INDEPENDENT",
            "source": SOURCE,
        },
    )
