"""Each model's current best score per benchmark version, kept by the database itself.

A leaderboard ranks each model by its best counted score (service/db/rankings.py): the walk
that finds them probes the score index about 20 times a page, each probe with anti-joins
(corrections, retractions, archiving). `leaderboard_best` holds the answer the walk would
give for every model with nothing asked but the date: per (benchmark version, model), the
score that counts best, for each stretch of days from `valid_from` to `valid_until` (NULL:
open). Today's leaderboard is then one range scan of its index.

Exact for every date from `leaderboard_best_since.since` on, for the latest write (knownAt
left out): a model's rows start at the day they were written (the registry's clock, UTC) and
go on past every fact dated later (a score measured, a correction, a verification change such
as a retraction), so midnight and future-dated facts change nothing: the row for that day is
already there. Archiving has no date and takes effect at once, for the latest write.

Why triggers rather than the write commands: every path that writes a score, a verification
or an archiving (the commands, the importer through them, the demo seed, a plain SQL fix)
keeps the table right without remembering to, and the rows are rewritten in the same
transaction. They are deferred to commit, so they see the transaction's whole result (a
status change's history rows are written by another trigger, after the update), and they take
the commit lock of migration 0007 first, so two writers of one model's scores refresh it in
commit order, each seeing the other's committed rows. A bulk load that skips triggers
(`session_replication_role = replica`) calls `leaderboard_best_rebuild()` afterwards.

The counted rule below is service.db.rankings.counts_sql for one model, with nothing filtered
and every row known (T = infinity): the writer's own transaction, and after commit, the
latest write. tests/test_leaderboard_best.py holds the two to one answer.

Revision ID: 0009_leaderboard_best
Revises: 0008_change_keys
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0009_leaderboard_best"
down_revision = "0008_change_keys"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE leaderboard_best (
    benchmark_version_id  bigint NOT NULL REFERENCES benchmark_version (id),
    model_id              bigint NOT NULL REFERENCES model (id),
    valid_from            date NOT NULL,
    valid_until           date,
    score_id              bigint NOT NULL REFERENCES score (id),
    rank_value            numeric NOT NULL,
    measured_on           date NOT NULL,
    PRIMARY KEY (benchmark_version_id, model_id, valid_from),
    CHECK (valid_until > valid_from)
);
CREATE INDEX leaderboard_best_rank_idx ON leaderboard_best
    (benchmark_version_id, rank_value DESC, measured_on, score_id)
    INCLUDE (valid_from, valid_until, model_id);
CREATE TABLE leaderboard_best_since (
    benchmark_version_id  bigint PRIMARY KEY REFERENCES benchmark_version (id),
    since                 date NOT NULL
)
"""

# The registry's day: its pinned clock (migration 0007) or the transaction's start, in UTC.
TODAY = """
CREATE FUNCTION registry_today() RETURNS date LANGUAGE sql STABLE AS $$
SELECT (coalesce(nullif(current_setting('registry.clock', true), '')::timestamptz, now())
        AT TIME ZONE 'UTC')::date
$$
"""

# The best counted score of model `m` on version `bv` as of `day` (rank_value: the value,
# negated where lower is better, so that one index order serves both).
BEST_ON = """
CREATE FUNCTION leaderboard_best_on(bv bigint, m bigint, day date, higher boolean)
RETURNS TABLE (score_id bigint, rank_value numeric, measured_on date)
LANGUAGE sql STABLE AS $$
SELECT s.id, CASE WHEN higher THEN s.value ELSE -s.value END, s.measured_on
FROM model_version AS v
JOIN score AS s ON s.version_id = v.id AND s.benchmark_version_id = bv
WHERE v.model_id = m
  AND s.measured_on <= day
  AND ((s.verification_changed_on IS NULL AND s.verification <> 'RETRACTED')
       OR (s.verification_changed_on IS NOT NULL AND coalesce(
           (SELECT change.verification FROM verification_change AS change
            WHERE change.score_id = s.id
              AND coalesce(change.changed_on, s.measured_on) <= day
            ORDER BY change.changed_on DESC NULLS LAST, change.id DESC LIMIT 1),
           s.verification) <> 'RETRACTED'))
  AND NOT EXISTS (SELECT 1 FROM score AS correction
                  WHERE correction.supersedes_id = s.id AND correction.measured_on <= day)
ORDER BY 2 DESC, s.measured_on, s.id
LIMIT 1
$$
"""

# Whether the model or lab is archived for the latest write: its latest archiving or
# restoring event, else (written with plain SQL) its column; rankings.ARCHIVED at infinity.
ARCHIVED = """
CREATE FUNCTION registry_archived(entity text, row_id bigint, archived_at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
SELECT coalesce(
    (SELECT event.operation LIKE 'archive%' FROM audit_event AS event
     WHERE event.entity_type = entity AND event.entity_id = row_id
       AND event.operation IN ('archiveLab', 'restoreLab', 'archiveModel', 'restoreModel')
     ORDER BY event.id DESC LIMIT 1),
    archived_at IS NOT NULL)
$$
"""

