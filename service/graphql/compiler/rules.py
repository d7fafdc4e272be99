"""What each compiled field is, as SQL over a table alias `{t}`.

Rules map each object type's fields to SQL:
  Scalar   an expression over the row
  ToOne    a correlated subquery returning one object (NULL when absent)
  ToMany   a correlated list subquery (never NULL)
Every value, ordering and null matches what the resolvers in graphql/types/ return; a test runs a
corpus of documents through both paths and requires identical data. Orders and shared
expressions come from service/db (the loaders use the same ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import NamedTuple

from service import ids
from service.db import models, scores


def _global_id(type_name: str, column: str) -> str:
    return ids.sql(type_name, column)


class Reencode(IntEnum):
    """Whether an answer holding a value is re-encoded by orjson, as the resolvers' are."""

    NEVER = 0
    # A Float's text is orjson's own, except where orjson writes an exponent or PostgreSQL's
    # float8 text differs (below 1e-4, from 1e15, more digits than a float8 keeps): the rule
    # marks those values with MARK, and only an answer holding one is re-encoded.
    IF_MARKED = 1
    # jsonb's text is not compact (`{"a": 1}`).
    ALWAYS = 2


# A character no JSON text holds unescaped (to_json writes it as \u0001): found with one
# memchr-like scan of the answer, where a search for `e-` or `e+` (an exponent) stops at
# every `e` of its keys.
MARK = "\x01"


class Scalar(NamedTuple):
    sql: str
    reencode: Reencode = Reencode.NEVER
    # `sql` gives the value's JSON text itself, not a value for to_json to write.
    text: bool = False


class ToOne(NamedTuple):
    type_name: str
    source: str  # FROM ... WHERE ... selecting one row as {c}, correlated to {t}
    overrides: Mapping[str, str] = {}  # never mutated


class ToMany(NamedTuple):
    type_name: str
    source: str  # FROM ... WHERE ... rows as {c}, correlated to {t}
    order: str  # ORDER BY expression over {c}


Rule = Scalar | ToOne | ToMany


def _precise(on: str, precision: str) -> ToOne:
    return ToOne(
        "PreciseDate",
        f"(SELECT {{t}}.{on} AS date, {{t}}.{precision} AS precision) AS {{c}} "
        # Migration 0001's CHECKs make the date and its precision both null or neither.
        f"WHERE {{t}}.{on} IS NOT NULL",
    )


# strawberry's DateTime is Python's isoformat(): "2026-05-30T08:00:00.123456+00:00".
TIMESTAMP = (
    "to_json(CASE WHEN {column} IS NULL THEN NULL ELSE "
    "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN extract(microseconds FROM {column})::int % 1000000 = 0 THEN '' "
    "ELSE to_char({column} AT TIME ZONE 'UTC', '.US') END || '+00:00' END)"
)
_SUPERSEDED = scores.SUPERSEDED.format(score="{t}")


def _float(column: str) -> Scalar:
    """A Float from a numeric column, as the JSON text orjson writes for float(value) (the
    resolver path), written directly: a cast to json would parse each value again.

    An integral value below 1e15 is its integer's digits and `.0` (PostgreSQL's float8 text
    would be `40`). A value with a fraction, from 1e-4 to below 1e6 with at most 8 decimals,
    has at most 14 significant digits: the float8 nearest it prints as those digits (no other
    decimal that short maps to the same float8), so the numeric's own text without its
    trailing zeros is the answer, without a cast to float8 (which prints the numeric and
    parses it back) and the float8's shortest digits. Any other value (more digits, tiny,
    huge, NaN) goes through float8 as before; one that may take an exponent is marked (MARK)
    for the answer to be re-encoded.
    """
    as_float = f"{column}::float8"
    return Scalar(
        f"(CASE WHEN {column} = trunc({column}) AND abs({column}) < 1e15 "
        f"THEN trunc({column})::text || '.0' "
        f"WHEN abs({column}) < 1e6 AND abs({column}) >= 1e-4 AND scale({column}) <= 8 "
        f"THEN rtrim({column}::text, '0') "
        f"WHEN {as_float} = trunc({as_float}) AND abs({as_float}) < 1e15 "
        f"THEN trunc({as_float})::numeric::text || '.0' "
        f"ELSE E'\\x01' || to_json({as_float})::text END)",
        reencode=Reencode.IF_MARKED,
        text=True,
    )


