"""Load the demo data (service/demo_data.toml) through the same commands as the mutations.

Seeding is idempotent: every entry is looked up by its natural key first and written only
when missing, so a second run changes nothing and an interrupted run completes on the next.

Each source in the file has a `key` the file's other entries cite it by; the loader puts the
source's details in place of the key, as a client citing a new source would, and the
commands find the recorded source again by those details.
"""

from __future__ import annotations

import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from service import commands, inputs, validation
from service.db import Conn, external_ids, keys, lineage, programs, scores, sources, targets

DEMO_DATA = Path(__file__).with_name("demo_data.toml")
ACTOR = "demo-seed"

Exists = Callable[[Conn, Any], Awaitable[bool]]
Write = Callable[[Conn, str, Any], Awaitable[asyncpg.Record]]


@dataclass(frozen=True)
class Section:
    name: str
    input: type[validation.Input]
    exists: Exists
    write: Write


async def _source_exists(conn: Conn, data: inputs.SourceInput) -> bool:
    return await _source_id(conn, data) is not None


async def _source_id(conn: Conn, data: inputs.SourceInput) -> int | None:
    found = await sources.with_identity(conn, **data.model_dump())
    return None if found is None else int(found["id"])


async def _lab_exists(conn: Conn, data: inputs.LabInput) -> bool:
    return await keys.lab_id(conn, data.slug) is not None


async def _family_exists(conn: Conn, data: inputs.ModelFamilyInput) -> bool:
    return await keys.family_id(conn, data.slug) is not None


async def _model_exists(conn: Conn, data: inputs.ModelInput) -> bool:
    return await keys.model_id(conn, data.slug) is not None


async def _version_exists(conn: Conn, data: inputs.VersionInput) -> bool:
    model_id = await keys.model_id(conn, data.model)
    return model_id is not None and await keys.version_id(conn, model_id, data.label) is not None


async def _benchmark_exists(conn: Conn, data: inputs.BenchmarkInput) -> bool:
    return await keys.benchmark_id(conn, data.slug) is not None


async def _benchmark_version_exists(conn: Conn, data: inputs.BenchmarkVersionInput) -> bool:
    benchmark_id = await keys.benchmark_id(conn, data.benchmark)
    return (
        benchmark_id is not None
        and await keys.benchmark_version_id(conn, benchmark_id, data.label) is not None
    )


async def _score_exists(conn: Conn, data: inputs.ScoreInput) -> bool:
    model_id = await keys.model_id(conn, data.model)
    version_id = model_id and await keys.version_id(conn, model_id, data.version)
    benchmark_id = await keys.benchmark_id(conn, data.benchmark)
    benchmark_version_id = benchmark_id and await keys.benchmark_version_in_effect(
        conn, benchmark_id, data.measured_on
    )
    # The file cites every source by its details (see load_file).
    assert data.source.new is not None
    source_id = await _source_id(conn, data.source.new)
    if not (version_id and benchmark_version_id and source_id):
        return False
    found = await scores.find_same(
        conn,
        version_id=version_id,
        benchmark_version_id=benchmark_version_id,
        measured_on=data.measured_on,
        provenance=data.provenance,
        source_id=source_id,
    )
    return found is not None


async def _link_exists(conn: Conn, data: inputs.LineageLinkInput) -> bool:
    parent_id = await keys.model_id(conn, data.parent)
    child_id = await keys.model_id(conn, data.child)
    if parent_id is None or child_id is None:
        return False
    return await lineage.find(conn, parent_id, child_id, data.relation) is not None


async def _program_exists(conn: Conn, data: inputs.ProgramInput) -> bool:
    return await keys.program_id(conn, data.slug) is not None


async def status_exists(conn: Conn, data: inputs.ParticipantStatusInput) -> bool:
    program_id = await keys.program_id(conn, data.program)
    lab_id = await keys.lab_id(conn, data.lab)
    participant_id = program_id and lab_id and await keys.participant_id(conn, program_id, lab_id)
    if not participant_id:
        return False
    return await programs.find_status(conn, participant_id, data.effective_on) is not None


async def target_exists(conn: Conn, data: inputs.TargetInput) -> bool:
    lab_id = await keys.lab_id(conn, data.lab)
    benchmark_id = await keys.benchmark_id(conn, data.benchmark)
    if lab_id is None or benchmark_id is None:
        return False
    return await targets.find(conn, lab_id, benchmark_id, data.value, data.due_on) is not None


async def _external_id_exists(conn: Conn, data: inputs.ExternalIdInput) -> bool:
    return await external_ids.find(conn, data.system, data.external_key) is not None


# In dependency order: a section only refers to rows of the sections above it.
SECTIONS = (
    Section("sources", inputs.SourceInput, _source_exists, commands.add_source),
    Section("labs", inputs.LabInput, _lab_exists, commands.create_lab),
    Section("families", inputs.ModelFamilyInput, _family_exists, commands.create_model_family),
    Section("models", inputs.ModelInput, _model_exists, commands.create_model),
    Section("versions", inputs.VersionInput, _version_exists, commands.create_version),
    Section("benchmarks", inputs.BenchmarkInput, _benchmark_exists, commands.create_benchmark),
    Section(
        "benchmark_versions",
        inputs.BenchmarkVersionInput,
        _benchmark_version_exists,
        commands.create_benchmark_version,
    ),
    Section("scores", inputs.ScoreInput, _score_exists, commands.record_score),
    Section("lineage", inputs.LineageLinkInput, _link_exists, commands.link_models),
    Section("programs", inputs.ProgramInput, _program_exists, commands.create_program),
    Section(
        "participant_statuses",
        inputs.ParticipantStatusInput,
        status_exists,
        commands.set_participant_status,
    ),
    Section("targets", inputs.TargetInput, target_exists, commands.state_target),
    Section("external_ids", inputs.ExternalIdInput, _external_id_exists, commands.set_external_id),
)


def load_file(path: Path = DEMO_DATA) -> dict[str, list[validation.Input]]:
    """Parse and validate the whole file before anything is written."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(raw) - {section.name for section in SECTIONS}
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}")
    keyed: dict[str, dict[str, Any]] = {}
    for entry in raw.get("sources", []):
        if not isinstance(entry.get("key"), str):
            raise ValueError(f"{path}: every source needs a key the other entries cite it by")
        keyed[entry.pop("key")] = entry
    for name, entries in raw.items():
        if name != "sources":
            raw[name] = [_cited(entry, keyed, path) for entry in entries]
    return {
        section.name: [
            validation.parse(section.input, entry) for entry in raw.get(section.name, [])
        ]
        for section in SECTIONS
    }


def _cited(value: Any, keyed: dict[str, dict[str, Any]], path: Path) -> Any:
    """The entry with each `source = "key"` replaced by that source's details."""
    if isinstance(value, list):
        return [_cited(item, keyed, path) for item in value]
    if not isinstance(value, dict):
        return value
    entry = {name: _cited(item, keyed, path) for name, item in value.items()}
    key = entry.get("source")
    if isinstance(key, str):
        if key not in keyed:
            raise ValueError(f"{path}: no source with key {key!r}")
        entry["source"] = {"new": dict(keyed[key])}
    return entry


async def seed(conn: Conn, path: Path = DEMO_DATA) -> int:
    """Write every missing entry of the data file in one transaction; return how many."""
    data = load_file(path)
    written = 0
    async with conn.transaction():
        for section in SECTIONS:
            for entry in data[section.name]:
                if not await section.exists(conn, entry):
                    await section.write(conn, ACTOR, entry)
                    written += 1
    return written
