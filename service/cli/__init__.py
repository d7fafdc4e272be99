"""The `registry` command: serve, migrate, seed, export, import, export-schema, token, persisted.

A failure the user can fix (a wrong DATABASE_URL, an embedded server that cannot start, a
token for a data dir without a registry) is one line on stderr and a non-zero exit; `--debug`
adds the traceback. Every command that touches a database first says which one it uses.

One module per group of commands (serving, data, tokens, persisted); the parser and `main` are
here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from service import logs, migrate, seed
from service.cli import data
from service.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, database_for, say
from service.cli.persisted import persisted_add, persisted_list
from service.cli.serving import serve_command
from service.cli.tokens import token_create, token_list, token_revoke
from service.config import Settings
from service.db.pool import connect
from service.enums import Role
from service.errors import EmbeddedPostgresError, RegistryError

DEFAULT_SCHEMA_PATH = Path("schema/schema.graphql")


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_for(settings) as dsn:
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
    with database_for(settings) as dsn:
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


_DEBUG_HELP = "on failure, print the traceback too"


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description="Model Release Registry: a GraphQL registry of frontier-AI releases. "
        "Without DATABASE_URL every command uses the embedded PostgreSQL in REGISTRY_DATA_DIR.",
    )
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    # `--debug` after the command works too; SUPPRESS keeps a command from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
    ) -> argparse.ArgumentParser:
        return group.add_parser(name, help=help, parents=[common])

    serve = command(
        commands, "serve", "start the service (migrates and loads demo data on first start)"
    )
    serve.add_argument("--host", default=settings.host, help="address to bind (%(default)s)")
    serve.add_argument("--port", type=int, default=settings.port, help="port (%(default)s)")
    serve.set_defaults(run=serve_command)

    migrate_cmd = command(commands, "migrate", "apply database migrations and exit")
    migrate_cmd.add_argument("--revision", default="head", help="target revision (%(default)s)")
    migrate_cmd.set_defaults(run=_migrate)

    seed_cmd = command(
        commands, "seed", "load the demo data; idempotent, a second run changes nothing"
    )
    seed_cmd.set_defaults(run=_seed)

    data.add_parsers(
        command(
            commands, "export", "write tables as NDJSON or CSV, one snapshot, with its feed cursor"
        ),
        command(
            commands,
            "import",
            "load NDJSON exports through the write commands, in one transaction; an empty "
            "registry keeps their ids",
        ),
    )

    export = command(commands, "export-schema", "write the GraphQL SDL")
    export.add_argument(
        "--output",
        "-o",
        default=str(DEFAULT_SCHEMA_PATH),
        help="file to write, or - for stdout (%(default)s)",
    )
    export.set_defaults(run=_export_schema)

    token = command(commands, "token", "create, list and revoke API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = command(
        token_commands, "create", "create a token and print it once (only its digest is stored)"
    )
    create.add_argument("--name", required=True, help="a unique name, e.g. who holds it")
    create.add_argument(
        "--role",
        required=True,
        choices=[role.value.lower() for role in Role],
        help="what the token may do: reader < editor < admin",
    )
    create.add_argument(
        "--init",
        action="store_true",
        help="create a new, empty registry when the database holds none (refused otherwise)",
    )
    create.set_defaults(run=token_create)
    command(
        token_commands, "list", "list tokens with their prefix and use (never the token)"
    ).set_defaults(run=token_list)
    revoke = command(token_commands, "revoke", "revoke a token by name (idempotent)")
    revoke.add_argument("--name", required=True, help="the token's name")
    revoke.set_defaults(run=token_revoke)

    persisted_cmd = command(
        commands, "persisted", "register persisted documents (the allow-list) and list them"
    )
    persisted_commands = persisted_cmd.add_subparsers(
        dest="persisted_command", required=True, metavar="ACTION"
    )
    add = command(
        persisted_commands,
        "add",
        "register documents from a build output, checked against the limits; all or none",
    )
    add.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="a JSON map of id to document text (relay-compiler's persisted queries), or a "
        ".graphql file",
    )
    add.set_defaults(run=persisted_add)
    command(
        persisted_commands, "list", "list persisted documents: registered, then stored by clients"
    ).set_defaults(run=persisted_list)
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
    logs.configure(settings.log_level, settings.log_format)
    try:
        code: int = args.run(settings, args)
    except RegistryError as exc:
        if args.debug:
            traceback.print_exc()
            if isinstance(exc, EmbeddedPostgresError) and exc.detail:
                print(exc.detail, file=sys.stderr)
        more = exc.__cause__ is not None or bool(getattr(exc, "detail", ""))
        say(f"{exc} (--debug shows more)" if more and not args.debug else str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code
