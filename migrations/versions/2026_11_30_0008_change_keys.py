"""Change notifications say which rows a write touched, so caches drop only what it changed.

0002 sent the table's name; a replica then had to drop every answer that read the table. Now
the tables whose rows a cached answer reads only in part send their keys as well, as
`{"t": "score", "k": ["benchmark_version:3", "version:7"]}` (service.dependencies):

  score                 its version and benchmark version, and those of the score it
                        supersedes (a correction changes which of them counts)
  model_version         its model
  verification_change   its score's version and benchmark version
  audit_event           its operation (rankings read archiving events only)

Statement triggers read the rows from transition tables: the new rows of an INSERT, the old
ones of a DELETE, both of an UPDATE (two triggers, one table each, since a trigger names one
event when it has transition tables). A statement that touched no row says nothing. A
payload over 7,900 bytes (NOTIFY takes 8,000) is sent as the bare table name: the whole
table. TRUNCATE sends the bare name too. `audit_event` and `verification_change` now notify as
well: answers read them (rankings, the change feed).

`transaction_clock` (migration 0007), moved by every writing transaction at commit, now
notifies too, keyed: a ranking compares rows' times with it, and most of those times are
the clock's own (recorded_at, stamped at commit, admitted with the write that notifies its
table). Not so a model's or lab's `archived_at` written with plain SQL (no audit event,
service.db.rankings): it counts once the clock passes it, maybe at a later, unrelated write.
So a clock move that passes one says `clock:archived`; otherwise its keys are empty.

Revision ID: 0008_change_keys
Revises: 0007_known_at
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0008_change_keys"
down_revision = "0007_known_at"
branch_labels = None
depends_on = None

MAX_PAYLOAD = 7900

SEND = f"""
CREATE FUNCTION registry_notify_keys(tbl text, keys text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    payload text := json_build_object('t', tbl, 'k', coalesce(keys, '{{}}'::text[]))::text;
BEGIN
    IF octet_length(payload) > {MAX_PAYLOAD} THEN
        payload := tbl;
    END IF;
    PERFORM pg_notify('registry_changes', payload);
END
$$
"""

# The keys of the rows in the transition table `changed`, per table.
KEYS = {
    "score": """
        SELECT 'version:' || version_id FROM changed
        UNION SELECT 'benchmark_version:' || benchmark_version_id FROM changed
        UNION SELECT 'version:' || s.version_id
              FROM changed JOIN score AS s ON s.id = changed.supersedes_id
        UNION SELECT 'benchmark_version:' || s.benchmark_version_id
              FROM changed JOIN score AS s ON s.id = changed.supersedes_id""",
    "model_version": "SELECT 'model:' || model_id FROM changed",
    "verification_change": """
        SELECT 'version:' || s.version_id FROM changed JOIN score AS s ON s.id = changed.score_id
        UNION SELECT 'benchmark_version:' || s.benchmark_version_id
              FROM changed JOIN score AS s ON s.id = changed.score_id""",
    "audit_event": "SELECT 'operation:' || operation FROM changed",
}

KEYED_FUNCTION = """
CREATE FUNCTION registry_notify_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM registry_notify_keys(TG_TABLE_NAME, ARRAY(
            SELECT key FROM ({keys}) AS found (key) ORDER BY key));
    END IF;
    RETURN NULL;
END
$$
"""

CLOCK_FUNCTION = """
CREATE FUNCTION registry_notify_clock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_notify_keys(TG_TABLE_NAME, ARRAY(
        SELECT 'clock:archived' FROM before, after
        WHERE EXISTS (SELECT 1 FROM model WHERE archived_at > before.last_at
                                            AND archived_at <= after.last_at)
           OR EXISTS (SELECT 1 FROM lab WHERE archived_at > before.last_at
                                          AND archived_at <= after.last_at)));
    RETURN NULL;
END
$$
"""

# (trigger suffix, event, transition table)
EVENTS = (
    ("insert", "INSERT", "NEW"),
    ("update_old", "UPDATE", "OLD"),
    ("update_new", "UPDATE", "NEW"),
    ("delete", "DELETE", "OLD"),
)
# Tables that notified in 0002 (keyed now), and those that notify from now on.
OLD_TABLES = ("score", "model_version")
NEW_TABLES = ("audit_event", "verification_change")


def upgrade() -> None:
    op.execute(SEND)
    for table in OLD_TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_change ON {table}")
    for table, keys in KEYS.items():
        op.execute(KEYED_FUNCTION.format(table=table, keys=keys))
        for suffix, event, which in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_notify_{suffix} AFTER {event} ON {table} "
                f"REFERENCING {which} TABLE AS changed "
                f"FOR EACH STATEMENT EXECUTE FUNCTION registry_notify_{table}()"
            )
        op.execute(
            f"CREATE TRIGGER {table}_notify_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION registry_notify_change()"
        )
    for table in ("model", "lab"):
        op.execute(
            f"CREATE INDEX {table}_archived_at_idx ON {table} (archived_at) "
            "WHERE archived_at IS NOT NULL"
        )
    op.execute(CLOCK_FUNCTION)
    op.execute(
        "CREATE TRIGGER transaction_clock_notify_update AFTER UPDATE ON transaction_clock "
        "REFERENCING OLD TABLE AS before NEW TABLE AS after "
        "FOR EACH STATEMENT EXECUTE FUNCTION registry_notify_clock()"
    )
    op.execute(
        "CREATE TRIGGER transaction_clock_notify_change "
        "AFTER INSERT OR DELETE OR TRUNCATE ON transaction_clock "
        "FOR EACH STATEMENT EXECUTE FUNCTION registry_notify_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER transaction_clock_notify_change ON transaction_clock")
    op.execute("DROP TRIGGER transaction_clock_notify_update ON transaction_clock")
    op.execute("DROP FUNCTION registry_notify_clock()")
    for table in ("model", "lab"):
        op.execute(f"DROP INDEX {table}_archived_at_idx")
    for table in KEYS:
        op.execute(f"DROP TRIGGER {table}_notify_truncate ON {table}")
        for suffix, _, _ in EVENTS:
            op.execute(f"DROP TRIGGER {table}_notify_{suffix} ON {table}")
        op.execute(f"DROP FUNCTION registry_notify_{table}()")
    for table in OLD_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_change "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION registry_notify_change()"
        )
    op.execute("DROP FUNCTION registry_notify_keys(text, text[])")
