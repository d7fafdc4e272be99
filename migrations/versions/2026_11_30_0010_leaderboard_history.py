"""leaderboard_best holds every day, not only today's and later: past leaderboards read it too.

Migration 0009 wrote each (benchmark version, model) pair's stretches from the day of the
write on, so a leaderboard as of an earlier day (a frontend's "as of 1 January") still walked
the ranking index with its anti-joins, about 20 probes a page. Now a pair's stretches start at
the first day any of its facts takes effect (a score measured, a correction, a verification
change) and the table is exact for every date, for the latest write. So
`leaderboard_best_since`, the day from which it was, goes: whether a leaderboard reads the
table depends on the question alone (the latest write, no filter on scores), which the
compiled path settles before choosing its statement; and a refresh writes one row less.

A write still rewrites its pairs in the same transaction, now over their whole history: a
score recorded today but measured last year changes last year's board, and the refresh puts
it there. A pair holds about as many facts as it has scores (eight at the benchmark's 300k),
so a refresh is a handful of probes, as before.

The stretches come from one SQL function, `leaderboard_best_history`, that the refresh (one
pair) and the rebuild (every pair, set-based) share: the best counted score on each fact day
(migration 0009's `leaderboard_best_on`), and a new stretch wherever it differs from the day
before. A day on which nothing counts (every score retracted) ends the stretch before it.

Revision ID: 0010_leaderboard_history
Revises: 0009_leaderboard_best
Create Date: 2026-11-30
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0010_leaderboard_history"
down_revision = "0009_leaderboard_best"
branch_labels = None
depends_on = None

# Each day one of the pair's facts takes effect on; a verification change without a date
# takes effect with its score (rankings._LATEST_CHANGE reads it so).
HISTORY = """
CREATE FUNCTION leaderboard_best_history(bv bigint, m bigint, higher boolean)
RETURNS TABLE (valid_from date, valid_until date, score_id bigint, rank_value numeric,
               measured_on date)
LANGUAGE sql STABLE AS $$
WITH days AS (
    SELECT DISTINCT fact.day FROM model_version AS v
    JOIN score AS s ON s.version_id = v.id AND s.benchmark_version_id = bv,
    LATERAL (SELECT s.measured_on
             UNION ALL
             SELECT correction.measured_on FROM score AS correction
             WHERE correction.supersedes_id = s.id
             UNION ALL
             SELECT coalesce(change.changed_on, s.measured_on) FROM verification_change AS change
             WHERE change.score_id = s.id) AS fact (day)
    WHERE v.model_id = m
), picked AS (
    SELECT days.day, found.score_id, found.rank_value, found.measured_on,
           lag(found.score_id) OVER (ORDER BY days.day) AS before,
           row_number() OVER (ORDER BY days.day) AS n
    FROM days
    LEFT JOIN LATERAL leaderboard_best_on(bv, m, days.day, higher) AS found ON true
), stretches AS (
    SELECT picked.day, lead(picked.day) OVER (ORDER BY picked.day) AS until, picked.score_id,
           picked.rank_value, picked.measured_on
    FROM picked
    WHERE picked.n = 1 OR picked.score_id IS DISTINCT FROM picked.before
)
SELECT day, until, score_id, rank_value, measured_on FROM stretches WHERE score_id IS NOT NULL
$$
"""

REFRESH = """
CREATE OR REPLACE FUNCTION leaderboard_best_refresh(bv bigint, m bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    higher boolean;
    live boolean;
BEGIN
    -- Commit order (migration 0007's lock): a concurrent writer's rows are committed and
    -- seen by the statements below, or it refreshes after this transaction commits.
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    DELETE FROM leaderboard_best WHERE benchmark_version_id = bv AND model_id = m;
    SELECT benchmark.higher_is_better INTO higher
    FROM benchmark_version JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
    WHERE benchmark_version.id = bv;
    SELECT NOT registry_archived('Model', model.id, model.archived_at)
           AND NOT registry_archived('Lab', lab.id, lab.archived_at)
    INTO live FROM model JOIN lab ON lab.id = model.lab_id WHERE model.id = m;
    IF higher IS NULL OR NOT coalesce(live, false) THEN
        RETURN;
    END IF;
    INSERT INTO leaderboard_best
    SELECT bv, m, stretch.* FROM leaderboard_best_history(bv, m, higher) AS stretch;
END
$$
"""

REBUILD = """
CREATE OR REPLACE FUNCTION leaderboard_best_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    TRUNCATE leaderboard_best;
    INSERT INTO leaderboard_best
    SELECT pair.benchmark_version_id, pair.model_id, stretch.*
    FROM (SELECT DISTINCT s.benchmark_version_id, v.model_id
          FROM score AS s JOIN model_version AS v ON v.id = s.version_id) AS pair
    JOIN benchmark_version AS version ON version.id = pair.benchmark_version_id
    JOIN benchmark ON benchmark.id = version.benchmark_id
    JOIN model ON model.id = pair.model_id
    JOIN lab ON lab.id = model.lab_id,
    LATERAL leaderboard_best_history(pair.benchmark_version_id, pair.model_id,
                                     benchmark.higher_is_better) AS stretch
    WHERE NOT registry_archived('Model', model.id, model.archived_at)
      AND NOT registry_archived('Lab', lab.id, lab.archived_at);
END
$$
"""


def _migration(name: str) -> ModuleType:
    """Another migration of this directory (alembic loads them by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(HISTORY)
    op.execute(REFRESH)
    op.execute(REBUILD)
    op.execute("DROP TABLE leaderboard_best_since")
    op.execute("DROP FUNCTION registry_today()")  # the refresh no longer starts at today
    op.execute("SELECT leaderboard_best_rebuild()")


def downgrade() -> None:
    # 0009's table of days and functions, as that migration wrote them, its rows from today.
    previous = _migration("2026_11_30_0009_leaderboard_best.py")
    op.execute(previous.TABLES.split(";\n")[-1])
    op.execute(previous.TODAY)
    for function in (previous.REFRESH, previous.REBUILD):
        op.execute(function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP FUNCTION leaderboard_best_history(bigint, bigint, boolean)")
    op.execute("SELECT leaderboard_best_rebuild()")
