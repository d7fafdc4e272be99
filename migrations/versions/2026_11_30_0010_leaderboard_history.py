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

A row also carries what a leaderboard's entry shows besides its rank: the score's value
and model version, and the model's lab (a model moved to another lab is refreshed, 0009's
trigger). The page then reads the score, model and lab rows once each, for the fields it
returns, instead of once more to place the entry: about a third of the probes of today's
board.

A pair's stretches come from one SQL function, `leaderboard_best_history`: the best counted
score on each fact day (migration 0009's `leaderboard_best_on`), and a new stretch wherever
it differs from the day before; a day on which nothing counts (every score retracted) ends
the stretch before it. The refresh calls it for its pair. The rebuild calls it only for the
pairs with a correction or a verification history; the others (nearly all) it computes for
the whole table at once, as a running maximum (see REBUILD). tests/test_leaderboard_best.py
holds the rebuild to the refreshes' rows, ties included.

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

# What an entry shows besides its rank, kept with it (see the docstring).
COLUMNS = """
TRUNCATE leaderboard_best;
ALTER TABLE leaderboard_best
    ADD COLUMN version_id bigint NOT NULL REFERENCES model_version (id),
    ADD COLUMN value numeric NOT NULL,
    ADD COLUMN lab_id bigint NOT NULL REFERENCES lab (id);
DROP INDEX leaderboard_best_rank_idx;
CREATE INDEX leaderboard_best_rank_idx ON leaderboard_best
    (benchmark_version_id, rank_value DESC, measured_on, score_id)
    INCLUDE (valid_from, valid_until, model_id, version_id, value, lab_id)
"""

# The table's columns in the order the functions below write them.
ROW = (
    "benchmark_version_id, model_id, lab_id, valid_from, valid_until, score_id, "
    "rank_value, measured_on, version_id, value"
)

# Each day one of the pair's facts takes effect on; a verification change without a date
# takes effect with its score (rankings._LATEST_CHANGE reads it so).
HISTORY = """
CREATE FUNCTION leaderboard_best_history(bv bigint, m bigint, higher boolean)
RETURNS TABLE (valid_from date, valid_until date, score_id bigint, rank_value numeric,
               measured_on date, version_id bigint, value numeric)
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
SELECT stretches.day, stretches.until, stretches.score_id, stretches.rank_value,
       stretches.measured_on, score.version_id, score.value
FROM stretches JOIN score ON score.id = stretches.score_id
$$
"""

REFRESH = f"""
CREATE OR REPLACE FUNCTION leaderboard_best_refresh(bv bigint, m bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    higher boolean;
    live boolean;
    owner bigint;
BEGIN
    -- Commit order (migration 0007's lock): a concurrent writer's rows are committed and
    -- seen by the statements below, or it refreshes after this transaction commits.
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    DELETE FROM leaderboard_best WHERE benchmark_version_id = bv AND model_id = m;
    SELECT benchmark.higher_is_better INTO higher
    FROM benchmark_version JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
    WHERE benchmark_version.id = bv;
    SELECT NOT registry_archived('Model', model.id, model.archived_at)
           AND NOT registry_archived('Lab', lab.id, lab.archived_at), lab.id
    INTO live, owner FROM model JOIN lab ON lab.id = model.lab_id WHERE model.id = m;
    IF higher IS NULL OR NOT coalesce(live, false) THEN
        RETURN;
    END IF;
    INSERT INTO leaderboard_best ({ROW})
    SELECT bv, m, owner, stretch.* FROM leaderboard_best_history(bv, m, higher) AS stretch;
END
$$
"""

# Everything again: after the migration, and after a bulk load that skipped the triggers.
# A pair whose scores are never corrected and whose statuses never changed (nearly all) has
# one best per day that only a better score measured later displaces: a running maximum of
# (value, earlier, lower id) over its scores by date, set-based, one sort for the whole table
# instead of a probe per fact day; the few others go through the history function.
REBUILD = f"""
CREATE OR REPLACE FUNCTION leaderboard_best_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    TRUNCATE leaderboard_best;
    DROP TABLE IF EXISTS leaderboard_best_pair;
    CREATE TEMP TABLE leaderboard_best_pair ON COMMIT DROP AS
    SELECT s.benchmark_version_id, v.model_id, lab.id AS lab_id, benchmark.higher_is_better,
           bool_or(EXISTS (SELECT 1 FROM score AS correction WHERE correction.supersedes_id = s.id)
                   OR EXISTS (SELECT 1 FROM verification_change AS change
                              WHERE change.score_id = s.id)) AS changing
    FROM score AS s
    JOIN model_version AS v ON v.id = s.version_id
    JOIN benchmark_version AS version ON version.id = s.benchmark_version_id
    JOIN benchmark ON benchmark.id = version.benchmark_id
    JOIN model ON model.id = v.model_id
    JOIN lab ON lab.id = model.lab_id
    WHERE NOT registry_archived('Model', model.id, model.archived_at)
      AND NOT registry_archived('Lab', lab.id, lab.archived_at)
    GROUP BY 1, 2, 3, 4;
    INSERT INTO leaderboard_best ({ROW})
    WITH counted AS (
        SELECT pair.benchmark_version_id, pair.model_id, pair.lab_id, s.measured_on AS day,
               max(ARRAY[CASE WHEN pair.higher_is_better THEN s.value ELSE -s.value END,
                         date '2000-01-01' - s.measured_on, -s.id])
                   OVER (PARTITION BY pair.benchmark_version_id, pair.model_id
                         ORDER BY s.measured_on) AS best
        FROM leaderboard_best_pair AS pair
        JOIN model_version AS v ON v.model_id = pair.model_id
        JOIN score AS s ON s.version_id = v.id
                       AND s.benchmark_version_id = pair.benchmark_version_id
        WHERE NOT pair.changing AND s.verification <> 'RETRACTED'
    ), days AS (  -- scores measured on one day share its best
        SELECT DISTINCT ON (benchmark_version_id, model_id, day) * FROM counted
        ORDER BY benchmark_version_id, model_id, day
    ), changed AS (
        SELECT days.*,
               lag(best) OVER (PARTITION BY benchmark_version_id, model_id ORDER BY day)
                   AS before
        FROM days
    ), stretch AS (
        SELECT changed.*,
               lead(day) OVER (PARTITION BY benchmark_version_id, model_id ORDER BY day)
                   AS until
        FROM changed WHERE best IS DISTINCT FROM before
    )
    SELECT stretch.benchmark_version_id, stretch.model_id, stretch.lab_id, stretch.day,
           stretch.until, s.id, stretch.best[1], s.measured_on, s.version_id, s.value
    FROM stretch JOIN score AS s ON s.id = (-stretch.best[3])::bigint;
    INSERT INTO leaderboard_best ({ROW})
    SELECT pair.benchmark_version_id, pair.model_id, pair.lab_id, stretch.*
    FROM leaderboard_best_pair AS pair,
    LATERAL leaderboard_best_history(pair.benchmark_version_id, pair.model_id,
                                     pair.higher_is_better) AS stretch
    WHERE pair.changing;
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
    for statement in COLUMNS.split(";\n"):
        op.execute(statement)
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
    op.execute("DROP INDEX leaderboard_best_rank_idx")
    op.execute("ALTER TABLE leaderboard_best DROP COLUMN version_id, DROP COLUMN value, "
               "DROP COLUMN lab_id")  # fmt: skip
    op.execute(previous.TABLES.split(";\n")[1])  # its index
    op.execute("SELECT leaderboard_best_rebuild()")
