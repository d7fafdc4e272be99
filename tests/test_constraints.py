"""The database's refusals, as the registry's user errors: the field, the code, a message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from service.db.constraints import translated
from service.errors import AlreadyExists, ErrorCode, NotFound, UserError, ValidationFailed


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def test_a_statement_the_database_accepts_runs_untouched(conn: asyncpg.Connection) -> None:
    with translated("externalKey"):
        found = await conn.fetchval("SELECT count(*) FROM external_id")
    assert found > 0


@pytest.mark.parametrize(
    ("statement", "error", "code", "message"),
    [
        (
            "INSERT INTO external_id (system, external_key, lab_id) "
            "SELECT 'HUGGING_FACE', 'upstage', id FROM lab WHERE slug = 'upstage'",
            AlreadyExists,
            ErrorCode.ALREADY_EXISTS,
            "already exists",
        ),
        (
            "INSERT INTO external_id (system, external_key, lab_id) "
            "VALUES ('LMARENA', 'nobody', 1000000000)",
            NotFound,
            ErrorCode.NOT_FOUND,
            "refers to a row that does not exist",
        ),
        (
            "INSERT INTO external_id (system, external_key) VALUES ('LMARENA', 'nobody')",
            ValidationFailed,
            ErrorCode.INVALID,
            "breaks the rule external_id_check",
        ),
        (
            "INSERT INTO external_id (system, external_key, lab_id) "
            "SELECT NULL, 'nobody', id FROM lab WHERE slug = 'upstage'",
            ValidationFailed,
            ErrorCode.INVALID,
            # PostgreSQL names no constraint for a NOT NULL column: the column is named.
            "needs a value for system",
        ),
    ],
    ids=["unique", "foreign-key", "check", "not-null"],
)
async def test_a_refused_row_is_a_user_error_on_the_given_field(
    conn: asyncpg.Connection,
    statement: str,
    error: type[UserError],
    code: ErrorCode,
    message: str,
) -> None:
    with pytest.raises(error) as raised, translated("externalKey"):
        await conn.execute(statement)
    assert raised.value.field == "externalKey"
    assert raised.value.code == code
    assert raised.value.message == message
    assert isinstance(raised.value.__cause__, asyncpg.IntegrityConstraintViolationError)
