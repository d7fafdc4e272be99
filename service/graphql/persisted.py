"""Persisted queries: documents named by their SHA-256 instead of sent, and the allow-list.

    off         a request naming a persisted document is refused with
                PERSISTED_QUERY_NOT_SUPPORTED (Apollo's client then sends texts, as it does to
                any server without them); texts run as always
    automatic   Apollo's automatic persisted queries (the default): a hash alone runs the
                document stored under it, or gets PERSISTED_QUERY_NOT_FOUND; the client then
                sends hash and text, the hash is verified (BAD_REQUEST when it is not the
                text's), the document checked like any other, stored for every replica if it
                passes, and run; texts run as always
    allowlist   only registered documents run (`registry persisted add`): by hash, by
                `documentId`, or as a text whose hash is registered; any other text gets
                PERSISTED_QUERY_NOT_ALLOWED before it is even parsed, an unknown hash
                PERSISTED_QUERY_NOT_FOUND. Cost and depth were checked when the document was
                registered (a document over a limit is refused then), not per request

A request names a document with `extensions.persistedQuery` (`{"version": 1, "sha256Hash":
...}`, Apollo's, on POST or GET) or with `documentId` (the GraphQL over HTTP spec's appendix:
`sha256:<hex>`, or the id a build output gave it, e.g. Relay's MD5). Each process keeps the
documents it has seen, with their plans, in the persisted tier of service.graphql.documents,
keyed by hash and bounded by count and bytes; PostgreSQL keeps them for every replica.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from strawberry.http import GraphQLRequestData

from service.db import Conn, persisted
from service.errors import RegistryError
from service.graphql.documents import Documents, Persisted
from service.graphql.errors import ClientError, Code

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")
# The digests a build output may name its documents by, by the length of their hex form.
_DIGESTS: dict[int, tuple[str, Callable[[bytes], Any]]] = {
    32: ("MD5", hashlib.md5),
    40: ("SHA-1", hashlib.sha1),
    64: ("SHA-256", hashlib.sha256),
}


class Mode(StrEnum):
    OFF = "off"
    AUTOMATIC = "automatic"
    ALLOWLIST = "allowlist"


class Malformed(Exception):
    """The request names a persisted document wrongly; the view answers 400 BAD_REQUEST."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The SHA-256 `extensions.persistedQuery` names, or None when it names none."""
    named = (extensions or {}).get("persistedQuery")
    if named is None:
        return None
    if not isinstance(named, dict):
        raise Malformed("extensions.persistedQuery must be an object")
    if named.get("version") != 1:
        raise Malformed("extensions.persistedQuery.version must be 1")
    digest = named.get("sha256Hash")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest.lower()):
        raise Malformed("extensions.persistedQuery.sha256Hash must be 64 hexadecimal characters")
    return digest.lower()


@dataclass(frozen=True)
class Named:
    """How a request names a persisted document: its SHA-256, or the id a build output gave."""

    key: str
    by_id: bool = False


def parse_document_id(value: object) -> Named:
    """`sha256:<hex>` names a hash; an id without a colon is a build output's own."""
    if not isinstance(value, str) or not value:
        raise Malformed("documentId must be a non-empty string")
    prefix, colon, payload = value.partition(":")
    if not colon:
        return Named(value, by_id=True)
    if prefix == "sha256" and _HEX64.fullmatch(payload):
        return Named(payload)
    raise Malformed("documentId must be sha256:<64 lowercase hex digits> or an id without ':'")


def named(data: GraphQLRequestData, document_id: object | None) -> Named | None:
    found = requested_hash(data.extensions)
    if document_id is None:
        return None if found is None else Named(found)
    if found is not None or data.query is not None:
        raise Malformed("documentId comes alone: without query or extensions.persistedQuery")
    return parse_document_id(document_id)


def _not_found(name: Named) -> ClientError:
    what = f"documentId {name.key!r}" if name.by_id else f"hash {name.key}"
    return ClientError(
        f"no persisted document has {what}; send the document's text with it",
        Code.PERSISTED_QUERY_NOT_FOUND,
    )


_NOT_ALLOWED = ClientError(
    "this registry runs registered documents only (`registry persisted add`); this one is not",
    Code.PERSISTED_QUERY_NOT_ALLOWED,
)
_NOT_SUPPORTED = ClientError(
    "this registry takes no persisted queries (REGISTRY_PERSISTED_QUERIES=off); send the text",
    Code.PERSISTED_QUERY_NOT_SUPPORTED,
)


