"""Scores carry their model's id, and the ranking index the ranking's whole order.

A leaderboard walks the ranking index and, at each step, passes over the scores of models it
has already placed; with the model id on the score row that test runs on the index scan
itself instead of after joining version, model and lab for every passed-over row. A version
never moves to another model, so the copy cannot go stale; a trigger fills it on insert
(also for rows written with plain SQL).

Revision ID: 0003_score_model
Revises: 0002_change_notify
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0003_score_model"
down_revision = "0002_change_notify"
branch_labels = None
depends_on = None

FILL_FUNCTION = """
CREATE FUNCTION score_fill_model() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.model_id := (SELECT model_id FROM model_version WHERE id = NEW.version_id);
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE score ADD COLUMN model_id bigint REFERENCES model (id)")
    op.execute(
        "UPDATE score SET model_id = version.model_id "
        "FROM model_version AS version WHERE version.id = score.version_id"
    )
    op.execute("ALTER TABLE score ALTER COLUMN model_id SET NOT NULL")
    op.execute(FILL_FUNCTION)
    op.execute(
        "CREATE TRIGGER score_fill_model BEFORE INSERT OR UPDATE OF version_id ON score "
        "FOR EACH ROW EXECUTE FUNCTION score_fill_model()"
    )
    # The ranking's whole ORDER BY, tiebreakers included: each step of the walk reads one
    # index entry instead of sorting every score that ties on value.
    op.execute("DROP INDEX score_ranking_idx")
    op.execute(
        "CREATE INDEX score_ranking_idx "
        "ON score (benchmark_version_id, value DESC, measured_on, id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX score_ranking_idx")
    op.execute("CREATE INDEX score_ranking_idx ON score (benchmark_version_id, value DESC, id)")
    op.execute("DROP TRIGGER score_fill_model ON score")
    op.execute("DROP FUNCTION score_fill_model()")
    op.execute("ALTER TABLE score DROP COLUMN model_id")
