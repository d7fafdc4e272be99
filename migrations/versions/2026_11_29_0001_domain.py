"""The whole domain: countries to scores, lineage, programmes, targets, audit and tokens.

Revision ID: 0001_domain
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import pycountry
import sqlalchemy as sa
from alembic import op

revision = "0001_domain"
down_revision = None
branch_labels = None
depends_on = None

ENUMS = {
    "version_stage": ("PREVIEW", "FINAL"),
    "date_precision": ("DAY", "MONTH", "QUARTER", "HALF", "YEAR"),
    "training_origin": ("FROM_SCRATCH", "DERIVED"),
    "modality": ("TEXT", "MULTIMODAL", "VISION_LANGUAGE", "CODE", "IMAGE", "AUDIO", "VIDEO"),
    "numeric_precision": ("FP32", "BF16", "FP16", "FP8", "INT8", "INT4"),
    "score_qualifier": ("EXACT", "AT_LEAST", "AT_MOST", "APPROXIMATE"),
    "score_provenance": ("LAB_CLAIM", "INDEPENDENT", "THIRD_PARTY"),
    "score_verification": ("UNVERIFIED", "VERIFIED", "DISPUTED", "RETRACTED"),
    "lineage_relation": (
        "SUCCESSOR",
        "FINE_TUNE",
        "CONTINUED_PRETRAINING",
        "DEPTH_UP_SCALED",
        "DISTILLED",
        "MERGED",
        "QUANTIZED",
    ),
    "participant_status": ("SELECTED", "ELIMINATED", "ACTIVE"),
    "source_kind": ("ANNOUNCEMENT", "NEWS", "LEADERBOARD", "PAPER", "MODEL_CARD"),
    "external_system": (
        "HUGGING_FACE",
        "OPENROUTER",
        "ARTIFICIAL_ANALYSIS",
        "LMARENA",
        "EPOCH_AI",
    ),
    "token_role": ("READER", "EDITOR", "ADMIN"),
}

# A date with a precision coarser than DAY holds the last day of its period: "end of June 2026"
# is 2026-06-30 with MONTH, "2024" is 2024-12-31 with YEAR, so "on or before" tests stay safe.

# Slugs are the human keys of the API: lower-case words joined by single hyphens or dots.
SLUG_CHECK = r"~ '^[a-z0-9]+([.-][a-z0-9]+)*$'"

TABLES = f"""
CREATE TABLE country (
    code        char(2) PRIMARY KEY CHECK (code ~ '^[A-Z]{{2}}$'),
    alpha3      char(3) NOT NULL UNIQUE,
    name        text NOT NULL
);

