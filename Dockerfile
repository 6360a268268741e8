# klasbot: the long-running bot (`klasbot run`) or any CLI command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 klasbot
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
COPY migrations ./migrations
COPY config ./config
RUN pip install .

USER klasbot
WORKDIR /data
VOLUME ["/data"]
# Configuration comes from /data/klasbot.toml and KLASBOT_* environment variables; secrets only
# from the environment. Apply migrations first: `docker run … klasbot db upgrade`.
ENTRYPOINT ["klasbot"]
CMD ["run"]
