# The pipeline's image: `diplomates` as the entry point, run as an unprivileged user.
#   docker build -t diplomates .
#   docker run --rm -v /etc/diplomates:/etc/diplomates:ro -e PGPASSWORD diplomates \
#       run --config /etc/diplomates/config.toml
# The email templates are read from the source tree (templates/ next to pipeline/), hence the
# editable install into /app. The `postgres` extra brings psycopg for a PostgreSQL state DB.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DIPLOMATES_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY pipeline ./pipeline
COPY templates ./templates
COPY config ./config
RUN pip install --editable ".[postgres]" \
    && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home diplomates

USER 10001:10001
ENTRYPOINT ["diplomates"]
CMD ["--help"]
