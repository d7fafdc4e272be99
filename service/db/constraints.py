"""Translate PostgreSQL constraint violations into the registry's user errors.

The database is the last line of defence (a race between two writers, a rule the input
models cannot see); when it refuses a row, the client gets the same typed error as when
validation did, never asyncpg's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from service.errors import AlreadyExists, NotFound, ValidationFailed


@contextmanager
def translated(field: str) -> Iterator[None]:
    """Run a statement whose violations are reported against `field`."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists(field, "already exists") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound(field, "refers to a row that does not exist") from exc
    except asyncpg.CheckViolationError as exc:
        raise ValidationFailed(field, f"breaks the rule {exc.constraint_name}") from exc
    except asyncpg.NotNullViolationError as exc:
        # PostgreSQL names no constraint for a NOT NULL column, only the column.
        raise ValidationFailed(field, f"needs a value for {exc.column_name}") from exc
