"""A run's seal in the console: verified with its signed manifest, unsigned, and broken
after a row is rewritten in the store (issue 11), in Debian's chromium."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from common import records
from common.wire.evals import ManifestIn
from evals.client import Client
from tests.conftest import start_server

pytestmark = pytest.mark.browser
VID = "ef" * 32


def _rows() -> list[dict[str, Any]]:
    return [{"row_index": i, "row_id": f"r{i}", "status": "ok", "output": f"answer {i}",
             "inputs": {"q": f"question {i}"}, "latency_ms": 10.0 + i,
             "started_at": "2026-03-04T05:06:07.000001Z",
             "scores": [{"scorer": "exact", "value": i != 2}]} for i in range(4)]


def _signed_run(client: Client, project: str, key: bytes, sign: bool) -> str:
    run = client.create_run({"eval_name": "sealed-qa", "project": project,
                             "dataset": {"version_id": VID, "name": "qa", "version": "v1", "rows": 4}})
    client.add_rows(run["run_id"], _rows())
    done = client.finish_run(run["run_id"], {"status": "complete", "summaries": [
        {"scorer": "exact", "kind": "binary", "mean": 0.75, "n": 4}]})
    if sign:
        head = client.get_log(project, head_only=True)["head"]
        stored = done["run"]
        pub = records.public_key_of(key)
        manifest = records.with_sections({
            "format": records.MANIFEST_FORMAT, "project": project, "run_id": stored["run_id"],
            "eval_name": "sealed-qa", "dataset": stored["dataset"], "status": stored["status"],
            "suite": {"label": "suite.py", "sha256": "0" * 64},
            "task": {"name": "answer", "code_sha256": "1" * 64}, "scorers": [{"name": "exact"}],
            "models": {"model": "stub-1"}, "code": {"git_commit": "abc123def4567", "git_dirty": True},
            "rows": {"count": 4, "chain_head": records.chain_head(
                stored["run_id"], records.sorted_records(_rows()))},
            "summaries": records.summary_records(done["summaries"]),
            "comparison": stored["comparison"],
            "log": {"seq": head["seq"] + 1, "prev": head["manifest_hash"]},
            "key_id": records.key_id(pub)})
        client.attach_manifest(stored["run_id"], ManifestIn(
            manifest=manifest, signature=records.sign(manifest, key), public_key=pub))
    return run["run_id"]


def test_run_page_shows_the_seal_and_manifest(page: Page, tmp_path: Path, artifacts_dir: Path) -> None:
    project = f"seal-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "data"
    key = records.new_private_key()
    server = start_server(data_dir)
    try:
        client = Client(server.url)
        signed = _signed_run(client, project, key, sign=True)
        unsigned = _signed_run(client, project, key, sign=False)
        client.close()
        page.goto(f"{server.url}/evals/runs/{signed}?project={project}")
        panel = page.locator(".seal-panel")
        expect(panel).to_have_attribute("data-seal", "verified")
        expect(page.locator("h1 .seal")).to_have_text("sealed · verified")
        expect(panel).to_contain_text(records.key_id(records.public_key_of(key)))
        expect(panel).to_contain_text("4 rows hash-chained")
        expect(panel.locator(".manifest-facts")).to_contain_text("abc123def456 (dirty)")
        expect(panel.locator(".manifest-facts")).to_contain_text("qa:v1")
        panel.locator("summary", has_text="Signed manifest").click()
        panel.locator(".manifest-json").get_by_role("button", name=re.compile("^Show all")).click()
        expect(panel.locator(".manifest-json")).to_contain_text("chain_head")
        page.screenshot(path=str(artifacts_dir / "console-eval-seal.png"), full_page=True)
        page.goto(f"{server.url}/evals/runs/{unsigned}?project={project}")
        expect(page.locator(".seal-panel")).to_have_attribute("data-seal", "unsigned")
        # The comparison page shows both runs' seals.
        page.goto(f"{server.url}/evals/compare?a={signed}&b={unsigned}&project={project}")
        expect(page.locator("[data-side] .seal-panel")).to_have_count(2)
        expect(page.locator("[data-side^='A'] .seal-panel")).to_have_attribute("data-seal", "verified")
    finally:
        server.stop()

    # One row rewritten behind the collector's back: the page says BROKEN and names it.
    from collector.settings import Settings
    from collector.storage import open_storage

    storage = open_storage(Settings.load(data_dir=data_dir))
    storage.command("INSERT INTO eval_rows SELECT * REPLACE ('answer 9' AS output, now64(6) + 1 "
                    "AS inserted_at) FROM eval_rows FINAL WHERE run_id = {r:String} AND "
                    "row_index = 1", {"r": signed})
    storage.close()
    server = start_server(data_dir)
    try:
        page.goto(f"{server.url}/evals/runs/{signed}?project={project}")
        panel = page.locator(".seal-panel")
        expect(panel).to_have_attribute("data-seal", "broken")
        expect(panel.locator(".seal-problem")).to_have_text(re.compile(r"^rows: chain head does not match"))
        api = httpx.get(f"{server.url}/api/evals/runs/{signed}/manifest").json()
        assert api["state"] == "broken" and api["problem"].startswith("rows: chain head")
    finally:
        server.stop()
