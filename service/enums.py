"""The registry's closed vocabularies, shared by inputs, queries and the GraphQL schema.

Each mirrors a PostgreSQL enum type of the same values (migrations/versions/*_domain.py),
except ChangeKind, whose values are the operation names the audit log records.

A vocabulary is described here, once: its docstring and each member's description become the
GraphQL enum's (service.graphql.vocabularies), so both are written for a client's developer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Vocabulary(StrEnum):
    """A closed vocabulary whose members carry a description: `NAME = "value", "what it means"`.

    A member is still the plain string of its value (asyncpg, JSON and comparisons see
    "PREVIEW"), and `Vocabulary("PREVIEW")` looks it up as with any StrEnum.
    """

    _value_: str
    description: str

    def __new__(cls, value: str, description: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member


class VersionStage(Vocabulary):
    """Whether a version is a preview or a final release."""

    PREVIEW = (
        "PREVIEW",
        "An early, unfinished release; its scores stay with it when a final is promoted from it.",
    )
    FINAL = "FINAL", "A finished release (a promoted preview's final points back to it)."


class DatePrecision(Vocabulary):
    """How exact a date is. A coarser date is stored as the last day of its period: "end of
    June 2026" is 2026-06-30 with MONTH, "2026" is 2026-12-31 with YEAR."""

    DAY = "DAY", "The exact day."
    MONTH = "MONTH", "Only the month is known; the date is its last day."
    QUARTER = "QUARTER", "Only the quarter is known; the date is its last day (e.g. 2026-09-30)."
    HALF = "HALF", "Only the half year is known; the date is June 30 or December 31."
    YEAR = "YEAR", "Only the year is known; the date is December 31."


class TrainingOrigin(Vocabulary):
    """Whether a model's weights were trained anew or reuse another model's."""

    FROM_SCRATCH = "FROM_SCRATCH", "Trained from randomly initialised weights."
    DERIVED = (
        "DERIVED",
        "Built from another model's weights (fine-tuned, up-scaled, distilled, merged ...); "
        "its lineage links say from which.",
    )


class Modality(Vocabulary):
    """What a model takes in and produces, by its main use."""

    TEXT = "TEXT", "Text in, text out."
    MULTIMODAL = "MULTIMODAL", "Several input or output kinds (text, images, audio ...)."
    VISION_LANGUAGE = "VISION_LANGUAGE", "Images and text in, text out."
    CODE = "CODE", "Built for source code."
    IMAGE = "IMAGE", "Generates images."
    AUDIO = "AUDIO", "Speech or audio in or out."
    VIDEO = "VIDEO", "Generates or understands video."


class NumericPrecision(Vocabulary):
    """The number format weights are held in, which sets their memory: bytes per parameter
    are 4 (FP32), 2 (BF16, FP16), 1 (FP8, INT8) and 0.5 (INT4)."""

    FP32 = "FP32", "32-bit floating point: 4 bytes a parameter."
    BF16 = "BF16", "Brain floating point (bfloat16): 2 bytes a parameter."
    FP16 = "FP16", "16-bit floating point: 2 bytes a parameter."
    FP8 = "FP8", "8-bit floating point: 1 byte a parameter."
    INT8 = "INT8", "8-bit integers (quantised): 1 byte a parameter."
    INT4 = "INT4", "4-bit integers (quantised): half a byte a parameter."


class ScoreQualifier(Vocabulary):
    """How a score's value is meant: exactly, as a bound, or roughly."""

    EXACT = "EXACT", "The value itself (plus or minus its uncertainty, when one is given)."
    AT_LEAST = "AT_LEAST", "The value or more ('40+'); ranks at the value."
    AT_MOST = "AT_MOST", "The value or less."
    APPROXIMATE = (
        "APPROXIMATE",
        ("About the value ('~40'), plus or minus its uncertainty when one is given."),
    )


class Provenance(Vocabulary):
    """Who measured a score, relative to the lab that built the model."""

    LAB_CLAIM = "LAB_CLAIM", "Reported by the lab itself: a claim, until evidence confirms it."
    INDEPENDENT = (
        "INDEPENDENT",
        ("Measured by an evaluator independent of the lab (such as the benchmark's publisher)."),
    )
    THIRD_PARTY = (
        "THIRD_PARTY",
        "Reported by someone other than the lab or an independent evaluator (a partner, "
        "a researcher); counted with INDEPENDENT where only non-claims count.",
    )


