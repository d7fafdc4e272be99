"""Commands on versions: create, promote, update, and their hardware targets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from pydantic.alias_generators import to_camel

from service.commands.transaction import (
    Citing,
    Written,
    audited,
    check_revision,
    created,
    live_model,
    locked,
    merged,
    updated,
)
from service.db import Conn, models
from service.db.constraints import translated
from service.errors import AlreadyExists, NotFound, ValidationFailed
from service.inputs import (
    HardwareTargetInput,
    HardwareTargetsInput,
    PromoteVersionInput,
    VersionInput,
    VersionPatch,
    version_rules,
)
from service.validation import FieldError


async def create_version(conn: Conn, actor: str, data: VersionInput) -> asyncpg.Record:
    async def insert() -> asyncpg.Record:
        cite = Citing(conn, actor, "createVersion")
        return await _insert_version(conn, cite, data, preview_field="promotedFrom")

    return await created(conn, actor, "createVersion", "Version", insert)


async def promote_version(conn: Conn, actor: str, data: PromoteVersionInput) -> asyncpg.Record:
    """A new FINAL version pointing back to its PREVIEW; the preview and its scores stay."""

    async def insert() -> asyncpg.Record:
        cite = Citing(conn, actor, "promoteVersion")
        return await _insert_version(conn, cite, data.as_version(), preview_field="preview")

    return await created(conn, actor, "promoteVersion", "Version", insert)


async def _insert_version(
    conn: Conn, cite: Citing, data: VersionInput, *, preview_field: str
) -> asyncpg.Record:
    model_id = await live_model(conn, data.model, "model")
    promoted_from_id = None
    if data.promoted_from is not None:
        promoted_from_id = await _preview_id(conn, model_id, data.promoted_from, preview_field)
    source_id = await cite.optional(data.source, "source")
    fields = data.model_dump(exclude={"model", "promoted_from", "source", "hardware_targets"})
    with translated("label"):
        row = await models.insert_version(
            conn,
            model_id=model_id,
            promoted_from_id=promoted_from_id,
            source_id=source_id,
            **fields,
        )
    await _insert_hardware(conn, cite, row["id"], data.hardware_targets, "hardwareTargets")
    return row


async def _insert_hardware(
    conn: Conn, cite: Citing, version_id: int, targets: list[HardwareTargetInput], field: str
) -> list[asyncpg.Record]:
    rows = []
    for index, target in enumerate(targets):
        target_field = f"{field}.{index}"
        target_source = await cite.optional(target.source, f"{target_field}.source")
        with translated(target_field):
            rows.append(
                await models.insert_hardware(
                    conn,
                    version_id=version_id,
                    source_id=target_source,
                    **target.model_dump(exclude={"source"}),
                )
            )
    return rows


async def _preview_id(conn: Conn, model_id: int, label: str, field: str) -> int:
    preview = await models.lock_preview(conn, model_id, label)
    if preview is None:
        raise NotFound(field, "no version with this label")
    if preview["stage"] != "PREVIEW":
        raise ValidationFailed(field, "only a PREVIEW version can be promoted")
    if preview["promoted"]:
        raise AlreadyExists(field, "this preview has already been promoted")
    return int(preview["id"])


_VERSION_COLUMNS = (
    "label",
    "announced_on",
    "released_on",
    "released_precision",
    "planned_on",
    "planned_precision",
    "total_parameters",
    "active_parameters",
    "context_window",
    "source_id",
)


def _rules(values: Mapping[str, Any]) -> None:
    try:
        version_rules(values)
    except FieldError as exc:
        raise ValidationFailed(to_camel(exc.field), str(exc)) from exc


async def update_version(conn: Conn, actor: str, data: VersionPatch) -> asyncpg.Record:
    async def write() -> Written:
        model_id = await live_model(conn, data.model, "model")
        before = await locked(models.lock_version(conn, model_id, data.label), "label", "version")
        check_revision(before, data.expected_revision)
        changes = data.changes()
        if "new_label" in changes:
            changes["label"] = changes.pop("new_label")
        if "source" in changes:
            # The validated reference, not its dumped dict.
            changes.pop("source")
            cite = Citing(conn, actor, "updateVersion")
            changes["source_id"] = await cite.optional(data.source, "source")
        fields = merged(before, _VERSION_COLUMNS, changes)
        # The patch alone may be consistent and still break a rule with what it keeps.
        _rules(fields)
        with translated("newLabel"):
            after = await models.update_version(
                conn, before["id"], data.expected_revision, **fields
            )
        return updated(before, after)

    return await audited(conn, actor, "updateVersion", "Version", write)


async def set_hardware_targets(
    conn: Conn, actor: str, data: HardwareTargetsInput
) -> asyncpg.Record:
    """Replace a version's hardware targets; the version's revision moves with them."""

    async def write() -> Written:
        model_id = await live_model(conn, data.model, "model")
        before = await locked(
            models.lock_version(conn, model_id, data.version), "version", "version"
        )
        check_revision(before, data.expected_revision)
        removed = await models.delete_hardware(conn, before["id"])
        cite = Citing(conn, actor, "setHardwareTargets")
        added = await _insert_hardware(conn, cite, before["id"], data.targets, "targets")
        written = updated(before, await models.bump_version(conn, before["id"], before["revision"]))
        assert written.before is not None and written.after is not None
        written.before["hardware_targets"] = [dict(row) for row in removed]
        written.after["hardware_targets"] = [dict(row) for row in added]
        return written

    return await audited(conn, actor, "setHardwareTargets", "Version", write)
