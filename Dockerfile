# syntax=docker/dockerfile:1
# fluxcd-helm-upgrader: the operator image. Build: docker build -t <image>:<version> .
# The image name and tag the cluster runs are set once, in deploy/base/kustomization.yaml (`images:`).
#
# Two stages: the builder installs the dependencies from requirements.lock (exact versions, every file checked
# against its sha256: pip --require-hashes), then the project's own wheel without resolving anything again; the
# final image gets that venv plus the two programs the operator shells out to (git, ssh), and no build tools.
# Refresh the lock after changing dependencies in pyproject.toml: see "Dependencies" in the README.
# It runs as an unprivileged numeric user and writes only to two volumes, so a read-only root filesystem works.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The locked dependencies first: their layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes -r requirements.lock
# Only what the wheel needs (see .dockerignore): pyproject's metadata, the README it names, the package.
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
# Re-declared: a global ARG is visible to FROM lines only, and the labels below name the base and the version.
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fluxcd-helm-upgrader" \
      org.opencontainers.image.description="Kopf operator that proposes Helm chart upgrades for Flux HelmReleases as one-line GitOps pull requests" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/fluxcd-helm-upgrader/fluxcd-helm-upgrader" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# git clones and pushes the GitOps repository; openssh-client carries ssh:// remotes. Nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A numeric user and group, so Kubernetes' runAsNonRoot can verify them without reading /etc/passwd.
RUN groupadd --system --gid 65532 upgrader \
 && useradd --system --uid 65532 --gid 65532 --no-create-home \
      --home-dir /var/cache/fluxcd-helm-upgrader --shell /usr/sbin/nologin upgrader \
 && mkdir -p /var/cache/fluxcd-helm-upgrader \
 && chown 65532:65532 /var/cache/fluxcd-helm-upgrader

COPY --from=builder /opt/venv /opt/venv
# The CRDs of this version, for `kubectl apply -f` from the image or an install job.
COPY crds/ /usr/share/fluxcd-helm-upgrader/crds/

# HOME is on the cache volume: git and ssh write their config and known_hosts there, never to the root filesystem.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/cache/fluxcd-helm-upgrader \
    UPGRADER_CACHE_DIR=/var/cache/fluxcd-helm-upgrader
VOLUME ["/var/cache/fluxcd-helm-upgrader", "/tmp"]
WORKDIR /var/cache/fluxcd-helm-upgrader
USER 65532:65532
# 8080: Kopf's liveness probe (/healthz); 9090: Prometheus metrics (UPGRADER_METRICS_PORT).
EXPOSE 8080 9090
ENTRYPOINT ["fluxcd-helm-upgrader", "run"]
