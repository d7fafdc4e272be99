"""The write side of the registry: one function per command, one transaction per call.

One module per aggregate; `transaction` holds what they share.

Each command takes a validated input (service.inputs), resolves the human keys it names,
writes through the SQL layer and records exactly one audit event in the same transaction.
The admin mutations and the demo-data loader both call these, so every rule applies to both.

`actor` is who writes: a token's name for the mutations, "demo-seed" for the demo data. The
audit row holds the entity's state before and after the write (None when it did not exist or
no longer does), so it serves as the audit log and as the change event at once.

Updates lock the row, check the revision the client read, and write guarded by it
(`WHERE id = $1 AND revision = $2`): a stale revision is a CONFLICT and writes nothing.
"""

from __future__ import annotations

from service.commands.benchmarks import create_benchmark, create_benchmark_version
from service.commands.external_ids import set_external_id
from service.commands.labs import archive_lab, create_lab, restore_lab, update_lab
from service.commands.lineage import link_models, unlink_models
from service.commands.models import (
    archive_model,
    create_model,
    create_model_family,
    restore_model,
    update_model,
)
from service.commands.programs import create_program, set_participant_status
from service.commands.scores import record_score, set_score_verification, supersede_score
from service.commands.sources import add_source
from service.commands.targets import state_target
from service.commands.versions import (
    create_version,
    promote_version,
    set_hardware_targets,
    update_version,
)

__all__ = [
    "add_source",
    "archive_lab",
    "archive_model",
    "create_benchmark",
    "create_benchmark_version",
    "create_lab",
    "create_model",
    "create_model_family",
    "create_program",
    "create_version",
    "link_models",
    "promote_version",
    "record_score",
    "restore_lab",
    "restore_model",
    "set_external_id",
    "set_hardware_targets",
    "set_participant_status",
    "set_score_verification",
    "state_target",
    "supersede_score",
    "unlink_models",
    "update_lab",
    "update_model",
    "update_version",
]
