"""Every committed change to the registry's data sends a NOTIFY on `registry_changes`.

Replicas listen and drop their cached responses, so none serves an answer from before a
write it has been told about. Statement-level triggers cost one notification per writing
statement (PostgreSQL folds identical notifications within a transaction), and NOTIFY is
delivered only when the writing transaction commits. Tokens (last-used times) and
idempotency keys are bookkeeping, not data, and do not notify.

Revision ID: 0002_change_notify
Revises: 0001_domain
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002_change_notify"
down_revision = "0001_domain"
branch_labels = None
depends_on = None

DATA_TABLES = (
    "country",
    "source",
    "lab",
    "model_family",
    "model",
    "model_version",
    "hardware_target",
    "benchmark",
    "benchmark_version",
    "benchmark_component",
    "score",
    "lineage_link",
    "program",
    "program_participant",
    "participant_status_change",
    "target",
    "external_id",
)

NOTIFY_FUNCTION = """
CREATE FUNCTION registry_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('registry_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(NOTIFY_FUNCTION)
    for table in DATA_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_change "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION registry_notify_change()"
        )


def downgrade() -> None:
    for table in DATA_TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION registry_notify_change()")
