"""The fair leaderboard peer: the registry's ranking as a SQL function PostGraphile exposes.

PostGraphile's generated schema cannot say "each model's best counted score as of a date";
its users write that as a `STABLE` SQL function returning `SETOF score`, which PostGraphile
exposes as a root connection field. This one is the registry's own ranking walk
(`service.db.rankings.walk_sql`, the statement the registry runs), so both sides do the same
work in PostgreSQL and differ only in what the servers add. It lives in the benchmark database
only, never in the migrations.

The function resolves the benchmark version in effect on the date itself, as the registry's
`leaderboard` does, and takes `top`: the walk stops after that many models, and PostgreSQL
cannot push a connection's `first` into a recursive query. Higher-is-better only: the
benchmark of the leaderboard rows is.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from service.db.rankings import walk_sql

FIELD = "leaderboard"
# A peer's own view of its connections' plan_cache_mode: proof the setting reached them.
SETTING_FIELD = "benchPlanCacheMode"
SETTING_SQL = """
CREATE OR REPLACE FUNCTION bench_plan_cache_mode() RETURNS text LANGUAGE sql STABLE AS $$
SELECT current_setting('plan_cache_mode')
$$
"""
SETTING_QUERY = b'{"query": "{ benchPlanCacheMode }"}'

# The benchmark version in effect on the date, as service.db.rankings.BENCHMARK_VERSION.
_VERSION = """(SELECT bv.id FROM benchmark_version AS bv
     JOIN benchmark AS b ON b.id = bv.benchmark_id
     WHERE b.slug = leaderboard.benchmark AND bv.effective_on <= leaderboard.as_of
     ORDER BY bv.effective_on DESC LIMIT 1)"""
_PLACEHOLDERS = {
    "bv": _VERSION,
    "as_of": "leaderboard.as_of",
    "provenances": "NULL::score_provenance[]",
    "verifications": "NULL::score_verification[]",
    "stages": "NULL::version_stage[]",
    "countries": "NULL::text[]",
    # knownAt left out: the registry answers for its latest write.
    "known_at": "(SELECT last_at FROM transaction_clock)",
    "limit": "leaderboard.top",
}


def function_sql() -> str:
    walk = walk_sql(_PLACEHOLDERS)
    return f"""
CREATE OR REPLACE FUNCTION leaderboard(benchmark text, as_of date, top integer)
RETURNS SETOF score LANGUAGE sql STABLE AS $$
SELECT score.* FROM ({walk}) AS walk JOIN score ON score.id = walk.id ORDER BY walk.position
$$;
COMMENT ON FUNCTION leaderboard(text, date, integer) IS
  E'Each model''s best counted score on a benchmark as of a date, best first (the top ones).';
"""


def statements() -> list[str]:
    """What the benchmark database gets on top of the registry's schema."""
    return [function_sql(), SETTING_SQL]


def plan_cache_mode(payload: bytes) -> str | None:
    try:
        found = json.loads(payload)["data"][SETTING_FIELD]
    except (ValueError, KeyError, TypeError):
        return None
    return found if isinstance(found, str) else None


def document(benchmark: str, as_of: str, first: int) -> str:
    """The fair query: the same entries and fields as the registry's leaderboard query."""
    return f"""{{ {FIELD}(benchmark: "{benchmark}", asOf: "{as_of}", top: {first},
  first: {first}) {{ nodes {{ value qualifier modelByModelId {{ name labByLabId {{ name
  countryByCountryCode {{ code }} }} }} }} }} }}"""


Entry = tuple[str, str]


def registry_entries(payload: bytes) -> list[Entry]:
    """(model name, value) of each entry of the registry's leaderboard answer, in order."""
    edges: list[dict[str, Any]] = json.loads(payload)["data"]["leaderboard"]["edges"]
    return [(e["node"]["model"]["name"], _value(e["node"]["score"]["value"])) for e in edges]


def peer_entries(payload: bytes) -> list[Entry]:
    """(model name, value) of each row of the fair peer's answer, in order."""
    nodes: list[dict[str, Any]] = json.loads(payload)["data"][FIELD]["nodes"]
    return [(n["modelByModelId"]["name"], _value(n["value"])) for n in nodes]


def _value(value: float | str) -> str:
    # The registry sends a Float (61.0), PostGraphile a BigFloat string ("61.0" or "61"):
    # compare them as decimals, written out plainly.
    return format(Decimal(str(value)).normalize(), "f")


def mismatch(registry: list[Entry], peer: list[Entry]) -> str | None:
    """None when both rankings hold the same models with the same values in the same order."""
    if registry == peer and registry:
        return None
    if not registry:
        return "the registry's leaderboard is empty"
    lines = [f"registry {len(registry)} entries, fair peer {len(peer)}"]
    for position in range(max(len(registry), len(peer))):
        ours = registry[position] if position < len(registry) else None
        theirs = peer[position] if position < len(peer) else None
        if ours != theirs:
            lines.append(f"  #{position + 1}: registry {ours}, fair peer {theirs}")
    return "\n".join(lines[:12])
