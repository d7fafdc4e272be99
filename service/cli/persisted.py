"""`registry persisted add | list`: the registered documents (the allow-list)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from service import migrate
from service.cli.common import database_for, print_table, say, when
from service.config import Settings
from service.db import persisted
from service.db.pool import connect
from service.graphql.persisted import Refused, Registration, documents_in, prepare, register

if TYPE_CHECKING:
    from service.graphql.schema import RegistrySchema


def _checking_schema(settings: Settings) -> RegistrySchema:
    """The schema and limits `registry serve` would check documents with, for registration."""
    from service.graphql.limits import Limits
    from service.graphql.schema import build_schema

    return build_schema(
        limits=Limits(max_cost=settings.max_query_cost),
        production=settings.production,
        introspection=settings.serves_introspection,
    )


async def _persisted_add_async(dsn: str, registrations: list[Registration]) -> int:
    conn = await connect(dsn)
    try:
        return await register(conn, registrations)
    finally:
        await conn.close()


def persisted_add(settings: Settings, args: argparse.Namespace) -> int:
    documents = _checking_schema(settings).documents
    registrations: list[Registration] = []
    refusals: list[str] = []
    for path in map(Path, args.files):
        try:
            found = documents_in(path)
        except OSError as exc:
            refusals.append(f"{path}: {exc.strerror}")
            continue
        except Refused as exc:
            refusals.append(str(exc))
            continue
        for document_id, text in found:
            try:
                registrations.append(prepare(documents, document_id, text))
            except Refused as exc:
                refusals.append(f"{path}: {document_id or 'the document'}: {exc}")
    # All or nothing: a build output with one refused document registers none of them.
    for refusal in refusals:
        say(f"refused: {refusal}")
    if refusals:
        total = len(registrations) + len(refusals)
        raise Refused(f"{len(refusals)} of {total} refused; nothing registered")
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        new = asyncio.run(_persisted_add_async(dsn, registrations))
    print(
        f"registered {len(registrations)} documents: {new} new, "
        f"{len(registrations) - new} already there (REGISTRY_PERSISTED_QUERIES="
        f"{settings.persisted_queries})"
    )
    return 0


def _operations(text: str) -> str:
    from graphql import GraphQLError, OperationDefinitionNode, parse

    try:
        document = parse(text)
    except GraphQLError:
        return "?"
    names = [
        definition.name.value if definition.name else "(anonymous)"
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    return ", ".join(names)


async def _persisted_list_async(dsn: str) -> list[tuple[str, ...]]:
    conn = await connect(dsn)
    try:
        found = await persisted.list_all(conn)
    finally:
        await conn.close()
    return [
        (
            row["sha256"],
            row["document_id"] or "-",
            "registered" if row["registered"] else "stored",
            str(row["cost"]),
            when(row["created_at"]),
            _operations(row["document"]),
        )
        for row in found
    ]


def persisted_list(settings: Settings, args: argparse.Namespace) -> int:
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        found = asyncio.run(_persisted_list_async(dsn))
    print_table(("SHA256", "ID", "KIND", "COST", "CREATED", "OPERATIONS"), found)
    return 0
