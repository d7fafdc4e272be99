"""The `registry` command: serve, migrate, seed and export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from service import migrate, seed
from service.config import Settings
from service.db.pool import connect
from service.embedded import EmbeddedPostgres
from service.errors import RegistryError

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
