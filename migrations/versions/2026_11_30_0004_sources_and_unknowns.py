"""Sources without a URL, labs without a known country, and no invented URLs.

A source is a kind, a title, a publisher and a date; its URL is optional and, when present,
must be a page that was actually cited. Without a URL a source is identified by its kind,
title, publisher and date (a partial unique index: two sources with the same URL, or two
URL-less sources with the same details, are the same source). Titles are searched by
trigram, as lab and model names are.

A lab whose country nobody recorded (a catalog import) has a NULL country: it exists, and
country rankings leave it out and say so. Lab claims get a partial index for claims().

Databases seeded before this revision hold demo sources with guessed URLs (publisher pages
with made-up anchors). Those exact rows are rewritten to what is known, so no invented URL
survives and `registry seed` finds them again instead of duplicating the facts citing them.

Revision ID: 0004_sources_and_unknowns
Revises: 0003_score_model
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004_sources_and_unknowns"
down_revision = "0003_score_model"
branch_labels = None
depends_on = None

# (old url, old title) -> (new url, new title, new publisher, new published_on)
_DEMO_SOURCES = [
    (
        "https://www.upstage.ai/news#next-solar-foundation-model-preview-2026-05-30",
        "Upstage CEO announces the preview of the next Solar foundation model",
        None,
        "[Facebook post announcing the preview of the next Solar foundation model]",
        "Upstage CEO",
        dt.date(2026, 5, 30),
    ),
    (
        "https://artificialanalysis.ai/leaderboards/models",
        "Artificial Analysis Intelligence Index leaderboard",
        "https://artificialanalysis.ai/",
        "Artificial Analysis Intelligence Index leaderboard",
        "Artificial Analysis",
        dt.date(2026, 5, 30),
    ),
    (
        "https://en.yna.co.kr/#sovereign-ai-five-consortia-selected-2025-08",
        "Science ministry selects five consortia for Korea's sovereign AI foundation model project",
        None,
        "[Report on the selection of five consortia for the sovereign AI foundation model project]",
        "Yonhap News Agency",
        None,
    ),
    (
        "https://en.yna.co.kr/#sovereign-ai-project-narrowed-to-three-2026-01",
        "Naver Cloud and NC AI eliminated from the sovereign AI foundation model project",
        None,
        "[Report on the sovereign AI foundation model project narrowed to three consortia]",
        "Yonhap News Agency",
        None,
    ),
    (
        "https://www.upstage.ai/news#solar-pro-3",
        "Upstage announces Solar Pro 3",
        None,
        "[Announcement of Solar Pro 3]",
        "Upstage",
        None,
    ),
]

_REWRITE = sa.text(
    """
    UPDATE source
    SET url = :new_url, title = :new_title, publisher = :publisher,
        published_on = :published_on
    WHERE url = :old_url AND title = :old_title
    """
)


def upgrade() -> None:
    op.execute("ALTER TABLE source ALTER COLUMN url DROP NOT NULL")
    op.execute(
        "CREATE UNIQUE INDEX source_identity_idx "
        "ON source (kind, title, publisher, published_on) NULLS NOT DISTINCT "
        "WHERE url IS NULL"
    )
    op.execute("CREATE INDEX source_title_trgm_idx ON source USING gin (title gin_trgm_ops)")
    op.execute("ALTER TABLE lab ALTER COLUMN country_code DROP NOT NULL")
    # claims() lists lab claims newest first: a third of the scores, say, without reading the
    # other two thirds.
    op.execute(
        "CREATE INDEX score_claim_idx ON score (measured_on DESC, id DESC) "
        "WHERE provenance = 'LAB_CLAIM'"
    )
    bind = op.get_bind()
    for old_url, old_title, new_url, new_title, publisher, published_on in _DEMO_SOURCES:
        bind.execute(
            _REWRITE,
            {
                "old_url": old_url,
                "old_title": old_title,
                "new_url": new_url,
                "new_title": new_title,
                "publisher": publisher,
                "published_on": published_on,
            },
        )


def downgrade() -> None:
    # Nothing is invented on the way down either: a URL or a country that was never known
    # cannot be made up, so a database holding such rows refuses to go back.
    bind = op.get_bind()
    unknown = bind.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM source WHERE url IS NULL)"
            " + (SELECT count(*) FROM lab WHERE country_code IS NULL)"
        )
    ).scalar_one()
    if unknown:
        raise RuntimeError(
            f"{unknown} sources without a URL or labs without a country exist; "
            "revision 0003 cannot store them"
        )
    op.execute("ALTER TABLE lab ALTER COLUMN country_code SET NOT NULL")
    op.execute("DROP INDEX score_claim_idx")
    op.execute("DROP INDEX source_title_trgm_idx")
    op.execute("DROP INDEX source_identity_idx")
    op.execute("ALTER TABLE source ALTER COLUMN url SET NOT NULL")
