"""Prompts under API keys: a key's prompts live in its project; other projects' are out
of reach; the CLI and tracer.prompts send the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, start_server
from tracer import prompts


def _spyglass(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "collector", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})})


def test_prompts_stay_in_the_keys_project(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys = {}
    for project in ("alpha", "beta"):
        made = _spyglass("keys", "create", "--project", project, "--data-dir", str(data))
        assert made.returncode == 0, made.stderr
        keys[project] = made.stdout.strip()
    server = start_server(data)
    try:
        url = server.url

        def call(method: str, path: str, key: str | None, **kw: object) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.request(method, f"{url}{path}", headers=headers, timeout=30, **kw)

        assert call("GET", "/api/prompts", None).status_code == 401
        pushed = call("POST", "/api/prompts", keys["alpha"], json={"name": "qa", "text": "x"})
        assert pushed.status_code == 201 and pushed.json()["project"] == "alpha"
        assert pushed.json()["author"] == "api-key:alpha"
        assert call("GET", "/api/prompts/qa", keys["beta"]).status_code == 404
        assert call("GET", "/api/prompts/qa", keys["alpha"], params={"project": "beta"}).status_code == 403
        assert call("POST", "/api/prompts", keys["beta"],
                    json={"name": "qa", "text": "x", "project": "alpha"}).status_code == 403
        assert call("GET", "/api/prompts", keys["beta"]).json()["prompts"] == []

        shown = _spyglass("prompts", "show", "qa", env={"SPYGLASS_ENDPOINT": url,
                                                        "SPYGLASS_API_KEY": keys["alpha"]})
        assert shown.returncode == 0 and "qa v1" in shown.stdout, shown.stderr
        prompts.configure(endpoint=url, api_key=keys["alpha"], cache_dir=tmp_path / "cache")
        try:
            prompts.clear_cache()
            assert prompts.get("qa").text == "x"
        finally:
            prompts.reset()
    finally:
        server.stop()
