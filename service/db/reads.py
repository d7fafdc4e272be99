"""What a request read: the text of every statement it sent, recorded as it is sent.

The response cache (service.cache) keeps an answer with the scope it read
(service.dependencies), derived here in one place from the statements themselves rather
than from a hand-kept list per field. Recording happens in the connection, before the
statement goes out, into the `Reads` of the running request (a context variable: DataLoader
batches run in tasks that inherit it). `RecordingConnection` is every pool connection's class.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from service.dependencies import EVERYTHING, Scope, tables_of, union


@dataclass
class Reads:
    """The statements of one request, and narrower scopes that their runners vouch for."""

    statements: set[str] = field(default_factory=set)
    # A statement's scope, narrowed by what its runner knows (the compiled path, whose
    # compiler knows which rows each table is read for); replaces the one from its text.
    narrowed: dict[str, Scope | None] = field(default_factory=dict)

    def narrow(self, sql: str, scope: Scope | None) -> None:
        if sql in self.narrowed:
            scope = union([self.narrowed[sql], scope])
        self.narrowed[sql] = scope

    def scope(self) -> Scope | None:
        return union(
            self.narrowed[sql] if sql in self.narrowed else tables_of(sql)
            for sql in self.statements
        )


READS: ContextVar[Reads | None] = ContextVar("registry_reads", default=None)


def _record(query: str) -> None:
    reads = READS.get()
    if reads is not None:
        reads.statements.add(query)


class RecordingConnection(asyncpg.Connection):
    """asyncpg's connection, telling the running request's `Reads` what it sends.

    Every statement with parameters, prepared or run through a cursor passes through
    `_get_statement`; `execute` without arguments takes the simple protocol instead.
    """

    async def execute(self, query: str, *args: object, timeout: float | None = None) -> str:
        _record(query)
        return await super().execute(query, *args, timeout=timeout)

    async def _get_statement(self, query: str, *args: Any, **kwargs: Any) -> Any:
        _record(query)
        return await super()._get_statement(query, *args, **kwargs)  # type: ignore[misc]


__all__ = ["EVERYTHING", "READS", "Reads", "RecordingConnection"]