REFRESH = """
CREATE FUNCTION leaderboard_best_refresh(bv bigint, m bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    today date := registry_today();
    higher boolean;
    live boolean;
    day date;
    pick_id bigint;
    pick_value numeric;
    pick_measured date;
    open_from date;
    open_id bigint;
    open_value numeric;
    open_measured date;
BEGIN
    -- Commit order (migration 0007's lock): a concurrent writer's rows are committed and
    -- seen by the statements below, or it refreshes after this transaction commits.
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    DELETE FROM leaderboard_best WHERE benchmark_version_id = bv AND model_id = m;
    -- Moved on at most once a day: a row version per write would bloat the table that
    -- every leaderboard reads (and slow each upsert down its chain of dead versions).
    INSERT INTO leaderboard_best_since AS kept (benchmark_version_id, since) VALUES (bv, today)
    ON CONFLICT (benchmark_version_id) DO UPDATE SET since = today WHERE kept.since < today;
    SELECT benchmark.higher_is_better INTO higher
    FROM benchmark_version JOIN benchmark ON benchmark.id = benchmark_version.benchmark_id
    WHERE benchmark_version.id = bv;
    SELECT NOT registry_archived('Model', model.id, model.archived_at)
           AND NOT registry_archived('Lab', lab.id, lab.archived_at)
    INTO live FROM model JOIN lab ON lab.id = model.lab_id WHERE model.id = m;
    IF higher IS NULL OR NOT coalesce(live, false) THEN
        RETURN;
    END IF;
    -- Today, then every later day a fact of the model's scores takes effect on: a stretch
    -- of days between two of them has one best score.
    FOR day IN
        SELECT today
        UNION
        SELECT fact.day FROM model_version AS v
        JOIN score AS s ON s.version_id = v.id AND s.benchmark_version_id = bv,
        LATERAL (SELECT s.measured_on
                 UNION ALL
                 SELECT correction.measured_on FROM score AS correction
                 WHERE correction.supersedes_id = s.id
                 UNION ALL
                 SELECT change.changed_on FROM verification_change AS change
                 WHERE change.score_id = s.id) AS fact (day)
        WHERE v.model_id = m AND fact.day > today
        ORDER BY 1
    LOOP
        pick_id := NULL;
        SELECT found.score_id, found.rank_value, found.measured_on
        INTO pick_id, pick_value, pick_measured
        FROM leaderboard_best_on(bv, m, day, higher) AS found;
        IF open_from IS NOT NULL AND open_id IS NOT DISTINCT FROM pick_id THEN
            CONTINUE;
        END IF;
        IF open_id IS NOT NULL THEN
            INSERT INTO leaderboard_best
            VALUES (bv, m, open_from, day, open_id, open_value, open_measured);
        END IF;
        open_from := day;
        open_id := pick_id;
        open_value := pick_value;
        open_measured := pick_measured;
    END LOOP;
    IF open_id IS NOT NULL THEN
        INSERT INTO leaderboard_best
        VALUES (bv, m, open_from, NULL, open_id, open_value, open_measured);
    END IF;
END
$$
"""

REFRESH_MODEL = """
CREATE FUNCTION leaderboard_best_refresh_model(m bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bv bigint;
BEGIN
    FOR bv IN
        SELECT DISTINCT s.benchmark_version_id FROM model_version AS v
        JOIN score AS s ON s.version_id = v.id WHERE v.model_id = m
    LOOP
        PERFORM leaderboard_best_refresh(bv, m);
    END LOOP;
END
$$
"""

