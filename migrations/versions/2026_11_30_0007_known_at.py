"""Two times for every fact: the date it is about, and when the registry learned it.

A fact's valid date is its own (a score's measured_on, a verification's changed_on, a
target's stated_on). Its transaction time, `recorded_at`, is given when the writing
transaction commits, by the same step that numbers its audit events (migration 0005): one
time per transaction, under the same advisory lock, so a fact and its audit events share it.
Until then it is NULL: another transaction never sees such a row, and the writing
transaction itself (deriving the standings its write changed) sees its own rows as current.

`transaction_clock` holds the last time given. Times only move forward (a clock that goes
back gets the last time plus a microsecond), so a reader that sees the clock at H sees every
fact recorded at or before H, and any transaction still committing records after H: an
answer for a time at or before H is final. That is how "known at T" answers are computed
(service/db/rankings.py).

Verification becomes a history: `verification_change` holds, for a score whose status changed,
its status from the start (changed_on NULL: from its measured_on) and every change, each with
the source behind it (the evidence's, when one is named) and its transaction time.
score.verification stays the current status; a score that never changed has no history rows.
Archiving and restoring are read from the audit events themselves, which already are that
history.

`registry.clock` (a session setting the service never sets) replaces the system clock for the
transactions of a session that sets it: tests script a history day by day with it. It can
only move time forward, like the system clock.

Revision ID: 0007_known_at
Revises: 0006_persisted_documents
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0007_known_at"
down_revision = "0006_persisted_documents"
branch_labels = None
depends_on = None

# The transaction's time, fixed on first use at commit and kept in a transaction-local
# setting tagged with the transaction's id (a value left by anything else is ignored).
TRANSACTION_TIME = """
CREATE FUNCTION transaction_time() RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    tag text := pg_current_xact_id()::text || '@';
    given text := coalesce(current_setting('registry.transaction_time', true), '');
    pinned text := nullif(current_setting('registry.clock', true), '');
    at timestamptz;
BEGIN
    IF starts_with(given, tag) THEN
        RETURN substr(given, length(tag) + 1)::timestamptz;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    SELECT greatest(coalesce(pinned::timestamptz, clock_timestamp()),
                    last_at + interval '1 microsecond')
    INTO at FROM transaction_clock;
    UPDATE transaction_clock SET last_at = at;
    PERFORM set_config('registry.transaction_time', tag || at::text, true);
    RETURN at;
END
$$
"""

# The time first: it takes the lock, and a position drawn before it could be out of commit
# order (a reader would see the later one first, and skip the earlier).
NUMBER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := transaction_time();
BEGIN
    UPDATE audit_event
    SET position = nextval('audit_event_position_seq'), recorded_at = at
    WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""
# 0005's version, for the way down.
OLD_NUMBER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_number() RETURNS trigger LANGUAGE plpgsql AS $$
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

STAMP_FUNCTION = """
CREATE FUNCTION stamp_recorded_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %I SET recorded_at = $1 WHERE id = $2', TG_TABLE_NAME)
    USING transaction_time(), NEW.id;
    RETURN NULL;
END
$$
"""

# A score's history starts with its first change: the status it had until then (its own
# transaction time: NULL, and so stamped with the change, when both are in one transaction),
# then the change, citing the evidence's source when there is evidence. A score that never
# changed has its status on its row, and no history rows: most scores, none to write. A score
# written with a changed status (plain SQL) was UNVERIFIED until its change.
STATUS_CHANGED_FUNCTION = """
CREATE FUNCTION score_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM verification_change WHERE score_id = NEW.id) THEN
        INSERT INTO verification_change (score_id, verification, source_id, recorded_at)
        VALUES (NEW.id, CASE TG_OP WHEN 'INSERT' THEN 'UNVERIFIED' ELSE OLD.verification END,
                NEW.source_id, CASE TG_OP WHEN 'INSERT' THEN NULL ELSE OLD.recorded_at END);
    END IF;
    INSERT INTO verification_change (score_id, verification, changed_on, evidence_score_id,
                                     source_id)
    VALUES (NEW.id, NEW.verification, NEW.verification_changed_on, NEW.evidence_score_id,
            (SELECT source_id FROM score WHERE id = NEW.evidence_score_id));
    RETURN NULL;
END
$$
"""

HISTORY = """
CREATE TABLE verification_change (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    score_id           bigint NOT NULL REFERENCES score (id),
    verification       score_verification NOT NULL,
    changed_on         date,
    evidence_score_id  bigint REFERENCES score (id),
    source_id          bigint REFERENCES source (id),
    recorded_at        timestamptz
)
"""

_FACT_TABLES = ("score", "verification_change", "target", "benchmark_version")

# The tables that gain a transaction time, with their audit events' entity type. A method
# version counts too: a ranking without one named uses the one in effect, as known then.
_RECORDED = {"score": "Score", "target": "Target", "benchmark_version": "BenchmarkVersion"}

# Scores, targets and method versions recorded before this revision: the time of the audit
# event that recorded them, else (written without one) when the row was written.
BACKFILL_FACTS = """
UPDATE {table} SET recorded_at = coalesce(
    (SELECT min(event.recorded_at) FROM audit_event AS event
     WHERE event.entity_type = '{entity}' AND event.entity_id = {table}.id
       AND event.cause_id IS NULL AND event.before IS NULL),
    {table}.created_at)
