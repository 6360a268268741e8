# klasbot: the long-running bot (`klasbot run`) or any CLI command (`klasbot db upgrade`, …).
#
#   docker build -t klasbot .
#   docker run --rm --env-file .env klasbot db upgrade     # migrations: only when asked
#   docker run -d --env-file .env -p 8080:8080 klasbot      # `klasbot run`
#
# Two stages: the builder installs klasbot and its dependencies into a virtualenv; the final
# image holds that virtualenv on a slim Python, without pip's cache, compilers or the sources.

# --- builder ---------------------------------------------------------------------------------
FROM python:3.11-slim AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
COPY migrations ./migrations
COPY config ./config
# A wheel of klasbot, installed with its dependencies into the virtualenv (not editable).
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/klasbot-*.whl \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

# --- the image -------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    KLASBOT_HTTP__PORT=8080 \
    KLASBOT_DATA_DIR=/data \
    KLASBOT_MAIL__OUTBOX_DIR=/data/outbox \
    KLASBOT_POST__LETTERS_DIR=/data/letters \
    KLASBOT_LOG__FORMAT=json

RUN useradd --create-home --uid 10001 --user-group klasbot \
    && mkdir -p /data/outbox /data/letters \
    && chown -R klasbot:klasbot /data
COPY --from=builder /opt/venv /opt/venv

USER klasbot
WORKDIR /data
VOLUME ["/data"]
# `klasbot run` serves /healthz, /readyz and /metrics on KLASBOT_HTTP__PORT.
EXPOSE 8080
# No curl in a slim image: the standard library asks /healthz; any error or a status >= 400 fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KLASBOT_HTTP__PORT', '8080'), timeout=4)"]

# Configuration: KLASBOT_* environment variables (secrets only there), or a klasbot.toml in
# /data. The database is never migrated on start-up: run `klasbot db upgrade` (the compose
# file's `migrate` service) before starting a new version.
ENTRYPOINT ["klasbot"]
CMD ["run"]
