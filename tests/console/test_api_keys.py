"""A collector with API keys: the console page stays public, the API answers 401, and the
console asks for a key, keeps it, and then shows only the key's project."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import REPO_ROOT, start_server

pytestmark = pytest.mark.browser


def test_console_asks_for_a_key_and_uses_it(page: Page, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    made = subprocess.run(
        [sys.executable, "-m", "collector", "keys", "create", "--project", "keyed",
         "--data-dir", str(data)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        check=False)
    assert made.returncode == 0, made.stderr
    key = re.search(r"sg_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}", made.stdout).group(0)
    server = start_server(data)
    try:
        page.goto(f"{server.url}/traces?project=keyed")
        alert = page.get_by_role("alert").first
        expect(alert).to_contain_text("401")
        expect(alert).to_contain_text("missing API key")
        alert.locator("input[name=api-key]").fill(key)
        alert.get_by_role("button", name="Use key").click()
        # With the key the API answers: the new project's empty state, named for it.
        expect(page.locator(".first-trace")).to_contain_text('tracer.init(project="keyed"')
        expect(page.get_by_role("alert")).to_have_count(0)
        expect(page.get_by_label("Project", exact=True)).to_have_value("keyed")
    finally:
        server.stop()
