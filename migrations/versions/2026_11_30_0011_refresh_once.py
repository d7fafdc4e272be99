"""A transaction refreshes each (benchmark version, model) pair of leaderboard_best once.

Migration 0009's trigger refreshes a score's pair at commit, once per row written: a
transaction writing k scores of one pair (an import, a backfill, a model's 700 versions
scored at once) rewrote that pair's whole history k times, each over its k new scores.
Worse, the commit's stamp of each row's `recorded_at` (migration 0007) is an UPDATE of the
row, which queued one more refresh per row. tests/test_cache.py's 700 scores of one model
took 70 s to commit on PostgreSQL 15; now 0.4 s.

Both triggers now fire only for the columns a pair's history reads (READ below), so the
stamp no longer refreshes anything.

Now each row written marks its pairs in `leaderboard_best_pending` as it is written (an
ordinary AFTER trigger, the same rows and pairs as the refresh's), and the deferred trigger
refreshes a pair only if it takes a mark off it: the first of the pair's deferred events
takes them all and refreshes it, the later ones find none. Deferred events run after every
statement of the transaction, so that one refresh sees every row. A pair written again after
it was refreshed (SET CONSTRAINTS ... IMMEDIATE, then more writes) is marked again, and
refreshed again by its new events.

A mark carries its transaction's id, and a transaction only takes its own: another's
uncommitted marks are invisible anyway, and a committed leftover (a savepoint rolled back
after an immediate refresh took a mark would restore it) is never waited on; the rebuild
clears leftovers. The table is unlogged: a mark never outlives its transaction by design.

Revision ID: 0011_refresh_once
Revises: 0010_leaderboard_history
Create Date: 2026-11-30
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0011_refresh_once"
down_revision = "0010_leaderboard_history"
branch_labels = None
depends_on = None

PENDING = """
CREATE UNLOGGED TABLE leaderboard_best_pending (
    xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
    benchmark_version_id bigint NOT NULL,
    model_id bigint NOT NULL
);
CREATE INDEX leaderboard_best_pending_idx ON leaderboard_best_pending
    (xact, benchmark_version_id, model_id)
"""

# The pairs a score's write concerns: its own (before and after an update) and, for a
# correction, the corrected score's. Marked as the row is written; refreshed at commit.
ON_SCORE_MARK = """
CREATE FUNCTION leaderboard_best_score_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO leaderboard_best_pending (benchmark_version_id, model_id)
        VALUES (OLD.benchmark_version_id, OLD.model_id);
    END IF;
    INSERT INTO leaderboard_best_pending (benchmark_version_id, model_id)
    VALUES (NEW.benchmark_version_id, NEW.model_id);
    IF NEW.supersedes_id IS NOT NULL THEN
        INSERT INTO leaderboard_best_pending (benchmark_version_id, model_id)
        SELECT corrected.benchmark_version_id, corrected.model_id
        FROM score AS corrected WHERE corrected.id = NEW.supersedes_id;
    END IF;
    RETURN NULL;
END
$$
"""

REFRESH_PENDING = """
CREATE FUNCTION leaderboard_best_refresh_pending(bv bigint, m bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM leaderboard_best_pending
    WHERE xact = pg_current_xact_id() AND benchmark_version_id = bv AND model_id = m;
    IF FOUND THEN
        PERFORM leaderboard_best_refresh(bv, m);
    END IF;
END
$$
"""

ON_SCORE = """
CREATE OR REPLACE FUNCTION leaderboard_best_score_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM leaderboard_best_refresh_pending(OLD.benchmark_version_id, OLD.model_id);
    END IF;
    PERFORM leaderboard_best_refresh_pending(NEW.benchmark_version_id, NEW.model_id);
    IF NEW.supersedes_id IS NOT NULL THEN
        PERFORM leaderboard_best_refresh_pending(corrected.benchmark_version_id,
                                                 corrected.model_id)
        FROM score AS corrected WHERE corrected.id = NEW.supersedes_id;
    END IF;
    RETURN NULL;
END
$$
"""

# What a pair's history reads of a score (leaderboard_best_on, _history, _refresh). Any
# other update leaves the pair as it was: above all the commit's own stamp of `recorded_at`
# (migration 0007), one UPDATE per row written, deferred like the refresh and queued between
# its events, which re-marked the pair between each two of them.
READ = (
    "version_id, benchmark_version_id, model_id, value, measured_on, verification, "
    "verification_changed_on, supersedes_id"
)

# PostgreSQL fires a row's AFTER triggers by name: the mark's sorts before the refresh's, so
# that a refresh fired at once (constraints set immediate) finds its row's mark.
TRIGGERS = (
    "CREATE TRIGGER score_leaderboard_awaiting "
    f"AFTER INSERT OR UPDATE OF {READ} ON score "
    "FOR EACH ROW EXECUTE FUNCTION leaderboard_best_score_marked()",
    "DROP TRIGGER score_leaderboard_best ON score",
    "CREATE CONSTRAINT TRIGGER score_leaderboard_best "
    f"AFTER INSERT OR UPDATE OF {READ} ON score DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW EXECUTE FUNCTION leaderboard_best_score_written()",
)


def _migration(name: str) -> ModuleType:
    """Another migration of this directory (alembic loads them by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rebuild_clearing_marks(rebuild: str) -> str:
    """0010's rebuild, which also clears any leftover marks (see the docstring)."""
    start = "    TRUNCATE leaderboard_best;\n"
    assert start in rebuild
    return rebuild.replace(start, start + "    TRUNCATE leaderboard_best_pending;\n", 1)


def upgrade() -> None:
    for statement in PENDING.split(";\n"):
        op.execute(statement)
    op.execute(ON_SCORE_MARK)
    op.execute(REFRESH_PENDING)
    op.execute(ON_SCORE)
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(
        _rebuild_clearing_marks(_migration("2026_11_30_0010_leaderboard_history.py").REBUILD)
    )


def downgrade() -> None:
    previous = _migration("2026_11_30_0010_leaderboard_history.py")
    op.execute(previous.REBUILD)
    first = _migration("2026_11_30_0009_leaderboard_best.py")
    op.execute(first.ON_SCORE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP TRIGGER score_leaderboard_awaiting ON score")
    op.execute("DROP TRIGGER score_leaderboard_best ON score")
    op.execute(
        "CREATE CONSTRAINT TRIGGER score_leaderboard_best AFTER INSERT OR UPDATE ON score "
        "DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION leaderboard_best_score_written()"
    )
    op.execute("DROP FUNCTION leaderboard_best_refresh_pending(bigint, bigint)")
    op.execute("DROP FUNCTION leaderboard_best_score_marked()")
    op.execute("DROP TABLE leaderboard_best_pending")
