"""Typo-tolerant search over labs, models and benchmarks by trigram similarity."""

from __future__ import annotations

import asyncpg

from service.db import Conn

# word_similarity lets "solr pro" match inside "Solar Pro 3" (0.58); the default operator
# threshold (0.6) would miss it, and changing it is session state a pooled connection must
# not keep, so the threshold is explicit. Ties rank by kind then name so results are stable.
# The similarities are `real`; compared as `real`, a rank of exactly the threshold (3 trigrams
# shared of 10) is at it, not a rounding error above or below it.
MIN_RANK = 0.3
SEARCH = f"""
WITH hits AS (
    SELECT 'Lab' AS kind, id, name,
           GREATEST(word_similarity($1, name), similarity(slug, $1)) AS rank
    FROM lab WHERE archived_at IS NULL
  UNION ALL
    SELECT 'Model', id, name, GREATEST(word_similarity($1, name), similarity(slug, $1))
    FROM model WHERE archived_at IS NULL
  UNION ALL
    SELECT 'Benchmark', id, name, GREATEST(word_similarity($1, name), similarity(slug, $1))
    FROM benchmark
)
SELECT kind, id, rank FROM hits
WHERE rank >= {MIN_RANK}::real
ORDER BY rank DESC, kind, name, id
LIMIT $2
"""


async def search(conn: Conn, text: str, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(SEARCH, text, limit)
