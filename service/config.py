"""The service's settings, read from the environment (and a .env file) in one typed place."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import AfterValidator, AliasChoices, Field, PostgresDsn, TypeAdapter
from pydantic_settings import BaseSettings, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

from service.logs import LogFormat

_POSTGRES_DSN = TypeAdapter(PostgresDsn)


def _postgres_url(value: str) -> str:
    _POSTGRES_DSN.validate_python(value)
    return value


def _origins(value: list[str]) -> list[str]:
    normalize_allowed_origins(value)  # raises ValueError on what is not an origin
    return value


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("model-release-registry") / "postgres"


class Settings(BaseSettings):
    """Built in `create_app` and the CLI, never at import time."""

    model_config = SettingsConfigDict(
        env_prefix="REGISTRY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: Annotated[str, AfterValidator(_postgres_url)] | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL server to use (`postgresql://user:pass@host:5432/db`); unset "
        "starts the embedded PostgreSQL.",
    )
    database_read_url: Annotated[str, AfterValidator(_postgres_url)] | None = Field(
        default=None,
        validation_alias="DATABASE_READ_URL",
        description="A streaming replica (hot standby) of the primary for queries; mutations, "
        "the change listener and subscriptions stay on the primary (see Read replicas).",
    )
    replica_wait_ms: int = Field(
        default=100,
        ge=0,
        description="How long a read sending `X-Registry-Lsn` waits for the replica to replay "
        "that write before it reads from the primary.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Data directory of the embedded PostgreSQL; by default the platform's user "
        "data directory (`~/.local/share/model-release-registry/postgres` on Linux).",
    )
    host: str = Field(default="127.0.0.1", description="Address `registry serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `registry serve` binds.")
    migrate_on_start: bool = Field(
        default=True,
        description="Apply migrations when the service starts (`false` where a separate step "
        "migrates).",
    )
    seed_demo: bool = Field(
        default=True, description="Load the demo data when the service starts on an empty registry."
    )
    pool_min_size: int = Field(default=1, ge=0, description="Connections the pool keeps open.")
    pool_max_size: int = Field(default=10, ge=1, description="The most connections the pool opens.")
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production turns GraphiQL, introspection and field suggestions off.",
    )
    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL at /graphql; default: in development only."
    )
    introspection: bool | None = Field(
        default=None, description="Answer introspection queries; default: in development only."
    )
    max_query_cost: int = Field(
        default=50_000,
        ge=1,
        description="Budget of one request: lists weigh their first/last (service.graphql.limits).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body; larger ones get 413."
    )
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest total of request headers; else 431."
    )
    statement_timeout_ms: int = Field(
        default=5_000, ge=0, description="PostgreSQL statement_timeout of every statement."
    )
    pool_acquire_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a free connection before TIMEOUT."
    )
    auth_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="Failed authentications one client address may make a minute; then 429.",
    )
    compiled_queries: bool = Field(
        default=True,
        description="Answer the documents the compiler covers with one SQL statement.",
    )
    response_cache: bool = Field(
        default=True,
        description="Cache query answers until a write from any replica changes what they "
        "read (PostgreSQL NOTIFY says which tables and rows); needs a direct connection for "
        "LISTEN, so `false` behind a transaction-pooling proxy.",
    )
    response_cache_mb: int = Field(default=32, ge=1, description="Memory for cached answers.")
    require_reader_token: bool = Field(
        default=False,
        description="Refuse GraphQL requests without at least a READER token (reads included); "
        "`/healthz`, `/readyz` and `/metrics` stay open.",
    )
    persisted_queries: Literal["off", "automatic", "allowlist"] = Field(
        default="automatic",
        description="Persisted queries (see Persisted queries): `off`; `automatic` (Apollo's "
        "automatic persisted queries: clients store documents by hash); `allowlist` (only "
        "documents registered with `registry persisted add` run).",
    )
    persisted_queries_cache_entries: int = Field(
        default=2048, ge=1, description="Persisted documents each process keeps parsed, by hash."
    )
    persisted_queries_cache_mb: int = Field(
        default=32, ge=1, description="Memory for the persisted documents each process keeps."
    )
    persisted_queries_max_stored: int = Field(
        default=10_000,
        ge=0,
        description="Documents clients may store in `automatic` mode; the oldest beyond go first.",
    )
    export_concurrency: int = Field(
        default=2,
        ge=1,
        description="Exports (`/export/...`) one process streams at once, each holding a "
        "connection for its length; more get 429.",
    )
    # Subscriptions over WebSocket (service/sockets.py, service/graphql/subscriptions.py).
    subscriptions: bool = Field(
        default=True,
        description="Serve subscriptions over WebSocket at `/graphql` (graphql-transport-ws); "
        "needs a direct connection for LISTEN, as the response cache does.",
    )
    websocket_max_connections: int = Field(
        default=1000,
        ge=1,
        description="WebSocket connections one process holds; one more is closed with 1013.",
    )
    websocket_max_subscriptions: int = Field(
        default=20, ge=1, description="Operations one WebSocket connection may run at once."
    )
    websocket_init_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a new WebSocket has to send connection_init; then closed with 4408.",
    )
    websocket_allowed_origins: Annotated[list[str], AfterValidator(_origins)] = Field(
        default=[],
        description="Origins whose pages may open a WebSocket besides the registry's own, as a "
        'JSON list (`["https://news.example"]`, `["*"]` for any); clients that send no Origin '
        "(not browsers) are always let in.",
    )
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")

    # Operating it: logs and metrics (service/logs.py, service/metrics.py).
    log_format: LogFormat = Field(
        default="json",
        description="`json`: a JSON object per line, request logs included; `text` for a terminal.",
    )
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at `/metrics`.")
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
        description="Send OpenTelemetry traces over OTLP/HTTP: the traces' URL, or the "
        "collector's base URL (needs the `[otel]` extra; the exporter reads the other "
        "`OTEL_EXPORTER_OTLP_*` variables itself); unset: no traces.",
    )
    otel_service_name: str = Field(
        default="model-release-registry",
        validation_alias="OTEL_SERVICE_NAME",
        description="`service.name` of the traces.",
    )

    @property
    def dsn(self) -> str | None:
        return self.database_url

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def serves_graphiql(self) -> bool:
        return not self.production if self.graphiql is None else self.graphiql

    @property
    def serves_introspection(self) -> bool:
        return not self.production if self.introspection is None else self.introspection
