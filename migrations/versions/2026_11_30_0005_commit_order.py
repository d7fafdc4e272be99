"""Audit events are numbered in commit order, and say which labs they concern.

`kind` is the change feed's kind of the event (service.enums.ChangeKind's value).
`position` and `recorded_at` are given when the writing transaction commits, one committing
transaction at a time (the design and why: service/db/feed.py). Until then both are NULL, so
no reader ever sees a committed event without them. `lab_ids` is filled on insert from the
entity's state, for the change feed's `labs` filter. `cause_id` marks a derived event (a
threshold crossed, a leaderboard entered) with the write that caused it.

Revision ID: 0005_commit_order
Revises: 0004_sources_and_unknowns
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0005_commit_order"
down_revision = "0004_sources_and_unknowns"
branch_labels = None
depends_on = None

# Runs at COMMIT (a deferred constraint trigger), once per event of the transaction, in the
# order they were inserted. The advisory lock is held until the commit has finished and is
# visible, so the next transaction numbers its events only after this one is seen by every
# new snapshot: positions become visible in increasing order, never around a gap that fills
# later. recorded_at never goes back, even if the clock does, so "recorded by T" is always a
# prefix of the positions.
NUMBER_FUNCTION = """
CREATE FUNCTION audit_event_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_recorded timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    SELECT recorded_at INTO last_recorded
    FROM audit_event WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1;
    UPDATE audit_event
    SET position = nextval('audit_event_position_seq'),
        recorded_at = greatest(clock_timestamp(), last_recorded)
    WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""

# The labs an event concerns, from the reference columns of the entity's state: the lab
# itself, a lab_id, the lab of a model_id (or of a link's two models), of a participant.
LABS_FUNCTION = """
CREATE FUNCTION audit_event_labs(entity_type text, entity_id bigint, state jsonb)
RETURNS bigint[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT DISTINCT concerned.lab_id FROM (
            SELECT entity_id AS lab_id WHERE entity_type = 'Lab'
            UNION ALL
            SELECT (state ->> 'lab_id')::bigint
            UNION ALL
            SELECT model.lab_id FROM model
            WHERE model.id IN ((state ->> 'model_id')::bigint,
                               (state ->> 'parent_model_id')::bigint,
                               (state ->> 'child_model_id')::bigint)
            UNION ALL
            SELECT participant.lab_id FROM program_participant AS participant
            WHERE participant.id = (state ->> 'participant_id')::bigint
        ) AS concerned
        WHERE concerned.lab_id IS NOT NULL
        ORDER BY concerned.lab_id
    )
$$
"""
FILL_LABS_FUNCTION = """
CREATE FUNCTION audit_event_fill_labs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.lab_ids := audit_event_labs(NEW.entity_type, NEW.entity_id,
                                    coalesce(NEW.after, NEW.before));
    RETURN NEW;
END
$$
"""

COLUMNS = """
ALTER TABLE audit_event
    ADD COLUMN kind         text,
    ADD COLUMN position     bigint UNIQUE,
    ADD COLUMN recorded_at  timestamptz,
    ADD COLUMN lab_ids      bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN cause_id     bigint REFERENCES audit_event (id),
    ADD CONSTRAINT audit_event_numbered_check CHECK ((position IS NULL) = (recorded_at IS NULL))
"""

# Events written before this revision all committed long ago: their id order is as good as
# any, and the time they were written is the best record of when.
BACKFILL = """
UPDATE audit_event
SET position = numbered.position, recorded_at = numbered.occurred_at
FROM (SELECT id, occurred_at, row_number() OVER (ORDER BY id) AS position FROM audit_event)
     AS numbered
WHERE audit_event.id = numbered.id
"""


def upgrade() -> None:
    op.execute(COLUMNS)
    # The feed's kind is the operation that defines it (service.enums.ChangeKind.of): a
    # source recorded along with a write that cites it was added, whatever the write.
    op.execute(
        "UPDATE audit_event "
        "SET kind = CASE WHEN entity_type = 'Source' THEN 'addSource' ELSE operation END"
    )
    op.execute("ALTER TABLE audit_event ALTER COLUMN kind SET NOT NULL")
    op.execute("CREATE SEQUENCE audit_event_position_seq AS bigint OWNED BY audit_event.position")
    op.execute(BACKFILL)
    op.execute(
        "SELECT setval('audit_event_position_seq', "
        "(SELECT coalesce(max(position), 0) + 1 FROM audit_event), false)"
    )
    # Derived events are few; the write path looks them up by kind.
    op.execute(
        "CREATE INDEX audit_event_derived_idx ON audit_event (kind) WHERE cause_id IS NOT NULL"
    )
    op.execute(LABS_FUNCTION)
    op.execute(
        "UPDATE audit_event "
        "SET lab_ids = audit_event_labs(entity_type, entity_id, coalesce(after, before))"
    )
    op.execute(FILL_LABS_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_event_fill_labs BEFORE INSERT ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_fill_labs()"
    )
    op.execute(NUMBER_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER audit_event_number AFTER INSERT ON audit_event "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_event_number()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_event_number ON audit_event")
    op.execute("DROP FUNCTION audit_event_number()")
    op.execute("DROP TRIGGER audit_event_fill_labs ON audit_event")
    op.execute("DROP FUNCTION audit_event_fill_labs()")
    op.execute("DROP FUNCTION audit_event_labs(text, bigint, jsonb)")
    op.execute("DROP INDEX audit_event_derived_idx")
    op.execute("DROP SEQUENCE audit_event_position_seq")
    op.execute(
        "ALTER TABLE audit_event DROP CONSTRAINT audit_event_numbered_check, "
        "DROP COLUMN cause_id, DROP COLUMN lab_ids, DROP COLUMN recorded_at, "
        "DROP COLUMN position, DROP COLUMN kind"
    )