class PersistedQueries:
    def __init__(self, documents: Documents, mode: Mode, *, keep_stored: int) -> None:
        self.documents = documents
        self.mode = mode
        self.keep_stored = keep_stored
        # A build output's ids and the hashes they stand for, as many as the tier holds.
        self._ids: OrderedDict[str, str] = OrderedDict()

    async def resolve(
        self, pool: asyncpg.Pool, data: GraphQLRequestData, document_id: object | None = None
    ) -> ClientError | None:
        """Put the text of the document the request names in `data.query`; or a refusal.

        Raises Malformed for a request that names one wrongly (a hash not the text's).
        """
        name = named(data, document_id)
        if name is None:
            if self.mode is Mode.ALLOWLIST and data.query is not None:
                return await self._registered(pool, data, data.query)
            return None
        if self.mode is Mode.OFF:
            return _NOT_SUPPORTED
        if data.query is not None:
            if sha256_hex(data.query) != name.key:
                raise Malformed("extensions.persistedQuery.sha256Hash is not the query's SHA-256")
            if self.mode is Mode.ALLOWLIST:
                return await self._registered(pool, data, data.query)
            found = await self._find(pool, name.key)
            data.query = (found or await self._store(pool, name.key, data.query)).text
            return None
        if name.by_id:
            found = await self._find_by_id(pool, name.key)
        else:
            found = await self._find(pool, name.key)
        if found is None:
            return _not_found(name)
        data.query = found.text
        return None

    def _runs(self, registered: bool) -> bool:
        return registered or self.mode is Mode.AUTOMATIC

    async def _registered(
        self, pool: asyncpg.Pool, data: GraphQLRequestData, text: str
    ) -> ClientError | None:
        found = await self._find(pool, sha256_hex(text))
        if found is None:
            return _NOT_ALLOWED
        data.query = found.text
        return None

    async def _find(self, pool: asyncpg.Pool, sha256: str) -> Persisted | None:
        cached = self.documents.persisted.get(sha256)
        if cached is not None and self._runs(cached.registered):
            return cached
        async with pool.acquire() as conn:
            return self._loaded(await persisted.find(conn, sha256))

    async def _find_by_id(self, pool: asyncpg.Pool, document_id: str) -> Persisted | None:
        sha256 = self._ids.get(document_id)
        if sha256 is not None:
            self._ids.move_to_end(document_id)
            return await self._find(pool, sha256)
        async with pool.acquire() as conn:
            row = await persisted.find_by_id(conn, document_id)
        found = self._loaded(row)
        if found is not None:
            self._ids[document_id] = found.sha256
            while len(self._ids) > self.documents.persisted.max_entries:
                self._ids.popitem(last=False)
        return found

    def _loaded(self, row: asyncpg.Record | None) -> Persisted | None:
        if row is None or not self._runs(row["registered"]):
            return None
        # A registered document met the limits when registered; a stored one is checked.
        cost = row["cost"] if row["registered"] else None
        return self.documents.persist(
            row["sha256"], row["document"], registered=row["registered"], cost=cost
        )

    async def _store(self, pool: asyncpg.Pool, sha256: str, text: str) -> Persisted:
        document = self.documents.persist(sha256, text, registered=False, cost=None)
        checked = document.checked
        if not checked.errors and checked.cost is not None:
            # Only what passed every check is kept; the rest is answered with its errors.
            async with pool.acquire() as conn:
                await persisted.store(conn, sha256, text, checked.cost, self.keep_stored)
        return document


# Registration: `registry persisted add FILE...`.


class Refused(RegistryError):
    """A document of a build output that cannot be registered, and why."""


@dataclass(frozen=True)
class Registration:
    sha256: str
    document_id: str | None
    text: str
    cost: int


def documents_in(path: Path) -> list[tuple[str | None, str]]:
    """(id, text) of every document in a build output: a JSON map of id to text (Relay's
    persisted queries, `--persist-output`), or one .graphql/.gql file (no id)."""
    if path.suffix in (".graphql", ".gql"):
        return [(None, path.read_text(encoding="utf-8"))]
    if path.suffix != ".json":
        raise Refused(f"{path}: expected a .json map of id to document, or a .graphql file")
    try:
        found = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise Refused(f"{path}: not JSON ({exc})") from exc
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise Refused(f"{path}: expected a JSON object mapping ids to document texts")
    return list(found.items())


def prepare(documents: Documents, document_id: str | None, text: str) -> Registration:
    """What registering a document writes; Refused when it breaks a limit or a rule."""
    checked = documents.check(text)
    if checked.errors or checked.cost is None:
        raise Refused("; ".join(error.message for error in checked.errors))
    sha256 = sha256_hex(text)
    if document_id is None or document_id == sha256:
        return Registration(sha256, None, text, checked.cost)
    if ":" in document_id:
        raise Refused(f"id {document_id!r}: an id a client sends as documentId has no ':'")
    digest = _DIGESTS.get(len(document_id)) if _HEX.fullmatch(document_id) else None
    if digest is not None and digest[1](text.encode()).hexdigest() != document_id:
        raise Refused(f"id {document_id} is not the {digest[0]} of its text")
    return Registration(sha256, document_id, text, checked.cost)


async def register(conn: Conn, registrations: list[Registration]) -> int:
    """Write them in one transaction; how many were new."""
    new = 0
    async with conn.transaction():
        for item in registrations:
            new += await persisted.register(
                conn, item.sha256, item.text, item.document_id, item.cost
            )
    return new
