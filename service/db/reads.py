"""What a request read: the text of every statement it sent, recorded as it is sent.

The response cache (service.cache) keeps an answer with the scope it read
(service.dependencies), derived here in one place from the statements themselves rather
than from a hand-kept list per field. Recording happens in the connection, before the
statement goes out, into the `Reads` of the running request (a context variable: DataLoader
batches run in tasks that inherit it): service.db.pool.PoolConnection, every pool
connection's class, calls `record`.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from service.dependencies import Scope, tables_of, union


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


def record(query: str) -> None:
    """The running request sends `query` (called by service.db.pool.PoolConnection)."""
    reads = READS.get()
    if reads is not None:
        reads.statements.add(query)