CREATE TABLE source (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url          text NOT NULL UNIQUE CHECK (url ~ '^https?://'),
    title        text NOT NULL CHECK (title <> ''),
    publisher    text,
    published_on date,
    kind         source_kind NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lab (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug          text NOT NULL UNIQUE CHECK (slug {SLUG_CHECK}),
    name          text NOT NULL CHECK (name <> ''),
    country_code  char(2) NOT NULL REFERENCES country (code),
    founded_year  integer CHECK (founded_year BETWEEN 1900 AND 2100),
    headquarters  text,
    website       text CHECK (website ~ '^https?://'),
    description   text,
    archived_at   timestamptz,
    revision      integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lab_country_idx ON lab (country_code);
CREATE INDEX lab_name_trgm_idx ON lab USING gin (name gin_trgm_ops);

CREATE TABLE model_family (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug         text NOT NULL UNIQUE CHECK (slug {SLUG_CHECK}),
    name         text NOT NULL CHECK (name <> ''),
    lab_id       bigint REFERENCES lab (id),
    description  text,
    revision     integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_family_lab_idx ON model_family (lab_id);

CREATE TABLE model (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug             text NOT NULL UNIQUE CHECK (slug {SLUG_CHECK}),
    name             text NOT NULL CHECK (name <> ''),
    lab_id           bigint NOT NULL REFERENCES lab (id),
    family_id        bigint REFERENCES model_family (id),
    modality         modality NOT NULL DEFAULT 'TEXT',
    open_weights     boolean NOT NULL DEFAULT false,
    license          text,
    training_origin  training_origin,
    description      text,
    archived_at      timestamptz,
    revision         integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_lab_idx ON model (lab_id, id);
CREATE INDEX model_family_idx ON model (family_id);
CREATE INDEX model_name_trgm_idx ON model USING gin (name gin_trgm_ops);

CREATE TABLE model_version (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id            bigint NOT NULL REFERENCES model (id),
    label               text NOT NULL CHECK (label <> ''),
    stage               version_stage NOT NULL,
    promoted_from_id    bigint UNIQUE REFERENCES model_version (id),
    announced_on        date,
    released_on         date,
    released_precision  date_precision,
    planned_on          date,
    planned_precision   date_precision,
    total_parameters    bigint CHECK (total_parameters > 0),
    active_parameters   bigint CHECK (active_parameters > 0),
    context_window      integer CHECK (context_window > 0),
    source_id           bigint REFERENCES source (id),
    revision            integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_id, label),
    CHECK (active_parameters <= total_parameters),
    CHECK ((planned_on IS NULL) = (planned_precision IS NULL)),
    CHECK ((released_on IS NULL) = (released_precision IS NULL)),
    CHECK (promoted_from_id IS NULL OR stage = 'FINAL'),
    CHECK (promoted_from_id <> id)
);
CREATE INDEX model_version_params_idx ON model_version (total_parameters);

CREATE TABLE hardware_target (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_id          bigint NOT NULL REFERENCES model_version (id) ON DELETE CASCADE,
    accelerator         text NOT NULL CHECK (accelerator <> ''),
    accelerator_count   integer NOT NULL DEFAULT 1 CHECK (accelerator_count > 0),
    memory_gb           numeric(8, 2) CHECK (memory_gb > 0),
    precision           numeric_precision,
    note                text,
    source_id           bigint REFERENCES source (id)
);
CREATE INDEX hardware_target_version_idx ON hardware_target (version_id);

CREATE TABLE benchmark (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug               text NOT NULL UNIQUE CHECK (slug {SLUG_CHECK}),
    name               text NOT NULL CHECK (name <> ''),
    publisher          text,
    url                text CHECK (url ~ '^https?://'),
    scale_min          numeric NOT NULL,
    scale_max          numeric NOT NULL,
    higher_is_better   boolean NOT NULL DEFAULT true,
    is_independent     boolean NOT NULL,
    is_index           boolean NOT NULL DEFAULT false,
    methodology        text,
    revision           integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (scale_max > scale_min)
);
CREATE INDEX benchmark_name_trgm_idx ON benchmark USING gin (name gin_trgm_ops);

CREATE TABLE benchmark_version (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    benchmark_id   bigint NOT NULL REFERENCES benchmark (id),
    label          text NOT NULL CHECK (label <> ''),
    effective_on   date NOT NULL,
    notes          text,
    source_id      bigint REFERENCES source (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (benchmark_id, label),
    UNIQUE (benchmark_id, effective_on)
);

-- An index version is a weighted average of component benchmarks; the weights of one
-- version sum to 1 (checked by the service layer, which sees the whole set at once).
CREATE TABLE benchmark_component (
    benchmark_version_id     bigint NOT NULL REFERENCES benchmark_version (id) ON DELETE CASCADE,
    component_benchmark_id   bigint NOT NULL REFERENCES benchmark (id),
    weight                   numeric(6, 5) NOT NULL CHECK (weight > 0 AND weight <= 1),
    PRIMARY KEY (benchmark_version_id, component_benchmark_id)
);

-- Scores are append-only: a correction is a new row that supersedes the old one.
CREATE TABLE score (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_id               bigint NOT NULL REFERENCES model_version (id),
    benchmark_version_id     bigint NOT NULL REFERENCES benchmark_version (id),
    value                    numeric NOT NULL,
    qualifier                score_qualifier NOT NULL DEFAULT 'EXACT',
    uncertainty              numeric CHECK (uncertainty >= 0),
    run_configuration        jsonb NOT NULL DEFAULT '{{}}'::jsonb
                             CHECK (jsonb_typeof(run_configuration) = 'object'),
    measured_on              date NOT NULL,
    provenance               score_provenance NOT NULL,
    verification             score_verification NOT NULL DEFAULT 'UNVERIFIED',
    verification_changed_on  date,
    source_id                bigint NOT NULL REFERENCES source (id),
    supersedes_id            bigint UNIQUE REFERENCES score (id),
    evidence_score_id        bigint REFERENCES score (id),
    note                     text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (supersedes_id <> id),
    CHECK (evidence_score_id <> id)
);
CREATE INDEX score_ranking_idx ON score (benchmark_version_id, value DESC, id);
CREATE INDEX score_version_idx ON score (version_id, benchmark_version_id, measured_on);
CREATE INDEX score_evidence_idx ON score (evidence_score_id) WHERE evidence_score_id IS NOT NULL;

CREATE TABLE lineage_link (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_model_id   bigint NOT NULL REFERENCES model (id),
    child_model_id    bigint NOT NULL REFERENCES model (id),
    relation          lineage_relation NOT NULL,
    source_id         bigint REFERENCES source (id),
    note              text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (parent_model_id, child_model_id, relation),
    CHECK (parent_model_id <> child_model_id)
);
CREATE INDEX lineage_child_idx ON lineage_link (child_model_id, parent_model_id);
CREATE INDEX lineage_parent_idx ON lineage_link (parent_model_id, child_model_id);

CREATE TABLE program (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug           text NOT NULL UNIQUE CHECK (slug {SLUG_CHECK}),
    name           text NOT NULL CHECK (name <> ''),
    sponsor        text NOT NULL CHECK (sponsor <> ''),
    country_code   char(2) NOT NULL REFERENCES country (code),
    started_on     date,
    started_precision date_precision,
    description    text,
    source_id      bigint REFERENCES source (id),
    CHECK ((started_on IS NULL) = (started_precision IS NULL)),
    revision       integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE program_participant (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id   bigint NOT NULL REFERENCES program (id),
    lab_id       bigint NOT NULL REFERENCES lab (id),
    UNIQUE (program_id, lab_id)
);
CREATE INDEX program_participant_lab_idx ON program_participant (lab_id);

-- A participant's status over time; the current status is the latest effective one.
CREATE TABLE participant_status_change (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id   bigint NOT NULL REFERENCES program_participant (id) ON DELETE CASCADE,
    status           participant_status NOT NULL,
    effective_on     date NOT NULL,
    effective_precision date_precision NOT NULL DEFAULT 'DAY',
    source_id        bigint REFERENCES source (id),
    note             text,
    UNIQUE (participant_id, effective_on)
);

-- A goal a lab stated; its status (MET / MISSED / OPEN) is derived from scores, never stored.
CREATE TABLE target (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lab_id          bigint NOT NULL REFERENCES lab (id),
    benchmark_id    bigint NOT NULL REFERENCES benchmark (id),
    model_id        bigint REFERENCES model (id),
    value           numeric NOT NULL,
    due_on          date NOT NULL,
    due_precision   date_precision NOT NULL,
    stated_on       date NOT NULL,
    source_id       bigint NOT NULL REFERENCES source (id),
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lab_id, benchmark_id, value, due_on)
);

CREATE TABLE external_id (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system        external_system NOT NULL,
    external_key  text NOT NULL CHECK (external_key <> ''),
    lab_id        bigint REFERENCES lab (id),
    model_id      bigint REFERENCES model (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (system, external_key),
    CHECK (num_nonnulls(lab_id, model_id) = 1)
);
CREATE INDEX external_id_model_idx ON external_id (model_id) WHERE model_id IS NOT NULL;
CREATE INDEX external_id_lab_idx ON external_id (lab_id) WHERE lab_id IS NOT NULL;

-- One row per successful write, in the write's own transaction: the audit log and the
-- change feed that data consumers pull (ordered by id).
CREATE TABLE audit_event (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    operation     text NOT NULL,
    entity_type   text NOT NULL,
    entity_id     bigint NOT NULL,
    before        jsonb,
    after         jsonb,
    request_id    text
);
CREATE INDEX audit_event_entity_idx ON audit_event (entity_type, entity_id, id);
CREATE INDEX audit_event_actor_idx ON audit_event (actor, id);

CREATE TABLE api_token (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name <> ''),
    role           token_role NOT NULL,
    token_prefix   text NOT NULL,
    token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz,
    revoked_at     timestamptz
);

CREATE TABLE idempotency_key (
    key            text NOT NULL,
    actor          text NOT NULL,
    request_hash   bytea NOT NULL,
    response       jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_key_expiry_idx ON idempotency_key (expires_at);
"""

DROP_ORDER = (
    "idempotency_key",
    "api_token",
    "audit_event",
    "external_id",
    "target",
    "participant_status_change",
    "program_participant",
    "program",
    "lineage_link",
    "score",
    "benchmark_component",
    "benchmark_version",
    "benchmark",
    "hardware_target",
    "model_version",
    "model",
    "model_family",
    "lab",
    "source",
    "country",
)


def _create_enums() -> None:
    for name, values in ENUMS.items():
        labels = ", ".join(f"'{value}'" for value in values)
        op.execute(f"CREATE TYPE {name} AS ENUM ({labels})")


def _load_countries() -> None:
    # The ISO 3166-1 list comes from pycountry, never typed by hand.
    rows = [
        {"code": c.alpha_2, "alpha3": c.alpha_3, "name": getattr(c, "common_name", c.name)}
        for c in pycountry.countries
    ]
    op.get_bind().execute(
        sa.text("INSERT INTO country (code, alpha3, name) VALUES (:code, :alpha3, :name)"),
        rows,
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    _create_enums()
    # asyncpg prepares each statement, so the script runs one statement at a time.
    for statement in TABLES.split(";\n"):
        if statement.strip():
            op.execute(statement)
    _load_countries()


def downgrade() -> None:
    for table in DROP_ORDER:
        op.execute(f"DROP TABLE {table}")
    for name in reversed(ENUMS):
        op.execute(f"DROP TYPE {name}")
