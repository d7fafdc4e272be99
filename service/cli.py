"""The `registry` command: serve, migrate, seed, export-schema, token and persisted.

A failure the user can fix (a wrong DATABASE_URL, an embedded server that cannot start, a
token for a data dir without a registry) is one line on stderr and a non-zero exit; `--debug`
adds the traceback. Every command that touches a database first says which one it uses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from service import auth, database, logs, migrate, seed
from service.config import Settings
from service.db import persisted, tokens
from service.db.pool import connect
from service.enums import Role
from service.errors import ConfigurationError, EmbeddedPostgresError, NotFound, RegistryError
from service.graphql.persisted import Refused, Registration, documents_in, prepare, register

if TYPE_CHECKING:
    from service.graphql.schema import RegistrySchema

DEFAULT_SCHEMA_PATH = Path("schema/schema.graphql")
EXIT_FAILED = 1  # a RegistryError: the line on stderr says why
EXIT_INTERRUPTED = 130


def _say(message: str) -> None:
    print(f"registry: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def database_for(settings: Settings, *, existing: str | None = None) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded server (started, or the running one).

    With `existing` (a hint for the user), the database must already hold a registry: one
    that does not is refused with one line instead of being initialised and migrated.
    """
    if settings.dsn is not None:
        asyncio.run(database.probe(settings.dsn))
        _say(f"database: {database.describe_url(settings.dsn)} (DATABASE_URL)")
        if existing is not None and not asyncio.run(database.has_registry(settings.dsn)):
            raise ConfigurationError(_no_registry(settings, existing))
        yield settings.dsn
        return
    server = database.embedded_server(settings.data_dir)
    if existing is not None and not server.has_cluster():
        raise ConfigurationError(_no_registry(settings, existing))
    dsn = server.start()
    try:
        _say(f"database: {database.describe_embedded(server)}")
        if existing is not None and not asyncio.run(database.has_registry(dsn)):
            raise ConfigurationError(_no_registry(settings, existing))
        yield dsn
    finally:
        server.stop()


def _no_registry(settings: Settings, hint: str) -> str:
    if settings.dsn is not None:
        where = f"{database.describe_url(settings.dsn)} (DATABASE_URL)"
    else:
        where = f"{settings.data_dir.expanduser()} (REGISTRY_DATA_DIR)"
    return f"no registry in {where}: is it the database your server uses? {hint}".rstrip()


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.model_copy(update={"host": args.host, "port": args.port})
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_serve_async(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:  # uvicorn's choice too: a C event loop where there is one
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve_async(settings: Settings) -> int:
    import uvicorn

    from service.app import create_app, serving

    server: uvicorn.Server | None = None
    failures: list[str] = []

    def on_fatal(reason: str) -> None:
        failures.append(reason)
        if server is not None:
            server.should_exit = True

    app = create_app(settings, on_fatal=on_fatal)
    async with serving(app) as served:  # start-up errors propagate: one line from main()
        config = uvicorn.Config(
            served,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            # Logging is set up once in main(): uvicorn's loggers propagate to that handler,
            # and the service writes its own access line per request (service/observability.py).
            log_config=None,
            access_log=False,
            lifespan="off",  # run by `serving` above
        )
        server = uvicorn.Server(config)
        with _signals_end_serving():
            if not failures:
                await server.serve()
    if failures:
        _say(f"{failures[0]}; exiting so that whatever runs the registry can start it again")
        return EXIT_FAILED
    return 0


@contextlib.contextmanager
def _signals_end_serving() -> Iterator[None]:
    """Let SIGINT and SIGTERM end `server.serve()`, and nothing more.

    uvicorn raises the signal that stopped it once more when it has finished, for the previous
    handler; that would kill us (SIGTERM) or cancel our task (SIGINT) before the lifespan has
    closed the pool and stopped the embedded server, so the previous handler ignores it.
    """

    def ignore(signum: int, frame: FrameType | None) -> None:
        return None

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, ignore) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        rows = asyncio.run(_token_list_async(dsn))
    _print_table(("NAME", "ROLE", "PREFIX", "CREATED", "LAST USED", "REVOKED"), rows)
    return 0


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


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
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        revoked_at = asyncio.run(_token_revoke_async(dsn, args.name))
    print(f"token {args.name!r} revoked since {_when(revoked_at)}")
    return 0


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


def _persisted_add(settings: Settings, args: argparse.Namespace) -> int:
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
        _say(f"refused: {refusal}")
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
            _when(row["created_at"]),
            _operations(row["document"]),
        )
        for row in found
    ]


def _persisted_list(settings: Settings, args: argparse.Namespace) -> int:
    with database_for(settings, existing="") as dsn:
        migrate.upgrade(dsn)
        found = asyncio.run(_persisted_list_async(dsn))
    _print_table(("SHA256", "ID", "KIND", "COST", "CREATED", "OPERATIONS"), found)
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
    serve.set_defaults(run=_serve)

    migrate_cmd = command(commands, "migrate", "apply database migrations and exit")
    migrate_cmd.add_argument("--revision", default="head", help="target revision (%(default)s)")
    migrate_cmd.set_defaults(run=_migrate)

    seed_cmd = command(
        commands, "seed", "load the demo data; idempotent, a second run changes nothing"
    )
    seed_cmd.set_defaults(run=_seed)

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
    create.set_defaults(run=_token_create)
    command(
        token_commands, "list", "list tokens with their prefix and use (never the token)"
    ).set_defaults(run=_token_list)
    revoke = command(token_commands, "revoke", "revoke a token by name (idempotent)")
    revoke.add_argument("--name", required=True, help="the token's name")
    revoke.set_defaults(run=_token_revoke)

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
    add.set_defaults(run=_persisted_add)
    command(
        persisted_commands, "list", "list persisted documents: registered, then stored by clients"
    ).set_defaults(run=_persisted_list)
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
        _say(f"{exc} (--debug shows more)" if more and not args.debug else str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code
