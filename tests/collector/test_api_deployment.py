"""compose.yaml and the Dockerfile (Docker cannot run here): parsed and checked for
consistency with the code they start, and the container's settings run for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import yaml

from collector.storage.clickhouse_engine import parse_clickhouse_url
from tests.conftest import REPO_ROOT, free_port

COMPOSE = REPO_ROOT / "compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"


def _defaults(text: str) -> str:
    """Compose's ``${VAR:-default}`` interpolation with no variable set."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def stages() -> list[list[str]]:
    """Dockerfile instructions (continuations joined), split into build stages."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    out: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            out.append([])
        out[-1].append(line)
    return out


def test_clickhouse_service(compose: dict) -> None:
    ch = compose["services"]["clickhouse"]
    assert ch["image"].startswith("clickhouse/clickhouse-server:")
    volume, mount = ch["volumes"][0].split(":")
    assert mount == "/var/lib/clickhouse" and volume in compose["volumes"]
    check = ch["healthcheck"]
    assert "SELECT 1" in " ".join(check["test"]) and check["retries"] >= 10
    assert ch["environment"]["CLICKHOUSE_DB"]


def test_spyglass_service_reaches_clickhouse(compose: dict) -> None:
    ch = compose["services"]["clickhouse"]["environment"]
    app = compose["services"]["spyglass"]
    assert app["build"] == "."
    assert app["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    url = _defaults(app["environment"]["SPYGLASS_CLICKHOUSE_URL"])
    target = parse_clickhouse_url(url)
    assert target["host"] == "clickhouse" and target["port"] == 8123
    assert target["database"] == ch["CLICKHOUSE_DB"]
    assert target["username"] == ch["CLICKHOUSE_USER"]
    assert target["password"] == _defaults(ch["CLICKHOUSE_PASSWORD"])
    # Published on the host's loopback by default, to the container's port.
    published = _defaults(app["ports"][0])
    assert published == f"127.0.0.1:4318:{app['environment']['SPYGLASS_PORT']}"
    assert "/healthz" in " ".join(app["healthcheck"]["test"])


def test_dockerfile_stages(stages: list[list[str]]) -> None:
    node, python = stages
    assert node[0].startswith("FROM node:20") and node[0].endswith("AS console")
    build = next(ln for ln in node if ln.startswith("RUN"))
    assert "[ -f package.json ]" in build and "npm ci" in build and "npm run build" in build
    assert python[0] == "FROM python:3.11-slim"
    assert "COPY --from=console /src/console/dist/ console/dist/" in python
    assert any(ln.startswith("RUN pip install .") for ln in python)
    assert 'ENTRYPOINT ["spyglass"]' in python and 'CMD ["serve"]' in python
    assert "EXPOSE 4318" in python
    assert any(ln.startswith("USER ") and "root" not in ln for ln in python)


def test_dockerfile_copies_only_what_exists(stages: list[list[str]]) -> None:
    for stage in stages:
        for line in stage:
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    assert (REPO_ROOT / source).exists(), source
    # Every package setuptools installs is copied into the image.
    copied = " ".join(ln for ln in stages[1] if ln.startswith("COPY"))
    for package in ("common", "tracer", "collector", "scorers", "evals", "console"):
        assert f"{package}/" in copied, package
    ignored = {ln.strip() for ln in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    assert {".venv", "console/node_modules", "console/dist", ".git"} <= ignored
    # Nothing the build copies or the console build needs is ignored.
    for needed in ("pyproject.toml", "README.md", "console", "console/package.json",
                   "console/package-lock.json", "console/src", "collector", "tracer"):
        assert needed not in ignored and needed.split("/")[0] not in ignored, needed


def test_container_settings_start_a_collector(compose: dict, tmp_path) -> None:
    """The environment compose gives the container (every interface, no key yet) starts a
    collector rather than tripping the open-bind refusal, and its health check passes."""
    env = {k: _defaults(str(v)) for k, v in compose["services"]["spyglass"]["environment"].items()
           if k != "SPYGLASS_CLICKHOUSE_URL"}
    assert env["SPYGLASS_HOST"] == "0.0.0.0" and env["SPYGLASS_INSECURE_NO_AUTH"] == "true"
    port = free_port()
    env.update(SPYGLASS_PORT=str(port), SPYGLASS_DATA_DIR=str(tmp_path / "data"))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        # Settings only from the environment, as in the container (`spyglass serve`).
        proc = subprocess.Popen([sys.executable, "-m", "collector", "serve"], cwd=REPO_ROOT,
                                env={**full_env, **env, "PYTHONUNBUFFERED": "1"},
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        check = compose["services"]["spyglass"]["healthcheck"]["test"]
        code = check[-1].replace("4318", str(port))
        deadline = time.monotonic() + 60
        while subprocess.run([sys.executable, "-c", code], capture_output=True,
                             timeout=30).returncode != 0:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        output = log_path.read_text()
        assert f"Spyglass listening on http://0.0.0.0:{port}" in output
        assert "WITHOUT AUTHENTICATION" in output
    finally:
        proc.terminate()
        proc.wait(timeout=30)
