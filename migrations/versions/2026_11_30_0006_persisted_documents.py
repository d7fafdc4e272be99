"""Persisted documents: GraphQL documents clients name by their SHA-256 instead of sending.

A row is either registered (`registry persisted add`, from a frontend's build output: the
allow-list, measured against the limits when it was registered) or stored by a client
through Apollo's automatic persisted queries (its hash verified, its document checked like
any other). Every replica reads the same rows. Stored documents are bounded: the oldest
beyond REGISTRY_PERSISTED_QUERIES_MAX_STORED go (the partial index keeps that cheap).
`document_id` is the id a build output gave the document when it is not its SHA-256 (Relay
hashes with MD5 unless told otherwise); clients send it as the spec's `documentId`.
Bookkeeping, not data: no change notification.

Revision ID: 0006_persisted_documents
Revises: 0004_sources_and_unknowns
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006_persisted_documents"
down_revision = "0005_commit_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE persisted_document (
            sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            document     text NOT NULL,
            document_id  text UNIQUE CHECK (document_id <> ''),
            registered   boolean NOT NULL,
            cost         integer NOT NULL CHECK (cost >= 0),
            created_at   timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "CREATE INDEX persisted_document_stored_idx ON persisted_document (created_at) "
        "WHERE NOT registered"
    )


def downgrade() -> None:
    op.execute("DROP TABLE persisted_document")
