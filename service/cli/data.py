"""`registry export` and `registry import`: the registry's tables as files, and back.

The formats, the snapshot and its feed cursor are service.export's; the import's matching
and what it keeps are service.importer's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from service import migrate
from service.cli.common import database_for, say
from service.config import Settings
from service.db import export
from service.db.pool import connect
from service.export import TABLES, Format, Refused, cursor, parse_as_of, write_table
from service.importer import Report, load

EXIT_USAGE = 2


async def _export_async(
    dsn: str, tables: list[str], fmt: Format, as_of: dt.date | None, out: Path | None
) -> str:
    conn = await connect(dsn)
    try:
        async with export.snapshot(conn) as position:
            for table in tables:
                kw: dict[str, Any] = {"position": position, "as_of": as_of}
                if out is None:
                    await write_table(conn, table, fmt, sys.stdout.buffer.write, **kw)
                    sys.stdout.buffer.flush()
                    continue
                # Whole files only: a failed export leaves no file that looks complete.
                path = out / f"{table}.{fmt}"
                partial = path.with_name(path.name + ".part")
                try:
                    with partial.open("wb") as file:
                        await write_table(conn, table, fmt, file.write, **kw)
                except BaseException:
                    partial.unlink(missing_ok=True)
                    raise
                partial.replace(path)
    finally:
        await conn.close()
    return cursor(position)


def export_command(settings: Settings, args: argparse.Namespace) -> int:
    tables: list[str] = args.tables or (list(TABLES) if args.dir else [])
    unknown = [table for table in tables if table not in TABLES]
    if unknown:
        say(f"no table {unknown[0]!r}; there are {', '.join(TABLES)}")
        return EXIT_USAGE
    if args.dir is None and len(tables) != 1:
        say("name one table to write to stdout, or give --dir for several")
        return EXIT_USAGE
    try:
        as_of = parse_as_of(args.as_of, "--as-of")
    except Refused as exc:
        say(str(exc))
        return EXIT_USAGE
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    with database_for(settings, existing="") as dsn:
        try:
            found = asyncio.run(_export_async(dsn, tables, args.format, as_of, args.dir))
        except BrokenPipeError:
            # The reader stopped (`| head`): not a failure of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    say(f'exported at feed cursor {found}: follow with changes(after: "{found}")')
    return 0


async def _import_async(dsn: str, files: list[Path], actor: str) -> Report:
    conn = await connect(dsn)
    try:
        return await load(conn, files, actor)
    finally:
        await conn.close()


def import_command(settings: Settings, args: argparse.Namespace) -> int:
    with database_for(settings) as dsn:
        migrate.upgrade(dsn)
        report = asyncio.run(_import_async(dsn, args.files, args.actor))
    for line in report.summary():
        print(line)
    if report.kept_ids:
        kept = "the exported ids"
        if report.cursor is not None:
            kept += f" and the feed cursor {report.cursor}"
        print(f"into an empty registry: kept {kept}")
    return 0


def add_parsers(command: argparse.ArgumentParser, import_: argparse.ArgumentParser) -> None:
    """The arguments of `registry export` (on `command`) and `registry import`."""
    command.add_argument(
        "tables",
        nargs="*",
        metavar="TABLE",
        help=f"{', '.join(TABLES)}; with --dir, all by default",
    )
    command.add_argument(
        "--format", type=Format, default=Format.NDJSON, help="ndjson or csv (%(default)s)"
    )
    command.add_argument(
        "--as-of",
        help="only the dated facts (scores, versions, statuses, targets) up to YYYY-MM-DD",
    )
    command.add_argument(
        "--dir", type=Path, help="write TABLE.FORMAT files here instead of one table to stdout"
    )
    command.set_defaults(run=export_command)
    import_.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="NDJSON or CSV files of one export (TABLE.ndjson, TABLE.csv)",
    )
    import_.add_argument(
        "--actor", default="registry-import", help="the audit rows' actor (%(default)s)"
    )
    import_.set_defaults(run=import_command)
