# syntax=docker/dockerfile:1
#
# Campaign Service image.
#
#   docker build -t campaign-service .
#   docker run --rm -p 50051:50051 -e CAMPAIGN_JWT_SECRET=... campaign-service          # serve
#   docker run --rm -e CAMPAIGN_DATABASE_URL=... campaign-service migrate                # migrate
#   docker run --rm -e CAMPAIGN_JWT_SECRET=... campaign-service token --org o --role admin
#
# Health: the image has no grpc_health_probe binary and no HEALTHCHECK of its own. The
# docker-compose.yml healthcheck probes the standard gRPC health service with the Python
# that is already in the image (grpcio-health-checking is a dependency):
#
#   python -c "import grpc; from grpc_health.v1 import health_pb2, health_pb2_grpc; ..."
#
# Copy that healthcheck (or a Kubernetes grpc probe on port 50051) when running elsewhere.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# builder: install the locked dependencies and the project's wheel into /opt/venv.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The pinned runtime dependencies first (requirements-runtime.lock, `make lock`): the same versions
# CI tested, and a layer that stays cached while only the sources change.
COPY requirements-runtime.lock ./
RUN pip install -r requirements-runtime.lock
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install --no-deps /wheels/*.whl

# ---------------------------------------------------------------------------------------------
# runtime: the virtualenv only, no sources, no build tools, running as an unprivileged user.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CAMPAIGN_GRPC_ADDRESS=0.0.0.0:50051 \
    CAMPAIGN_HTTP_ADDRESS=0.0.0.0:8080 \
    CAMPAIGN_DATA_DIR=/var/lib/campaign \
    CAMPAIGN_LOG_FORMAT=json

RUN groupadd --system --gid 10001 campaign \
    && useradd --system --uid 10001 --gid campaign --home-dir /var/lib/campaign \
        --no-create-home --shell /usr/sbin/nologin campaign \
    && mkdir -p /var/lib/campaign \
    && chown campaign:campaign /var/lib/campaign

COPY --from=builder /opt/venv /opt/venv

WORKDIR /var/lib/campaign
USER 10001:10001

# gRPC; HTTP: tracking links, /healthz, /metrics (docs/tracking.md)
EXPOSE 50051 8080

ENTRYPOINT ["campaign-service"]
CMD ["serve"]
