"""`registry import FILE...`: load exports (NDJSON or CSV) through the write commands, audit rows
included.

All or nothing: one transaction, each command in it as it would run for a client (its own
savepoint, its audit row); a refused row stops the import at its file and line and leaves
the registry as it was. The derived events (service.derived) are the import's as a whole,
computed once at its end (`derived.batched`): recomputing two leaderboards after each score
made an import of 2,000 scores take a minute.

Into an empty registry, the import keeps what the export showed: each row gets the id it
had (the table's id generator is placed before the command runs), and the feed's positions
end at the export's cursor (the import's own changes are numbered up to it, the positions
before them left unused, as a rolled-back write leaves its number). Exporting the new
registry then gives the same files, byte for byte, cursor included; a consumer that
followed the first registry can follow the second from the same cursor.

Into a registry that holds data, rows are matched first and only what is new is created:
  sources       the same identity (URL, or kind, title, publisher and date)
  labs, models  the same slug; else an external id of the row's already naming one; else
                the matching rules (service.matching): merged into a KNOWN_EXTERNAL_ID
                match, and for models into the same name spelled otherwise; a lab that
                merely resembles another (SIMILAR_NAME) is created, and the report says so
  families, benchmarks, versions, links, programs
                the same slug, (benchmark, label), (model, label), (parent, child, relation),
                the same slug
  participants  a status change: the same programme, lab and effective day
  targets       the same lab, benchmark, value and due date
  scores        the same observation: version, benchmark version, value, date, provenance,
                source and the score it corrects
A merged row keeps what the registry holds; the report names each merge and what it was
merged into, and each lab and model created.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from service import commands, derived, ids, inputs, matching, validation
from service.db import Conn, feed, imports, keys, sources
from service.enums import WarningCode
from service.errors import RegistryError
from service.export import TABLES, Column, columns, csv_value
from service.seed import status_exists, target_exists

_TYPE_TABLE = {
    "Source": "source",
    "Lab": "lab",
    "ModelFamily": "model_family",
    "Model": "model",
    "Version": "model_version",
    "Benchmark": "benchmark",
    "BenchmarkVersion": "benchmark_version",
    "Score": "score",
    "LineageLink": "lineage_link",
    "Program": "program",
    "ParticipantStatusChange": "participant_status_change",
    "Target": "target",
}


class ImportFailed(RegistryError):
    """An import refused as a whole; the message names the file and line."""


@dataclass
class Report:
    kept_ids: bool
    created: Counter[str] = field(default_factory=Counter)
    merged: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)
    cursor: str | None = None

    def create(self, table: str, name: str | None = None, note: str = "") -> None:
        self.created[table] += 1
        if name is not None:
            self.lines.append(f"created {table[:-1]} {name}{note}")

    def merge(self, table: str, name: str, into: str, reason: str) -> None:
        self.merged[table] += 1
        self.lines.append(f"merged {table[:-1]} {name} into {into} ({reason})")

    def summary(self) -> list[str]:
        counts = [
            f"{table}: {self.created[table]} created, {self.merged[table]} merged"
            for table in TABLES
            if self.created[table] or self.merged[table]
        ]
        return [*self.lines, *counts]


@dataclass(frozen=True)
class ExportFile:
    path: Path
    table: str
    cursor: str | None  # None: a CSV export, which names no cursor
    columns: list[Column] | None = None  # a CSV export's, in its order


def read_head(path: Path, tables: dict[str, list[Column]]) -> ExportFile:
    """Which table the file exports, from its first line: NDJSON's head, or CSV's header
    (the table whose export has exactly those columns)."""
    with path.open("rb") as lines:
        first = lines.readline()
    if not first.lstrip(b"\xef\xbb\xbf").startswith(b"{"):
        header = next(csv.reader([first.decode("utf-8-sig", "replace")]), [])
        for table, found in tables.items():
            if header == [column.name for column in found]:
                return ExportFile(path, table, None, found)
        raise ImportFailed(f"{path}: not an NDJSON or CSV export of the registry")
    try:
        head = orjson.loads(first)
        table, cursor = head["export"], head["cursor"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ImportFailed(f"{path}: not an NDJSON export of the registry") from None
    if table not in TABLES:
        raise ImportFailed(f"{path}: an export of {table!r}, which the registry does not hold")
    return ExportFile(path, table, cursor)


def _rows(file: ExportFile) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's rows as the NDJSON export shows them, each with the line it starts on."""
    if file.columns is not None:
        yield from _csv_rows(file.path, file.columns)
        return
    with file.path.open("rb") as lines:
        next(lines)
        for number, line in enumerate(lines, start=2):
            if line.strip():
                yield number, orjson.loads(line)


