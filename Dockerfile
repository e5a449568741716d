# syntax=docker/dockerfile:1
# Multi-stage build of the scheduling service (Ray Serve on port 8005).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY domain domain
COPY solver solver
COPY store store
COPY application application
COPY actors actors
COPY bridge bridge
COPY integrations integrations
COPY deployments deployments
COPY config config
RUN pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 scheduler
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY serve_config.yaml ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/app/.data \
    RAY_USAGE_STATS_ENABLED=0
RUN mkdir -p /app/.data && chown scheduler:scheduler /app/.data
USER scheduler
EXPOSE 8005
# Set DATABASE_URL and REDIS_URL in production; without them the embedded servers start.
CMD ["scheduling-service", "serve"]