class Verification(Vocabulary):
    """Where a score stands after review. Rankings count every score but a retracted one
    unless a `verification` argument narrows them."""

    UNVERIFIED = "UNVERIFIED", "Not reviewed yet (the state of every new score)."
    VERIFIED = "VERIFIED", "Confirmed by evidence (often an independent measurement)."
    DISPUTED = "DISPUTED", "Contradicted by evidence, but not withdrawn."
    RETRACTED = (
        "RETRACTED",
        ("Withdrawn: kept in the history, counted nowhere from the day it was retracted."),
    )


class LineageRelation(Vocabulary):
    """How a child model relates to its parent. Every relation but SUCCESSOR reuses the
    parent's weights."""

    SUCCESSOR = (
        "SUCCESSOR",
        ("The next model of the product line, trained anew: no weights inherited."),
    )
    FINE_TUNE = "FINE_TUNE", "The parent's weights, further trained on task or chat data."
    CONTINUED_PRETRAINING = (
        "CONTINUED_PRETRAINING",
        ("The parent's weights, further pre-trained on more general data."),
    )
    DEPTH_UP_SCALED = (
        "DEPTH_UP_SCALED",
        ("The parent's layers duplicated into a deeper model (as SOLAR 10.7B from Mistral 7B)."),
    )
    DISTILLED = "DISTILLED", "Trained to imitate the parent's outputs."
    MERGED = "MERGED", "The weights of several parents combined."
    QUANTIZED = "QUANTIZED", "The parent's weights in a lower numeric precision."


class ParticipantStatus(Vocabulary):
    """Where a lab stands in a programme on a date."""

    SELECTED = "SELECTED", "Chosen to take part."
    ELIMINATED = "ELIMINATED", "Dropped from the programme."
    ACTIVE = "ACTIVE", "Still taking part after a round of eliminations."


class SourceKind(Vocabulary):
    """What sort of document a source is."""

    ANNOUNCEMENT = "ANNOUNCEMENT", "A lab's own announcement: a blog post, a press release, a post."
    NEWS = "NEWS", "A news report."
    LEADERBOARD = "LEADERBOARD", "A benchmark's published results table."
    PAPER = "PAPER", "A research paper or technical report."
    MODEL_CARD = "MODEL_CARD", "A model card (on Hugging Face or the lab's site)."


class ExternalSystem(Vocabulary):
    """Another registry that names labs and models its own way."""

    HUGGING_FACE = (
        "HUGGING_FACE",
        ("Hugging Face: a repo ('upstage/SOLAR-10.7B-v1.0') or an organisation ('upstage')."),
    )
    OPENROUTER = "OPENROUTER", "OpenRouter: a model slug ('anthropic/claude-opus-4.8')."
    ARTIFICIAL_ANALYSIS = "ARTIFICIAL_ANALYSIS", "Artificial Analysis: its model or lab id."
    LMARENA = "LMARENA", "LMArena: its leaderboard key."
    EPOCH_AI = "EPOCH_AI", "Epoch AI: the name in its models database."


class Role(Vocabulary):
    """What a token may do; each role may do what the ones before it may."""

    READER = "READER", "Read (needed only when the registry requires a token to read)."
    EDITOR = "EDITOR", "Read and write data."
    ADMIN = "ADMIN", "Everything, including what only an administrator may read."


class FitBasis(Vocabulary):
    """Where a memory fit comes from."""

    STATED = "STATED", "A hardware target the lab stated, at that precision or any."
    DERIVED = (
        "DERIVED",
        "Computed from the parameter count: weights only (parameters x bytes per parameter), "
        "without KV cache or activations, so a lower bound of what serving needs.",
    )


class TargetStatus(Vocabulary):
    """How a lab's target stands on a date, derived from the scores counted then."""

    MET = "MET", "A counted score reached the value on or before the due date."
    MISSED = "MISSED", "The due date has passed and no counted score reached the value by then."
    OPEN = "OPEN", "Not met yet, and the due date has not passed."


class LineageDirection(Vocabulary):
    """Which way to walk the lineage graph from a model."""

    ANCESTORS = "ANCESTORS", "Towards parents: what the model came from."
    DESCENDANTS = "DESCENDANTS", "Towards children: what came from the model."
    BOTH = "BOTH", "Both ways."


class CrossingGroup(Vocabulary):
    """What threshold crossings are counted for."""

    COUNTRY = "COUNTRY", "Each country, by its labs' models (labs of unknown country left out)."
    LAB = "LAB", "Each lab, by its models."


