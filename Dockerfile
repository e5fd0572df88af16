# Spyglass collector image: OTLP/HTTP ingest, query API and the web console on port 4318.
#   docker build -t spyglass .
#   docker run -p 127.0.0.1:4318:4318 -v spyglass-data:/data spyglass serve --insecure-no-auth
# compose.yaml runs it against a ClickHouse server (docs/deployment.md).

# --- Stage 1: build the console (TypeScript -> console/dist) when its sources exist.
FROM node:20-slim AS console
WORKDIR /src/console
COPY console/ ./
RUN if [ -f package.json ]; then \
        npm ci --no-audit --no-fund --loglevel=error && npm run build; \
    else \
        mkdir -p dist; \
    fi

# --- Stage 2: the Python package, with the built console inside it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/spyglass
COPY pyproject.toml README.md ./
COPY common/ common/
COPY tracer/ tracer/
COPY collector/ collector/
COPY scorers/ scorers/
COPY evals/ evals/
COPY console/__init__.py console/
COPY --from=console /src/console/dist/ console/dist/
RUN pip install . && rm -rf /opt/spyglass/build

# An unprivileged user owning the embedded store (used when no ClickHouse URL is set).
RUN useradd --system --uid 10001 --create-home --home-dir /home/spyglass spyglass \
    && mkdir -p /data && chown spyglass:spyglass /data
USER spyglass
WORKDIR /home/spyglass

# Inside a container the collector must listen on every interface; which host addresses
# reach it is decided by the port mapping (see docs/deployment.md about keys).
ENV SPYGLASS_HOST=0.0.0.0 \
    SPYGLASS_PORT=4318 \
    SPYGLASS_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 4318
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:4318/healthz', timeout=3).status != 200)"]
ENTRYPOINT ["spyglass"]
CMD ["serve"]
