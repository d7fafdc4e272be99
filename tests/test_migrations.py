"""The migrations themselves: upgrade to head, down to base, and up again."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from service import migrate

DOMAIN_TABLES = {
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
    "audit_event",
    "api_token",
    "idempotency_key",
    "persisted_document",
    "transaction_clock",
    "verification_change",
    "leaderboard_best",
    "leaderboard_best_pending",
}


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> $1",
            "alembic_version",
        )
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    await migrate.upgrade_async(empty_database_url)
    assert await _tables(empty_database_url) == DOMAIN_TABLES

    await asyncio.to_thread(migrate.downgrade, empty_database_url, "base")
    assert await _tables(empty_database_url) == set()

    await migrate.upgrade_async(empty_database_url)
    assert await _tables(empty_database_url) == DOMAIN_TABLES


async def test_countries_come_from_iso_3166(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM country")
        korea = await conn.fetchval("SELECT name FROM country WHERE code = 'KR'")
    finally:
        await conn.close()
    assert count == 249
    assert korea == "South Korea"


async def test_the_database_refuses_what_breaks_its_rules(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        model_id = await conn.fetchval("SELECT id FROM model WHERE slug = 'solar-pro-3'")
        bad_rows = [
            # more active than total parameters
            (
                "INSERT INTO model_version (model_id, label, stage, total_parameters, "
                "active_parameters) VALUES ($1, 'x', 'FINAL', 10, 20)",
                asyncpg.CheckViolationError,
            ),
            # the same label twice for one model
            (
                "INSERT INTO model_version (model_id, label, stage) "
                "VALUES ($1, 'release', 'FINAL')",
                asyncpg.UniqueViolationError,
            ),
            # a planned date without its precision
            (
                "INSERT INTO model_version (model_id, label, stage, planned_on) "
                "VALUES ($1, 'y', 'FINAL', '2026-06-30')",
                asyncpg.CheckViolationError,
            ),
            # a link from a model to itself
            (
                "INSERT INTO lineage_link (parent_model_id, child_model_id, relation) "
                "VALUES ($1, $1, 'SUCCESSOR')",
                asyncpg.CheckViolationError,
            ),
        ]
        for sql, error in bad_rows:
            try:
                await conn.execute(sql, model_id)
            except error:
                continue
            raise AssertionError(f"accepted: {sql}")
    finally:
        await conn.close()


async def test_events_written_before_the_feed_join_it_in_id_order(empty_database_url: str) -> None:
    await migrate.upgrade_async(empty_database_url, "0004_sources_and_unknowns")
    conn = await asyncpg.connect(empty_database_url)
    try:
        lab_id = await conn.fetchval(
            "INSERT INTO lab (slug, name, country_code) VALUES ('upstage', 'Upstage', 'KR') "
            "RETURNING id"
        )
        model_id = await conn.fetchval(
            "INSERT INTO model (slug, name, lab_id) VALUES ('solar-pro', 'Solar Pro', $1) "
            "RETURNING id",
            lab_id,
        )
        for operation, entity_type, entity_id, state in [
            ("createLab", "Lab", lab_id, f'{{"id": {lab_id}}}'),
            ("createModel", "Model", model_id, f'{{"id": {model_id}, "lab_id": {lab_id}}}'),
            ("addSource", "Source", 1, '{"id": 1}'),
            # A source recorded by a score write citing it by its details (revision 0004).
            ("recordScore", "Source", 2, '{"id": 2}'),
        ]:
            await conn.execute(
                "INSERT INTO audit_event (actor, operation, entity_type, entity_id, after) "
                "VALUES ('before-the-feed', $1, $2, $3, $4::jsonb)",
                operation,
                entity_type,
                entity_id,
                state,
            )
    finally:
        await conn.close()

    await migrate.upgrade_async(empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        rows = await conn.fetch(
            "SELECT kind, position, recorded_at = occurred_at AS kept_time, lab_ids "
            "FROM audit_event ORDER BY id"
        )
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO audit_event (actor, operation, entity_type, entity_id, kind) "
                "VALUES ('after', 'addSource', 'Source', 3, 'addSource')"
            )
        latest = await conn.fetchval("SELECT max(position) FROM audit_event")
    finally:
        await conn.close()
    assert [tuple(row) for row in rows] == [
        ("createLab", 1, True, [lab_id]),
        ("createModel", 2, True, [lab_id]),
        ("addSource", 3, True, []),
        ("addSource", 4, True, []),
    ]
    assert latest == 5


async def test_facts_written_before_0007_keep_the_time_their_audit_event_was_recorded(
    empty_database_url: str,
) -> None:
    await migrate.upgrade_async(empty_database_url, "0006_persisted_documents")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(
            """
            INSERT INTO source (title, kind) VALUES ('A leaderboard', 'LEADERBOARD');
            INSERT INTO lab (slug, name, country_code) VALUES ('lab', 'Lab', 'KR');
            INSERT INTO model (slug, name, lab_id) SELECT 'm', 'M', id FROM lab;
            INSERT INTO model_version (model_id, label, stage)
            SELECT id, 'final', 'FINAL' FROM model;
            INSERT INTO benchmark (slug, name, scale_min, scale_max, is_independent)
            VALUES ('b', 'B', 0, 100, true);
            INSERT INTO benchmark_version (benchmark_id, label, effective_on)
            SELECT id, 'v1', '2026-01-01' FROM benchmark;
            INSERT INTO score (version_id, benchmark_version_id, value, measured_on, provenance,
                               source_id)
            SELECT v.id, bv.id, 41, '2026-05-30', 'LAB_CLAIM', s.id
            FROM model_version v, benchmark_version bv, source s;
            INSERT INTO audit_event (actor, operation, entity_type, entity_id, after, kind)
            SELECT 'editor', 'recordScore', 'Score', id, to_jsonb(score), 'recordScore'
            FROM score;
            """
        )
        await conn.execute(
            """
            UPDATE score SET verification = 'VERIFIED', verification_changed_on = '2026-06-02';
            INSERT INTO audit_event (actor, operation, entity_type, entity_id, before, after,
                                     kind)
            SELECT 'editor', 'setScoreVerification', 'Score', id,
                   jsonb_build_object('verification', 'UNVERIFIED'), to_jsonb(score),
                   'setScoreVerification'
            FROM score;
            """
        )
        await migrate.upgrade_async(empty_database_url)
        recorded = await conn.fetch(
            "SELECT operation, recorded_at FROM audit_event ORDER BY position"
        )
        score_time = await conn.fetchval("SELECT recorded_at FROM score")
        history = await conn.fetch(
            "SELECT verification, changed_on, recorded_at FROM verification_change ORDER BY id"
        )
    finally:
        await conn.close()
    assert score_time == recorded[0]["recorded_at"]
    assert [(row["verification"], row["changed_on"], row["recorded_at"]) for row in history] == [
        ("UNVERIFIED", None, recorded[0]["recorded_at"]),
        ("VERIFIED", dt.date(2026, 6, 2), recorded[1]["recorded_at"]),
    ]