# Everything again: after the migration, and after a bulk load that skipped the triggers.
# Set-based for the pairs whose best cannot change after today (nearly all): one probe each;
# the few with a fact dated later go through the refresh, which writes their stretches.
REBUILD = """
CREATE FUNCTION leaderboard_best_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    today date := registry_today();
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_event_position'));
    TRUNCATE leaderboard_best, leaderboard_best_since;
    INSERT INTO leaderboard_best_since (benchmark_version_id, since)
    SELECT id, today FROM benchmark_version;
    DROP TABLE IF EXISTS leaderboard_best_ahead;
    CREATE TEMP TABLE leaderboard_best_ahead ON COMMIT DROP AS
    SELECT s.benchmark_version_id, s.model_id FROM score AS s WHERE s.measured_on > today
    UNION
    SELECT s.benchmark_version_id, s.model_id
    FROM score AS correction JOIN score AS s ON s.id = correction.supersedes_id
    WHERE correction.measured_on > today
    UNION
    SELECT s.benchmark_version_id, s.model_id
    FROM verification_change AS change JOIN score AS s ON s.id = change.score_id
    WHERE change.changed_on > today;
    INSERT INTO leaderboard_best
    SELECT pair.benchmark_version_id, pair.model_id, today, NULL, found.score_id,
           found.rank_value, found.measured_on
    FROM (SELECT DISTINCT benchmark_version_id, model_id FROM score
          EXCEPT SELECT benchmark_version_id, model_id FROM leaderboard_best_ahead) AS pair
    JOIN benchmark_version AS version ON version.id = pair.benchmark_version_id
    JOIN benchmark ON benchmark.id = version.benchmark_id
    JOIN model ON model.id = pair.model_id
    JOIN lab ON lab.id = model.lab_id,
    LATERAL leaderboard_best_on(pair.benchmark_version_id, pair.model_id, today,
                                benchmark.higher_is_better) AS found
    WHERE NOT registry_archived('Model', model.id, model.archived_at)
      AND NOT registry_archived('Lab', lab.id, lab.archived_at);
    PERFORM leaderboard_best_refresh(ahead.benchmark_version_id, ahead.model_id)
    FROM leaderboard_best_ahead AS ahead;
END
$$
"""

# What each write touches: a score's own pair and, for a correction, the corrected one's.
ON_SCORE = """
CREATE FUNCTION leaderboard_best_score_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM leaderboard_best_refresh(OLD.benchmark_version_id, OLD.model_id);
    END IF;
    PERFORM leaderboard_best_refresh(NEW.benchmark_version_id, NEW.model_id);
    IF NEW.supersedes_id IS NOT NULL THEN
        PERFORM leaderboard_best_refresh(corrected.benchmark_version_id, corrected.model_id)
        FROM score AS corrected WHERE corrected.id = NEW.supersedes_id;
    END IF;
    RETURN NULL;
END
$$
"""

# A model's or lab's archiving or restoring, by event or by column. (IF, not CASE: a
# branch not taken is never compiled, and NEW has another table's fields there.)
ON_ARCHIVAL = """
CREATE FUNCTION leaderboard_best_archival() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entity text;
    row_id bigint;
BEGIN
    IF TG_TABLE_NAME = 'audit_event' THEN
        entity := NEW.entity_type;
        row_id := NEW.entity_id;
    ELSE
        entity := CASE TG_TABLE_NAME WHEN 'model' THEN 'Model' ELSE 'Lab' END;
        row_id := NEW.id;
    END IF;
    IF entity = 'Model' THEN
        PERFORM leaderboard_best_refresh_model(row_id);
    ELSE
        PERFORM leaderboard_best_refresh_model(model.id) FROM model WHERE model.lab_id = row_id;
    END IF;
    RETURN NULL;
END
$$
"""

# (name, event and table, condition): deferred to commit, row by row.
TRIGGERS = [
    ("score_leaderboard_best", "INSERT OR UPDATE ON score", "", "score_written"),
    ("model_leaderboard_best", "UPDATE OF archived_at, lab_id ON model", "", "archival"),
    ("lab_leaderboard_best", "UPDATE OF archived_at ON lab", "", "archival"),
    (
        "audit_event_leaderboard_best",
        "INSERT ON audit_event",
        "WHEN (NEW.operation IN ('archiveLab', 'restoreLab', 'archiveModel', 'restoreModel'))",
        "archival",
    ),
]


def upgrade() -> None:
    for statement in TABLES.split(";\n"):
        op.execute(statement)
    for function in (TODAY, BEST_ON, ARCHIVED, REFRESH, REFRESH_MODEL, REBUILD):
        op.execute(function)
    op.execute(ON_SCORE)
    op.execute(ON_ARCHIVAL)
    for name, event, condition, function in TRIGGERS:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {name} AFTER {event} DEFERRABLE INITIALLY DEFERRED "
            f"FOR EACH ROW {condition} EXECUTE FUNCTION leaderboard_best_{function}()"
        )
    op.execute("SELECT leaderboard_best_rebuild()")


def downgrade() -> None:
    for name, event, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {event.split(' ON ')[1]}")
    op.execute("DROP FUNCTION leaderboard_best_archival()")
    op.execute("DROP FUNCTION leaderboard_best_score_written()")
    op.execute("DROP FUNCTION leaderboard_best_rebuild()")
    op.execute("DROP FUNCTION leaderboard_best_refresh_model(bigint)")
    op.execute("DROP FUNCTION leaderboard_best_refresh(bigint, bigint)")
    op.execute("DROP FUNCTION registry_archived(text, bigint, timestamptz)")
    op.execute("DROP FUNCTION leaderboard_best_on(bigint, bigint, date, boolean)")
    op.execute("DROP FUNCTION registry_today()")
    op.execute("DROP TABLE leaderboard_best_since")
    op.execute("DROP TABLE leaderboard_best")