def _csv_rows(path: Path, columns: list[Column]) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        next(reader)
        number = reader.line_num + 1
        for cells in reader:
            if cells:
                if len(cells) != len(columns):
                    raise ImportFailed(
                        f"{path}:{number}: {len(cells)} cells; the header names {len(columns)}"
                    )
                try:
                    row = {
                        c.name: csv_value(c, cell) for c, cell in zip(columns, cells, strict=True)
                    }
                except ValueError as exc:
                    raise ImportFailed(f"{path}:{number}: {exc}") from exc
                yield number, row
            number = reader.line_num + 1


def _row_id(global_id: str) -> int:
    decoded = ids.decode(global_id)
    if decoded is None:
        raise ImportFailed(f"{global_id!r} is not a registry id")
    return decoded[1]


def _pick(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names if row.get(name) is not None}


class Importer:
    def __init__(self, conn: Conn, actor: str, *, keep_ids: bool) -> None:
        self.conn = conn
        self.actor = actor
        self.keep_ids = keep_ids
        self.report = Report(kept_ids=keep_ids)
        self.source_ids: dict[str, int] = {}
        self.score_ids: dict[str, int] = {}
        self.merged_scores: set[str] = set()
        self.archived: list[tuple[str, str]] = []  # ("labs" or "models", slug)
        self.benchmark_versions: list[tuple[str, dict[str, Any]]] = []  # (benchmark, version)

    async def _create(
        self,
        global_id: str,
        write: Callable[[Conn, str, Any], Awaitable[asyncpg.Record]],
        data: validation.Input,
    ) -> asyncpg.Record:
        """Run a command; keeping ids, the row it creates gets the id the export showed."""
        decoded = ids.decode(global_id)
        if decoded is None or decoded[0] not in _TYPE_TABLE:
            raise ImportFailed(f"{global_id!r} is not the id of a row an export shows")
        type_name, row_id = decoded
        if self.keep_ids:
            await imports.place_next_id(self.conn, _TYPE_TABLE[type_name], row_id)
        row = await write(self.conn, self.actor, data)
        if self.keep_ids and row["id"] != row_id:
            raise ImportFailed(f"{global_id} ({type_name} {row_id}) was created as {row['id']}")
        return row

    def _source(self, global_id: str | None) -> dict[str, int] | None:
        if global_id is None:
            return None
        if global_id not in self.source_ids:
            raise ImportFailed(f"cites source {global_id}, which no sources file holds")
        return {"id": self.source_ids[global_id]}

    # --- tables, in the order TABLES gives -----------------------------------------------

    async def sources(self, row: dict[str, Any]) -> None:
        data = validation.parse(
            inputs.SourceInput, _pick(row, "url", "title", "publisher", "publishedOn", "kind")
        )
        found = (
            None if self.keep_ids else await sources.with_identity(self.conn, **data.model_dump())
        )
        if found is not None:
            self.source_ids[row["id"]] = int(found["id"])
            self.report.merge(
                "sources", repr(data.title), ids.encode("Source", found["id"]), "same source"
            )
            return
        created = await self._create(row["id"], commands.add_source, data)
        self.source_ids[row["id"]] = int(created["id"])
        self.report.create("sources")

    async def labs(self, row: dict[str, Any]) -> None:
        fields = _pick(
            row, "slug", "name", "country", "foundedYear", "headquarters", "website", "description"
        )
        data = validation.parse(inputs.LabInput, fields)
        if not self.keep_ids:
            into = await self._match("labs", row, keys.lab_id, matching.lab_candidates)
            if into is not None:
                await self._external_ids(row, "lab", into)
                return
        created = await self._create(row["id"], commands.create_lab, data)
        await self._created_with_resemblances("labs", row, created, matching.lab_duplicates)
        await self._external_ids(row, "lab", data.slug)
        if row["archived"]:
            self.archived.append(("labs", data.slug))

    async def families(self, row: dict[str, Any]) -> None:
        data = validation.parse(
            inputs.ModelFamilyInput, _pick(row, "slug", "name", "lab", "description")
        )
        if not self.keep_ids and await keys.family_id(self.conn, data.slug) is not None:
            self.report.merge("families", data.slug, data.slug, "same slug")
            return
        await self._create(row["id"], commands.create_model_family, data)
        self.report.create("families")

    async def models(self, row: dict[str, Any]) -> None:
        fields = _pick(
            row, "slug", "name", "lab", "family", "modality", "openWeights", "license",
            "trainingOrigin", "description",
        )  # fmt: skip
        data = validation.parse(inputs.ModelInput, fields)
        if not self.keep_ids:
            into = await self._match("models", row, keys.model_id, matching.model_candidates)
            if into is not None:
                await self._external_ids(row, "model", into)
                return
        created = await self._create(row["id"], commands.create_model, data)
        await self._created_with_resemblances("models", row, created, matching.model_duplicates)
        await self._external_ids(row, "model", data.slug)
        if row["archived"]:
            self.archived.append(("models", data.slug))

    async def benchmarks(self, row: dict[str, Any]) -> None:
        fields = _pick(
            row, "slug", "name", "publisher", "url", "scaleMin", "scaleMax", "higherIsBetter",
            "isIndependent", "isIndex", "methodology",
        )  # fmt: skip
        data = validation.parse(inputs.BenchmarkInput, fields)
        if not self.keep_ids and await keys.benchmark_id(self.conn, data.slug) is not None:
            self.report.merge("benchmarks", data.slug, data.slug, "same slug")
        else:
            await self._create(row["id"], commands.create_benchmark, data)
            self.report.create("benchmarks")
        self.benchmark_versions.extend((data.slug, version) for version in row["versions"])

    async def benchmark_version(self, benchmark: str, version: dict[str, Any]) -> None:
        fields = {
            **_pick(version, "label", "effectiveOn", "notes", "components"),
            "benchmark": benchmark,
            "source": self._source(version["sourceId"]),
        }
        data = validation.parse(inputs.BenchmarkVersionInput, fields)
        if not self.keep_ids:
            benchmark_id = await keys.benchmark_id(self.conn, benchmark)
            assert benchmark_id is not None
            if await keys.benchmark_version_id(self.conn, benchmark_id, data.label) is not None:
                return
        await self._create(version["id"], commands.create_benchmark_version, data)

    async def versions(self, row: dict[str, Any]) -> None:
        facts = _pick(
            row, "model", "label", "announcedOn", "releasedOn", "releasedPrecision", "plannedOn",
            "plannedPrecision", "totalParameters", "activeParameters", "contextWindow",
        )  # fmt: skip
        facts["source"] = self._source(row["sourceId"])
        facts["hardwareTargets"] = [
            {
                **_pick(target, "accelerator", "acceleratorCount", "memoryGb", "precision", "note"),
                "source": self._source(target["sourceId"]),
            }
            for target in row["hardwareTargets"]
        ]
        if not self.keep_ids:
            model_id = await keys.model_id(self.conn, row["model"])
            if model_id is not None and await keys.version_id(self.conn, model_id, row["label"]):
                self.report.merge("versions", f"{row['model']} {row['label']}", "it", "same label")
                return
        if row["promotedFrom"] is not None:
            data: validation.Input = validation.parse(
                inputs.PromoteVersionInput, {**facts, "preview": row["promotedFrom"]}
            )
            await self._create(row["id"], commands.promote_version, data)
        else:
            data = validation.parse(inputs.VersionInput, {**facts, "stage": row["stage"]})
            await self._create(row["id"], commands.create_version, data)
        self.report.create("versions")

    async def lineage(self, row: dict[str, Any]) -> None:
        fields = {
            **_pick(row, "parent", "child", "relation", "note"),
            "source": self._source(row["sourceId"]),
        }
        data = validation.parse(inputs.LineageLinkInput, fields)
        if not self.keep_ids and await imports.link_id(
            self.conn, data.parent, data.child, data.relation
        ):
            self.report.merge("lineage", f"{data.parent} -> {data.child}", "it", "same link")
            return
        await self._create(row["id"], commands.link_models, data)
        self.report.create("lineage")

    async def programs(self, row: dict[str, Any]) -> None:
        fields = {
            **_pick(
                row, "slug", "name", "sponsor", "country", "startedOn", "startedPrecision",
                "description",
            ),
            "source": self._source(row["sourceId"]),
        }  # fmt: skip
        data = validation.parse(inputs.ProgramInput, fields)
        if not self.keep_ids and await keys.program_id(self.conn, data.slug) is not None:
            self.report.merge("programs", data.slug, data.slug, "same slug")
            return
        await self._create(row["id"], commands.create_program, data)
        self.report.create("programs")

    async def participants(self, row: dict[str, Any]) -> None:
        fields = {
            **_pick(row, "program", "lab", "status", "effectiveOn", "effectivePrecision", "note"),
            "source": self._source(row["sourceId"]),
        }
        data = validation.parse(inputs.ParticipantStatusInput, fields)
        if not self.keep_ids and await status_exists(self.conn, data):
            name = f"{data.lab} in {data.program} on {data.effective_on}"
            self.report.merge("participants", name, "it", "same day")
            return
        await self._create(row["id"], commands.set_participant_status, data)
        self.report.create("participants")

    async def targets(self, row: dict[str, Any]) -> None:
        fields = {
            **_pick(
                row, "lab", "benchmark", "model", "value", "dueOn", "duePrecision", "statedOn",
                "note",
            ),
            "source": self._source(row["sourceId"]),
        }  # fmt: skip
        data = validation.parse(inputs.TargetInput, fields)
        if not self.keep_ids and await target_exists(self.conn, data):
            name = f"{data.lab} {data.value} on {data.benchmark} by {data.due_on}"
            self.report.merge("targets", name, "it", "same target")
            return
        await self._create(row["id"], commands.state_target, data)
        self.report.create("targets")

    async def scores(self, row: dict[str, Any]) -> None:
        source = self._source(row["sourceId"])
        assert source is not None
        facts = {
            **_pick(
                row,
                "value",
                "qualifier",
                "uncertainty",
                "runConfiguration",
                "measuredOn",
                "provenance",
                "note",
            ),
            "source": source,
        }
        supersedes = None if row["supersedesId"] is None else self.score_ids[row["supersedesId"]]
        if not self.keep_ids:
            same = await imports.same_score(
                self.conn, model=row["model"], version=row["version"], benchmark=row["benchmark"],
                benchmark_version=row["benchmarkVersion"], value=row["value"],
                measured_on=dt.date.fromisoformat(row["measuredOn"]), provenance=row["provenance"],
                source_id=source["id"], supersedes_id=supersedes,
            )  # fmt: skip
            if same is not None:
                self.score_ids[row["id"]] = same
                self.merged_scores.add(row["id"])
                self.report.merged["scores"] += 1
                return
        if supersedes is not None:
            data: validation.Input = validation.parse(
                inputs.SupersedeScoreInput, {**facts, "score": supersedes}
            )
            created = await self._create(row["id"], commands.supersede_score, data)
        else:
            keys_ = _pick(row, "model", "version", "benchmark", "benchmarkVersion", "verification")
            data = validation.parse(inputs.ScoreInput, {**facts, **keys_})
            created = await self._create(row["id"], commands.record_score, data)
        self.score_ids[row["id"]] = int(created["id"])
        self.report.create("scores")

    async def verification(self, row: dict[str, Any]) -> None:
        """After every score exists (evidence may name a later one): verification as exported."""
        if row["id"] in self.merged_scores:
            return  # the registry's own verification stands, as every merged row's facts
        changed_on, evidence = row["verificationChangedOn"], row["evidenceScoreId"]
        if (
            changed_on is None
            and evidence is None
            and (row["supersedesId"] is None or row["verification"] == "UNVERIFIED")
        ):
            return  # recordScore wrote it already
        if changed_on is None:
            self.report.lines.append(
                f"not reproduced: score {row['id']} is {row['verification']} with no day it "
                "changed (written without setScoreVerification); imported as recorded"
            )
            return
        fields = {
            "score": self.score_ids[row["id"]],
            "verification": row["verification"],
            "changedOn": changed_on,
            "evidence": None if evidence is None else self.score_ids[evidence],
        }
        data = validation.parse(inputs.ScoreVerificationInput, fields)
        await commands.set_score_verification(self.conn, self.actor, data)

    # --- matching --------------------------------------------------------------------------

    async def _match(
        self,
        table: str,
        row: dict[str, Any],
        by_slug: Callable[[Conn, str], Awaitable[int | None]],
        candidates: Callable[[Conn, str, str], Awaitable[list[matching.ProbableDuplicate]]],
    ) -> str | None:
        """The slug of the recorded lab or model this row is, or None: a new one."""
        slug: str = row["slug"]
        if await by_slug(self.conn, slug) is not None:
            self.report.merge(table, slug, slug, "same slug")
            return slug
        for external in row["externalIds"]:
            owners = await imports.external_id_owner(self.conn, external["system"], external["key"])
            owner = owners[0] if table == "labs" else owners[1]
            if owner is not None:
                into = await self._slug(table, owner)
                self.report.merge(table, slug, into, f"{external['system']} {external['key']!r}")
                return into
        for found in await candidates(self.conn, slug, row["name"]):
            strong = found.code is WarningCode.KNOWN_EXTERNAL_ID or table == "models"
            if strong:
                into = await self._slug(table, found.row_id)
                self.report.merge(table, slug, into, f"{found.code}: {found.message}")
                return into
        return None

    async def _created_with_resemblances(
        self,
        table: str,
        row: dict[str, Any],
        created: asyncpg.Record,
        duplicates: Callable[[Conn, asyncpg.Record], Awaitable[list[matching.ProbableDuplicate]]],
    ) -> None:
        found = [] if self.keep_ids else await duplicates(self.conn, created)
        note = "".join(f"; {duplicate.code}: {duplicate.message}" for duplicate in found)
        self.report.create(table, row["slug"], note)

    async def _slug(self, table: str, row_id: int) -> str:
        lookup = imports.lab_slug if table == "labs" else imports.model_slug
        return await lookup(self.conn, row_id)

    async def _external_ids(self, row: dict[str, Any], subject: str, slug: str) -> None:
        for external in row["externalIds"]:
            if await imports.external_id_owner(self.conn, external["system"], external["key"]) != (
                None,
                None,
            ):
                continue  # recorded already (the match above may have found the row by it)
            data = validation.parse(
                inputs.ExternalIdInput,
                {
                    "system": external["system"],
                    "externalKey": external["key"],
                    "subject": {subject: slug},
                },
            )
            await commands.set_external_id(self.conn, self.actor, data)

    async def archive(self) -> None:
        """Last: nothing can be written under an archived lab or model."""
        for table, slug in self.archived:
            write = commands.archive_lab if table == "labs" else commands.archive_model
            await write(
                self.conn, self.actor, validation.parse(inputs.ArchiveInput, {"slug": slug})
            )

    async def write_all(self, files: dict[str, ExportFile]) -> None:
        """Every row of the files, references first; archiving last."""
        for table in TABLES:
            if table in files:
                await _each(files[table], getattr(self, table))
            if table == "benchmarks":
                ordered = sorted(self.benchmark_versions, key=lambda pair: _row_id(pair[1]["id"]))
                for benchmark, version in ordered:
                    await self.benchmark_version(benchmark, version)
        if "scores" in files:
            await _each(files["scores"], self.verification)
        await self.archive()

    async def end_feed_at(self, cursor: str) -> None:
        """Number this transaction's changes so that the last one is at the export's cursor."""
        target = _row_id(cursor)
        pending = await imports.pending_events(self.conn)
        first = target - pending + 1
        if pending and first > await feed.head(self.conn):
            await imports.place_next_position(self.conn, first)
            self.report.cursor = cursor
        else:
            self.report.lines.append(
                f"feed: the import wrote {pending} changes, which cannot end at the export's "
                f"cursor {cursor} (position {target}); follow this registry from its own export"
            )