class OrderDirection(Vocabulary):
    """Which way a list is sorted."""

    ASC = "ASC", "Smallest, earliest or A first."
    DESC = "DESC", "Largest, latest or Z first."


class WarningCode(Vocabulary):
    """Why a write was let through with a warning."""

    SIMILAR_NAME = "SIMILAR_NAME", "The name or slug resembles a recorded row's: a duplicate?"
    KNOWN_EXTERNAL_ID = (
        "KNOWN_EXTERNAL_ID",
        ("The slug or name is another registry's key for a recorded row: a duplicate?"),
    )


class ClaimStatus(Vocabulary):
    """What independent evidence says of a lab's claim. Each value stands for an interval
    (AT_LEAST 40 is 40 and up; EXACT and APPROXIMATE are the value plus or minus its
    uncertainty)."""

    CONFIRMED = "CONFIRMED", "The evidence lies within the claim."
    REFUTED = "REFUTED", "The evidence lies outside the claim."
    PENDING = "PENDING", "No independent evidence yet, or evidence that can tell neither."


# A write's kind is its command's operation name (the audit row's `operation`, written by
# service.commands), so this enum is the one place that names them; the last two are events
# the registry derives from a score write.
class ChangeKind(Vocabulary):
    """What a change in the feed did: one kind per mutation, and two events derived from
    score writes."""

    SOURCE_ADDED = "addSource", "A source was recorded (on its own, or cited by its details)."
    LAB_CREATED = "createLab", "A lab was created."
    LAB_UPDATED = "updateLab", "A lab's fields changed."
    LAB_ARCHIVED = "archiveLab", "A lab was archived."
    LAB_RESTORED = "restoreLab", "An archived lab was restored."
    MODEL_FAMILY_CREATED = "createModelFamily", "A model family was created."
    MODEL_CREATED = "createModel", "A model was created."
    MODEL_UPDATED = "updateModel", "A model's fields changed."
    MODEL_ARCHIVED = "archiveModel", "A model was archived."
    MODEL_RESTORED = "restoreModel", "An archived model was restored."
    VERSION_CREATED = "createVersion", "A version was created."
    VERSION_UPDATED = "updateVersion", "A version's fields changed."
    VERSION_PROMOTED = "promoteVersion", "A preview was promoted: its final was created."
    HARDWARE_TARGETS_SET = "setHardwareTargets", "A version's hardware targets were replaced."
    BENCHMARK_CREATED = "createBenchmark", "A benchmark was created."
    BENCHMARK_VERSION_CREATED = "createBenchmarkVersion", "A benchmark version was created."
    SCORE_RECORDED = "recordScore", "A score was recorded."
    SCORE_SUPERSEDED = "supersedeScore", "A correction superseded a score."
    SCORE_VERIFIED = (
        "setScoreVerification",
        ("A score's verification changed (verified, disputed or retracted)."),
    )
    LINK_ADDED = "linkModels", "A lineage link was added."
    LINK_REMOVED = "unlinkModels", "A lineage link was removed."
    PROGRAM_CREATED = "createProgram", "A programme was created."
    PARTICIPANT_STATUS_SET = "setParticipantStatus", "A lab's status in a programme changed."
    TARGET_STATED = "stateTarget", "A lab's target was recorded."
    EXTERNAL_ID_SET = "setExternalId", "An external id was attached to a lab or model."
    THRESHOLD_CROSSED = (
        "thresholdCrossed",
        "Derived: a score write took a country or lab past a multiple of 10 on an index "
        "for the first time.",
    )
    LEADERBOARD_ENTERED = (
        "leaderboardEntered",
        ("Derived: a score write brought a model into a leaderboard's top 10."),
    )

    @classmethod
    def of(cls, operation: str, entity_type: str) -> ChangeKind:
        """The kind of an audit row. A write citing a source by its details records the new
        source under the write's own operation: in the feed, that row is a source added."""
        if entity_type == "Source":
            return cls.SOURCE_ADDED
        return cls(operation)


# The values are those of ChangeKind: a release event is a change of one of these kinds.
class ReleaseKind(Vocabulary):
    """What happened to a release: a version announced (created), promoted from preview to
    final, or updated (its dates, counts or stage moving on)."""

    VERSION_CREATED = ChangeKind.VERSION_CREATED.value, "A version was announced (created)."
    VERSION_PROMOTED = (
        ChangeKind.VERSION_PROMOTED.value,
        "A preview was promoted: its final was created.",
    )
    VERSION_UPDATED = ChangeKind.VERSION_UPDATED.value, "A version's fields changed."
