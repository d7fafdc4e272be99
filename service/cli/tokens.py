"""`registry token create | list | revoke`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from service import auth, migrate
from service.cli.common import database_for, print_table, when
from service.config import Settings
from service.db import tokens
from service.db.pool import connect
from service.enums import Role
from service.errors import NotFound


async def _token_create_async(dsn: str, name: str, role: Role) -> str:
    token = auth.generate_token()
    conn = await connect(dsn)
    try:
        await tokens.insert(
            conn,
            name=name,
            role=role.value,
            token_prefix=auth.display_prefix(token),
            token_hash=auth.hash_token(token),
        )
    finally:
        await conn.close()
    return token


def token_create(settings: Settings, args: argparse.Namespace) -> int:
    role = Role(args.role.upper())
    # A token for a database nobody serves is refused by the server that runs elsewhere:
    # creating a registry here only happens when asked.
    existing = None if args.init else "Pass --init to create a new, empty registry there."
    with database_for(settings, existing=existing) as dsn:
        migrate.upgrade(dsn)
        token = asyncio.run(_token_create_async(dsn, args.name, role))
    # The only time the token is shown: the registry keeps its digest, not the token.
    print(f"created {role.value} token {args.name!r}; store it now, it is not shown again:")
    print(token)
    return 0


async def _token_list_async(dsn: str) -> list[tuple[str, ...]]:
    conn = await connect(dsn)
    try:
        rows = await tokens.list_all(conn)
    finally:
        await conn.close()
    return [
        (
            row["name"],
            row["role"],
            row["token_prefix"] + "…",
            when(row["created_at"]),
            when(row["last_used_at"]),
            when(row["revoked_at"]),
        )
        for row in rows
    ]


def token_list(settings: Settings, args: argparse.Namespace) -> int:
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        rows = asyncio.run(_token_list_async(dsn))
    print_table(("NAME", "ROLE", "PREFIX", "CREATED", "LAST USED", "REVOKED"), rows)
    return 0


async def _token_revoke_async(dsn: str, name: str) -> dt.datetime:
    conn = await connect(dsn)
    try:
        row = await tokens.revoke(conn, name)
    finally:
        await conn.close()
    if row is None:
        raise NotFound("name", f"no token named {name!r}")
    revoked_at: dt.datetime = row["revoked_at"]
    return revoked_at


def token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        revoked_at = asyncio.run(_token_revoke_async(dsn, args.name))
    print(f"token {args.name!r} revoked since {when(revoked_at)}")
    return 0
