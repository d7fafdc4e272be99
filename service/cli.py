"""The `registry` command: serve, migrate, seed, export-schema and token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from service import auth, migrate, seed
from service.config import Settings
from service.db import tokens
from service.db.pool import connect
from service.embedded import EmbeddedPostgres
from service.enums import Role
from service.errors import NotFound, RegistryError

DEFAULT_SCHEMA_PATH = Path("schema/schema.graphql")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded server (started, or the running one)."""
    if settings.dsn is not None:
        yield settings.dsn
        return
    with EmbeddedPostgres(settings.data_dir) as dsn:
        yield dsn


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    settings = settings.model_copy(update={"host": args.host, "port": args.port})
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as dsn:
        migrate.upgrade(dsn, args.revision)
    print(f"migrated to {args.revision}")
    return 0


async def _seed_async(dsn: str) -> int:
    conn = await connect(dsn)
    try:
        return await seed.seed(conn)
    finally:
        await conn.close()


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as dsn:
        migrate.upgrade(dsn)
        written = asyncio.run(_seed_async(dsn))
    print(f"seeded: {written} entries written" if written else "seeded: nothing to change")
    return 0


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


def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    role = Role(args.role.upper())
    with database(settings) as dsn:
        migrate.upgrade(dsn)
        token = asyncio.run(_token_create_async(dsn, args.name, role))
    # The only time the token is shown: the registry keeps its digest, not the token.
    print(f"created {role.value} token {args.name!r}; store it now, it is not shown again:")
    print(token)
    return 0


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


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
            _when(row["created_at"]),
            _when(row["last_used_at"]),
            _when(row["revoked_at"]),
        )
        for row in rows
    ]


def _token_list(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as dsn:
        migrate.upgrade(dsn)
        rows = asyncio.run(_token_list_async(dsn))
    table = [("NAME", "ROLE", "PREFIX", "CREATED", "LAST USED", "REVOKED"), *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
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


def _token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    with database(settings) as dsn:
        migrate.upgrade(dsn)
        revoked_at = asyncio.run(_token_revoke_async(dsn, args.name))
    print(f"token {args.name!r} revoked since {_when(revoked_at)}")
    return 0


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from service.graphql.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sdl, encoding="utf-8")
        print(f"wrote {path}")
    return 0


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description="Model Release Registry: a GraphQL registry of frontier-AI releases. "
        "Without DATABASE_URL every command uses the embedded PostgreSQL in REGISTRY_DATA_DIR.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="start the service (migrates and loads demo data on first start)"
    )
    serve.add_argument("--host", default=settings.host, help="address to bind (%(default)s)")
    serve.add_argument("--port", type=int, default=settings.port, help="port (%(default)s)")
    serve.set_defaults(run=_serve)

    migrate_cmd = commands.add_parser("migrate", help="apply database migrations and exit")
    migrate_cmd.add_argument("--revision", default="head", help="target revision (%(default)s)")
    migrate_cmd.set_defaults(run=_migrate)

    seed_cmd = commands.add_parser(
        "seed", help="load the demo data; idempotent, a second run changes nothing"
    )
    seed_cmd.set_defaults(run=_seed)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument(
        "--output",
        "-o",
        default=str(DEFAULT_SCHEMA_PATH),
        help="file to write, or - for stdout (%(default)s)",
    )
    export.set_defaults(run=_export_schema)

    token = commands.add_parser("token", help="create, list and revoke API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser(
        "create", help="create a token and print it once (only its digest is stored)"
    )
    create.add_argument("--name", required=True, help="a unique name, e.g. who holds it")
    create.add_argument(
        "--role",
        required=True,
        choices=[role.value.lower() for role in Role],
        help="what the token may do: reader < editor < admin",
    )
    create.set_defaults(run=_token_create)
    token_commands.add_parser(
        "list", help="list tokens with their prefix and use (never the token)"
    ).set_defaults(run=_token_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by name (idempotent)")
    revoke.add_argument("--name", required=True, help="the token's name")
    revoke.set_defaults(run=_token_revoke)
    return parser


def _settings() -> Settings | None:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            print(f"registry: setting {name}: {error['msg']}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    settings = _settings()
    if settings is None:
        return 2
    args = build_parser(settings).parse_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    try:
        code: int = args.run(settings, args)
    except RegistryError as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 1
    return code
