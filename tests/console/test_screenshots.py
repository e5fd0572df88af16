"""Screenshots of every view over a day of plausible traffic (docs/console.md shows copies),
with checks that what is drawn matches the API."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerHandle
from tests.console.otel_seed import seed_demo

pytestmark = pytest.mark.browser


def test_views_over_a_day_of_traffic(page: Page, spyglass_server: ServerHandle, artifacts_dir: Path) -> None:
    project = f"demo-{uuid.uuid4().hex[:8]}"
    spans = seed_demo(spyglass_server.url, project)
    base = spyglass_server.url

    page.goto(f"{base}/monitoring?project={project}&range=24h")
    expect(page.locator(".card[data-metric=Spans]")).to_have_attribute("data-value", str(spans))
    api = httpx.get(f"{base}/api/stats", params={"project": project, "since": "-24h"}).json()
    assert float(page.locator(".card[data-metric=Traces]").get_attribute("data-value")) == api["totals"]["traces"]
    # Seven charts draw; monitor scores say there are none (no monitor ran on this project).
    expect(page.locator("figure.chart canvas")).to_have_count(7)
    expect(page.locator("figure[data-chart='Monitor scores (mean)']")).to_contain_text("No data in this range")
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "console-monitoring-day.png"), full_page=True)

    page.get_by_label("Break down by").select_option("model")
    legend = page.locator("figure[data-chart='Cost by model'] .u-legend")
    for model in ("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-20241022"):
        expect(legend).to_contain_text(model)
    page.screenshot(path=str(artifacts_dir / "console-monitoring-by-model.png"), full_page=True)

    page.goto(f"{base}/traces?project={project}&range=24h")
    expect(page.locator("table.traces-table tbody tr")).to_have_count(50)
    page.screenshot(path=str(artifacts_dir / "console-traces-day.png"))
