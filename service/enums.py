"""The registry's closed vocabularies, shared by inputs, queries and the GraphQL schema.

Each mirrors a PostgreSQL enum type of the same values (migrations/versions/*_domain.py),
except ChangeKind, whose values are the operation names the audit log records.
"""

from __future__ import annotations

from enum import StrEnum


class VersionStage(StrEnum):
    PREVIEW = "PREVIEW"
    FINAL = "FINAL"


class DatePrecision(StrEnum):
    DAY = "DAY"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    HALF = "HALF"
    YEAR = "YEAR"


class TrainingOrigin(StrEnum):
    FROM_SCRATCH = "FROM_SCRATCH"
    DERIVED = "DERIVED"


class Modality(StrEnum):
    TEXT = "TEXT"
    MULTIMODAL = "MULTIMODAL"
    VISION_LANGUAGE = "VISION_LANGUAGE"
    CODE = "CODE"
    IMAGE = "IMAGE"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"


class NumericPrecision(StrEnum):
    FP32 = "FP32"
    BF16 = "BF16"
    FP16 = "FP16"
    FP8 = "FP8"
    INT8 = "INT8"
    INT4 = "INT4"


class ScoreQualifier(StrEnum):
    EXACT = "EXACT"
    AT_LEAST = "AT_LEAST"
    AT_MOST = "AT_MOST"
    APPROXIMATE = "APPROXIMATE"


class Provenance(StrEnum):
    LAB_CLAIM = "LAB_CLAIM"
    INDEPENDENT = "INDEPENDENT"
    THIRD_PARTY = "THIRD_PARTY"


class Verification(StrEnum):
    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"
    DISPUTED = "DISPUTED"
    RETRACTED = "RETRACTED"


class LineageRelation(StrEnum):
    SUCCESSOR = "SUCCESSOR"
    FINE_TUNE = "FINE_TUNE"
    CONTINUED_PRETRAINING = "CONTINUED_PRETRAINING"
    DEPTH_UP_SCALED = "DEPTH_UP_SCALED"
    DISTILLED = "DISTILLED"
    MERGED = "MERGED"
    QUANTIZED = "QUANTIZED"


class ParticipantStatus(StrEnum):
    SELECTED = "SELECTED"
    ELIMINATED = "ELIMINATED"
    ACTIVE = "ACTIVE"


class SourceKind(StrEnum):
    ANNOUNCEMENT = "ANNOUNCEMENT"
    NEWS = "NEWS"
    LEADERBOARD = "LEADERBOARD"
    PAPER = "PAPER"
    MODEL_CARD = "MODEL_CARD"


class ExternalSystem(StrEnum):
    HUGGING_FACE = "HUGGING_FACE"
    OPENROUTER = "OPENROUTER"
    ARTIFICIAL_ANALYSIS = "ARTIFICIAL_ANALYSIS"
    LMARENA = "LMARENA"
    EPOCH_AI = "EPOCH_AI"


class Role(StrEnum):
    READER = "READER"
    EDITOR = "EDITOR"
    ADMIN = "ADMIN"


class FitBasis(StrEnum):
    STATED = "STATED"
    DERIVED = "DERIVED"


class TargetStatus(StrEnum):
    MET = "MET"
    MISSED = "MISSED"
    OPEN = "OPEN"


class LineageDirection(StrEnum):
    ANCESTORS = "ANCESTORS"
    DESCENDANTS = "DESCENDANTS"
    BOTH = "BOTH"


class CrossingGroup(StrEnum):
    COUNTRY = "COUNTRY"
    LAB = "LAB"


class OrderDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class WarningCode(StrEnum):
    SIMILAR_NAME = "SIMILAR_NAME"
    KNOWN_EXTERNAL_ID = "KNOWN_EXTERNAL_ID"


class ClaimStatus(StrEnum):
    CONFIRMED = "CONFIRMED"
    REFUTED = "REFUTED"
    PENDING = "PENDING"


class ChangeKind(StrEnum):
    """What a change in the feed did. A write's kind is its command's operation name (the
    audit row's `operation`, written by service.commands), so this enum is the one place
    that names them; the last two are events the registry derives from a score write."""

    SOURCE_ADDED = "addSource"
    LAB_CREATED = "createLab"
    LAB_UPDATED = "updateLab"
    LAB_ARCHIVED = "archiveLab"
    LAB_RESTORED = "restoreLab"
    MODEL_FAMILY_CREATED = "createModelFamily"
    MODEL_CREATED = "createModel"
    MODEL_UPDATED = "updateModel"
    MODEL_ARCHIVED = "archiveModel"
    MODEL_RESTORED = "restoreModel"
    VERSION_CREATED = "createVersion"
    VERSION_UPDATED = "updateVersion"
    VERSION_PROMOTED = "promoteVersion"
    HARDWARE_TARGETS_SET = "setHardwareTargets"
    BENCHMARK_CREATED = "createBenchmark"
    BENCHMARK_VERSION_CREATED = "createBenchmarkVersion"
    SCORE_RECORDED = "recordScore"
    SCORE_SUPERSEDED = "supersedeScore"
    SCORE_VERIFIED = "setScoreVerification"
    LINK_ADDED = "linkModels"
    LINK_REMOVED = "unlinkModels"
    PROGRAM_CREATED = "createProgram"
    PARTICIPANT_STATUS_SET = "setParticipantStatus"
    TARGET_STATED = "stateTarget"
    EXTERNAL_ID_SET = "setExternalId"
    THRESHOLD_CROSSED = "thresholdCrossed"
    LEADERBOARD_ENTERED = "leaderboardEntered"

    @classmethod
    def of(cls, operation: str, entity_type: str) -> ChangeKind:
        """The kind of an audit row. A write citing a source by its details records the new
        source under the write's own operation: in the feed, that row is a source added."""
        if entity_type == "Source":
            return cls.SOURCE_ADDED
        return cls(operation)