def _by_table(paths: list[Path], tables: dict[str, list[Column]]) -> dict[str, ExportFile]:
    files: dict[str, ExportFile] = {}
    for path in paths:
        file = read_head(path, tables)
        if file.table in files:
            raise ImportFailed(
                f"{path}: a second export of {file.table} ({files[file.table].path})"
            )
        files[file.table] = file
    return files


async def _each(file: ExportFile, step: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    for number, row in _rows(file):
        try:
            await step(row)
        except (RegistryError, KeyError, TypeError, ValueError) as exc:
            raise ImportFailed(f"{file.path}:{number}: {exc}") from exc


async def load(conn: Conn, paths: list[Path], actor: str) -> Report:
    """Import the export files (NDJSON or CSV, any order, one per table) in one transaction."""
    tables = {table: (await columns(conn, table))[1] for table in TABLES}
    files = _by_table(paths, tables)
    cursors = {file.cursor for file in files.values()}
    async with conn.transaction():
        importer = Importer(conn, actor, keep_ids=await imports.is_empty(conn))
        # The derived events (crossings, leaderboard entries) of the whole import at its end,
        # not after each score: what changed between before and after its commit.
        async with derived.batched(conn, actor=actor):
            await importer.write_all(files)
        if importer.keep_ids and None in cursors:
            importer.report.lines.append(
                "feed: a CSV export names no cursor; follow this registry from its own export"
            )
        elif importer.keep_ids and len(cursors) == 1:
            cursor = cursors.pop()
            assert cursor is not None
            await importer.end_feed_at(cursor)
    return importer.report
