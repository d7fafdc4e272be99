# syntax=docker/dockerfile:1
#
# Model Release Registry: container image.
#
#   docker build -t ghcr.io/model-release-registry/registry:0.1.0 .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=postgresql://... \
#       ghcr.io/model-release-registry/registry:0.1.0
#
# The image talks to the PostgreSQL server named by DATABASE_URL; the embedded development
# server (the [embedded] extra) is not installed. `registry migrate` and `registry seed` run as
# one-off commands against the same image:
#   docker run --rm -e DATABASE_URL=postgresql://... IMAGE migrate
#
# Every package comes from a lock with hashes (requirements.lock, requirements-build.lock;
# scripts/lock writes both), so two builds of one commit install the same files.
# scripts/image-replay repeats the install and start steps below in CI, without Docker.

# Both stages must use the same interpreter: the venv built in the first is copied into the
# second and its bin/python links to /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src

# The build backend, pinned: the project's wheel is built without fetching anything unlocked.
COPY requirements-build.lock ./
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --only-binary=:all: -r requirements-build.lock

# Dependencies first, in their own layer: rebuilt only when the lock changes, not on every
# source edit. Wheels only: every runtime dependency has a manylinux wheel, so no compiler.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock

# The project itself: a wheel (hatchling force-includes migrations/ as service/_migrations),
# installed without re-resolving dependencies (the lock has them all), then checked: pip check
# fails if the lock lacks a dependency of the project.
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/python -c "import pathlib, service; assert (pathlib.Path(service.__file__).parent / '_migrations' / 'env.py').is_file(), 'wheel lacks migrations'" \
 && /opt/venv/bin/registry --help >/dev/null

# --------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="model-release-registry" \
      org.opencontainers.image.description="Async GraphQL registry of frontier-AI model releases, scores and lineages" \
      org.opencontainers.image.source="https://github.com/model-release-registry/registry" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/home/registry \
    REGISTRY_HOST=0.0.0.0 \
    REGISTRY_PORT=8000

# Numeric uid/gid so Kubernetes' runAsNonRoot can verify the user without /etc/passwd.
RUN groupadd --system --gid 10001 registry \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/registry --create-home \
        --shell /usr/sbin/nologin registry

COPY --from=builder /opt/venv /opt/venv

USER 10001:10001
WORKDIR /home/registry

EXPOSE 8000

# No curl in slim: probe /healthz with the standard library. start-period covers the
# migrations that `registry serve` applies on start unless REGISTRY_MIGRATE_ON_START=false.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('REGISTRY_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["registry"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