RULES: dict[str, dict[str, Rule]] = {
    "Country": {
        "code": Scalar("{t}.code"),
        "name": Scalar("{t}.name"),
    },
    "PreciseDate": {
        "date": Scalar("{t}.date"),
        "precision": Scalar("{t}.precision"),
    },
    "Source": {
        "id": Scalar(_global_id("Source", "{t}.id")),
        "url": Scalar("{t}.url"),
        "title": Scalar("{t}.title"),
        "publisher": Scalar("{t}.publisher"),
        "publishedOn": Scalar("{t}.published_on"),
        "kind": Scalar("{t}.kind"),
    },
    "Lab": {
        "id": Scalar(_global_id("Lab", "{t}.id")),
        "slug": Scalar("{t}.slug"),
        "name": Scalar("{t}.name"),
        "foundedYear": Scalar("{t}.founded_year"),
        "headquarters": Scalar("{t}.headquarters"),
        "website": Scalar("{t}.website"),
        "description": Scalar("{t}.description"),
        "revision": Scalar("{t}.revision"),
        "archivedAt": Scalar(TIMESTAMP.format(column="{t}.archived_at")),
        "country": ToOne("Country", "country AS {c} WHERE {c}.code = {t}.country_code"),
        "models": ToMany(
            "Model",
            "model AS {c} WHERE {c}.lab_id = {t}.id AND {c}.archived_at IS NULL",
            models.MODEL_ORDER.format(t="{c}"),
        ),
    },
    "ModelFamily": {
        "id": Scalar(_global_id("ModelFamily", "{t}.id")),
        "slug": Scalar("{t}.slug"),
        "name": Scalar("{t}.name"),
        "description": Scalar("{t}.description"),
    },
    "Model": {
        "id": Scalar(_global_id("Model", "{t}.id")),
        "slug": Scalar("{t}.slug"),
        "name": Scalar("{t}.name"),
        "modality": Scalar("{t}.modality"),
        "openWeights": Scalar("{t}.open_weights"),
        "license": Scalar("{t}.license"),
        "trainingOrigin": Scalar("{t}.training_origin"),
        "description": Scalar("{t}.description"),
        "revision": Scalar("{t}.revision"),
        "archivedAt": Scalar(TIMESTAMP.format(column="{t}.archived_at")),
        "lab": ToOne("Lab", "lab AS {c} WHERE {c}.id = {t}.lab_id"),
        "family": ToOne("ModelFamily", "model_family AS {c} WHERE {c}.id = {t}.family_id"),
        "versions": ToMany(
            "Version",
            "model_version AS {c} WHERE {c}.model_id = {t}.id",
            models.VERSION_ORDER.format(t="{c}"),
        ),
    },
    "HardwareTarget": {
        "accelerator": Scalar("{t}.accelerator"),
        "acceleratorCount": Scalar("{t}.accelerator_count"),
        "memoryGb": _float("{t}.memory_gb"),
        "precision": Scalar("{t}.precision"),
        "note": Scalar("{t}.note"),
    },
    "Version": {
        "id": Scalar(_global_id("Version", "{t}.id")),
        "label": Scalar("{t}.label"),
        "stage": Scalar("{t}.stage"),
        "isPreview": Scalar("{t}.stage = 'PREVIEW'"),
        "announcedOn": Scalar("{t}.announced_on"),
        "released": _precise("released_on", "released_precision"),
        "planned": _precise("planned_on", "planned_precision"),
        "totalParameters": Scalar("{t}.total_parameters"),
        "activeParameters": Scalar("{t}.active_parameters"),
        "contextWindow": Scalar("{t}.context_window"),
        "revision": Scalar("{t}.revision"),
        "model": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.model_id"),
        "source": ToOne("Source", "source AS {c} WHERE {c}.id = {t}.source_id"),
        "promotedFrom": ToOne(
            "Version", "model_version AS {c} WHERE {c}.id = {t}.promoted_from_id"
        ),
        "hardwareTargets": ToMany(
            "HardwareTarget",
            "hardware_target AS {c} WHERE {c}.version_id = {t}.id",
            models.HARDWARE_ORDER.format(t="{c}"),
        ),
        "scores": ToMany(
            "Score",
            "score AS {c} WHERE {c}.version_id = {t}.id",
            scores.ORDER.format(t="{c}"),
        ),
    },
    "BenchmarkVersion": {
        "id": Scalar(_global_id("BenchmarkVersion", "{t}.id")),
        "label": Scalar("{t}.label"),
        "effectiveOn": Scalar("{t}.effective_on"),
        "benchmarkSlug": Scalar("(SELECT slug FROM benchmark WHERE id = {t}.benchmark_id)"),
        "benchmarkName": Scalar("(SELECT name FROM benchmark WHERE id = {t}.benchmark_id)"),
    },
    "Score": {
        "id": Scalar(_global_id("Score", "{t}.id")),
        "value": _float("{t}.value"),
        "qualifier": Scalar("{t}.qualifier"),
        "uncertainty": _float("{t}.uncertainty"),
        "runConfiguration": Scalar("{t}.run_configuration", reencode=Reencode.ALWAYS),
        "measuredOn": Scalar("{t}.measured_on"),
        "provenance": Scalar("{t}.provenance"),
        "verification": Scalar("{t}.verification"),
        "verificationChangedOn": Scalar("{t}.verification_changed_on"),
        "superseded": Scalar(_SUPERSEDED),
        "recordedAt": Scalar(TIMESTAMP.format(column="{t}.recorded_at")),
        "note": Scalar("{t}.note"),
        "source": ToOne("Source", "source AS {c} WHERE {c}.id = {t}.source_id"),
        "benchmarkVersion": ToOne(
            "BenchmarkVersion", "benchmark_version AS {c} WHERE {c}.id = {t}.benchmark_version_id"
        ),
        "version": ToOne("Version", "model_version AS {c} WHERE {c}.id = {t}.version_id"),
    },
    # A leaderboard row ({t} is one ranked row: score columns plus rank, model_id, lab_id).
    "LeaderboardEntry": {
        "rank": Scalar("{t}.rank"),
        # Eligible as of the date means not superseded as of it, and its verification is the
        # one recorded by the time the answer is for, as the resolver says.
        "score": ToOne(
            "Score",
            "(SELECT score.*, {t}.known_change FROM score WHERE score.id = {t}.id) AS {c}",
            {
                "superseded": "false",
                # No history: its status never changed, and its row says.
                "verification": "coalesce(({t}.known_change).verification, {t}.verification)",
                "verificationChangedOn": "CASE WHEN ({t}.known_change).id IS NULL "
                "THEN {t}.verification_changed_on ELSE ({t}.known_change).changed_on END",
            },
        ),
        "version": ToOne("Version", "model_version AS {c} WHERE {c}.id = {t}.version_id"),
        "model": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.model_id"),
        "lab": ToOne("Lab", "lab AS {c} WHERE {c}.id = {t}.lab_id"),
        "country": ToOne("Country", "country AS {c} WHERE {c}.code = {t}.country_code"),
    },
    "LineageLink": {
        "id": Scalar(_global_id("LineageLink", "{t}.id")),
        "relation": Scalar("{t}.relation"),
        "note": Scalar("{t}.note"),
        "parent": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.parent_model_id"),
        "child": ToOne("Model", "model AS {c} WHERE {c}.id = {t}.child_model_id"),
        "source": ToOne("Source", "source AS {c} WHERE {c}.id = {t}.source_id"),
    },
}