"""
# For each score whose status changed: its first status (the one before its first recorded
# change), then every recorded change, at the time of its event.
BACKFILL_HISTORY = """
INSERT INTO verification_change (score_id, verification, source_id, recorded_at)
SELECT score.id,
       coalesce((SELECT (event.before ->> 'verification')::score_verification
                 FROM audit_event AS event
                 WHERE event.entity_type = 'Score' AND event.entity_id = score.id
                   AND event.operation = 'setScoreVerification'
                 ORDER BY event.id LIMIT 1),
                CASE WHEN score.verification_changed_on IS NULL THEN score.verification
                     ELSE 'UNVERIFIED' END),
       score.source_id, score.recorded_at
FROM score
WHERE score.verification_changed_on IS NOT NULL
   OR EXISTS (SELECT 1 FROM audit_event AS event
              WHERE event.entity_type = 'Score' AND event.entity_id = score.id
                AND event.operation = 'setScoreVerification');
INSERT INTO verification_change (score_id, verification, changed_on, evidence_score_id,
                                 source_id, recorded_at)
SELECT event.entity_id, (event.after ->> 'verification')::score_verification,
       (event.after ->> 'verification_changed_on')::date,
       (event.after ->> 'evidence_score_id')::bigint,
       (SELECT evidence.source_id FROM score AS evidence
        WHERE evidence.id = (event.after ->> 'evidence_score_id')::bigint),
       event.recorded_at
FROM audit_event AS event
WHERE event.entity_type = 'Score' AND event.operation = 'setScoreVerification'
  AND EXISTS (SELECT 1 FROM score WHERE score.id = event.entity_id)
ORDER BY event.id;
INSERT INTO verification_change (score_id, verification, changed_on, evidence_score_id,
                                 source_id, recorded_at)
SELECT score.id, score.verification, score.verification_changed_on, score.evidence_score_id,
       (SELECT evidence.source_id FROM score AS evidence
        WHERE evidence.id = score.evidence_score_id),
       score.recorded_at
FROM score
WHERE score.verification_changed_on IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM audit_event AS event
                  WHERE event.entity_type = 'Score' AND event.entity_id = score.id
                    AND event.operation = 'setScoreVerification')
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE transaction_clock ("
        "only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), "
        "last_at timestamptz NOT NULL)"
    )
    op.execute(HISTORY)
    op.execute(
        "CREATE INDEX verification_change_score_idx "
        "ON verification_change (score_id, changed_on, id)"
    )
    for table in _RECORDED:
        op.execute(f"ALTER TABLE {table} ADD COLUMN recorded_at timestamptz")
    for table, entity in _RECORDED.items():
        op.execute(BACKFILL_FACTS.format(table=table, entity=entity))
    for statement in BACKFILL_HISTORY.split(";\n"):
        op.execute(statement)
    # The clock starts at the latest time already given (never at this migration's own time:
    # nothing was recorded then), or before any time at all in an empty database.
    op.execute(
        "INSERT INTO transaction_clock (last_at) SELECT coalesce(greatest("
        "(SELECT max(recorded_at) FROM audit_event), (SELECT max(recorded_at) FROM score), "
        "(SELECT max(recorded_at) FROM target), "
        "(SELECT max(recorded_at) FROM benchmark_version)), '-infinity')"
    )
    op.execute(TRANSACTION_TIME)
    op.execute(NUMBER_FUNCTION)
    op.execute(STAMP_FUNCTION)
    for table in _FACT_TABLES:
        # A row given its time already (a score's status before its first change) keeps it.
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_recorded AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.recorded_at IS NULL) "
            "EXECUTE FUNCTION stamp_recorded_at()"
        )
    op.execute(STATUS_CHANGED_FUNCTION)
    op.execute(
        "CREATE TRIGGER score_status_written AFTER INSERT ON score "
        "FOR EACH ROW WHEN (NEW.verification_changed_on IS NOT NULL) "
        "EXECUTE FUNCTION score_status_changed()"
    )
    op.execute(
        "CREATE TRIGGER score_status_changed "
        "AFTER UPDATE OF verification, verification_changed_on, evidence_score_id ON score "
        "FOR EACH ROW WHEN (OLD.verification IS DISTINCT FROM NEW.verification "
        "OR OLD.verification_changed_on IS DISTINCT FROM NEW.verification_changed_on "
        "OR OLD.evidence_score_id IS DISTINCT FROM NEW.evidence_score_id) "
        "EXECUTE FUNCTION score_status_changed()"
    )
    # Archiving and restoring, found per model or lab while a ranking walks.
    op.execute(
        "CREATE INDEX audit_event_archival_idx ON audit_event (entity_type, entity_id, id) "
        "WHERE operation IN ('archiveLab', 'restoreLab', 'archiveModel', 'restoreModel')"
    )


def downgrade() -> None:
    op.execute("DROP INDEX audit_event_archival_idx")
    op.execute("DROP TRIGGER score_status_changed ON score")
    op.execute("DROP TRIGGER score_status_written ON score")
    op.execute("DROP FUNCTION score_status_changed()")
    for table in _FACT_TABLES:
        op.execute(f"DROP TRIGGER {table}_recorded ON {table}")
    op.execute("DROP FUNCTION stamp_recorded_at()")
    op.execute(OLD_NUMBER_FUNCTION)
    op.execute("DROP FUNCTION transaction_time()")
    for table in _RECORDED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN recorded_at")
    op.execute("DROP TABLE verification_change")
    op.execute("DROP TABLE transaction_clock")
