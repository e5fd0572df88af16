"""Issue 15 in the browser: tokens and cost per span (and per subtree) in the trace tree,
time to first token in span detail, and creating an alert and seeing it fire."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode, set_span_in_context
from playwright.sync_api import Page, expect

from common import attributes as A
from tests.conftest import ServerHandle, start_server

pytestmark = pytest.mark.browser
MS = 1_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    # Alerts evaluated every 300 ms so a fired alert shows up within the test.
    # The monitors worker by name (an installed checkout also has it as an entry point).
    handle = start_server(tmp_path_factory.mktemp("console-alerts") / "data",
                          env={"SPYGLASS_ALERT_INTERVAL_MS": "300", "SPYGLASS_MONITORS_POLL_MS": "300",
                               "SPYGLASS_WORKERS": "scorers.monitors.service:start_service"})
    yield handle
    handle.stop()


def _send(url: str, project: str, errors: bool = False, outputs: tuple[str, str] | None = None) -> str:
    """A chain -> agent -> two LLM calls trace; ``outputs`` are the LLM calls' answers."""
    provider = TracerProvider(resource=Resource.create({A.PROJECT: project}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = provider.get_tracer("console-alerts")
    t0 = time.time_ns()
    root = tracer.start_span("plan_and_answer", start_time=t0, attributes={A.OP_KIND: "chain"})
    ctx = set_span_in_context(root)
    agent = tracer.start_span("agent_step", context=ctx, start_time=t0 + MS, attributes={A.OP_KIND: "agent"})
    actx = set_span_in_context(agent)
    for i, (tin, tout, cost) in enumerate(((100, 20, 0.0012), (300, 80, 0.0038))):
        llm = tracer.start_span(f"chat-{i}", context=actx, start_time=t0 + (2 + i * 10) * MS, attributes={
            A.OP_KIND: "llm", A.GEN_AI_REQUEST_MODEL: "m", A.GEN_AI_USAGE_INPUT_TOKENS: tin,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: tout, A.COST_USD: cost, A.TIME_TO_FIRST_TOKEN_MS: 250.0 + i})
        if outputs:
            llm.set_attribute(A.OUTPUT, json.dumps(outputs[i]))
        if errors:
            llm.set_status(Status(StatusCode.ERROR, "RateLimitError"))
        llm.end(end_time=t0 + (10 + i * 10) * MS)
    agent.end(end_time=t0 + 30 * MS)
    root.end(end_time=t0 + 32 * MS)
    provider.shutdown()
    return format(root.get_span_context().trace_id, "032x")


def _wait_for(check, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def test_tree_shows_tokens_and_cost_per_span_and_subtree_and_ttft(page: Page, server: ServerHandle) -> None:
    project = f"tree-{uuid.uuid4().hex[:8]}"
    trace_id = _send(server.url, project)
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.url}/api/traces/{trace_id}").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    page.goto(f"{server.url}/traces/{trace_id}?project={project}")
    items = page.get_by_role("treeitem")
    expect(items).to_have_count(4)
    chat0 = items.filter(has_text="chat-0").get_by_test_id("span-usage")
    expect(chat0).to_have_text("120 tok · $0.0012")
    # Parents without usage of their own show their subtree's sum.
    expect(items.filter(has_text="agent_step").get_by_test_id("span-usage")).to_have_text("Σ 500 tok · $0.0050")
    expect(items.first.get_by_test_id("span-usage")).to_have_text("Σ 500 tok · $0.0050")
    items.filter(has_text="chat-1").click()
    expect(page.get_by_test_id("ttft")).to_have_text("251 ms")


def test_creating_an_alert_and_seeing_it_fire(page: Page, server: ServerHandle) -> None:
    project = f"alerting-{uuid.uuid4().hex[:8]}"
    _send(server.url, project)  # the project exists (and the switcher lists it)
    page.goto(f"{server.url}/alerts?project={project}")
    expect(page.get_by_text("No alert rules in this project yet")).to_be_visible()
    form = page.get_by_role("form", name="Create alert")
    form.get_by_label("Alert name").fill("LLM errors")
    form.get_by_label("Series").select_option("error_rate")
    form.get_by_label("Threshold").fill("0.3")
    form.get_by_label("Window seconds").fill("60")
    form.get_by_role("button", name="Create alert").click()
    table = page.get_by_role("table", name="Alert rules")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("error_rate over 60s above 0.3")
    expect(table).to_contain_text("ok")
    stored = httpx.get(f"{server.url}/api/alerts", params={"project": project}).json()["alerts"]
    assert [(a["name"], a["metric"], a["threshold"], a["window_s"]) for a in stored] == [
        ("LLM errors", "error_rate", 0.3, 60)]

    # Two traces whose LLM calls fail: 4 of the 12 spans in the window, a rate of 0.33.
    _send(server.url, project, errors=True)
    _send(server.url, project, errors=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.get(f"{server.url}/api/alerts/{stored[0]['id']}/history").json()["events"]:
            break
        time.sleep(0.3)
    page.get_by_role("button", name="Refresh").first.click()
    expect(table).to_contain_text("firing")
    table.get_by_role("link", name="LLM errors").click()
    history = page.get_by_role("table", name="Alert history")
    expect(history).to_contain_text("fired")
    expect(history).to_contain_text("none")  # no webhook configured


def test_export_links_carry_the_trace_filter(page: Page, server: ServerHandle) -> None:
    project = f"export-{uuid.uuid4().hex[:8]}"
    _send(server.url, project)
    failing = _send(server.url, project, errors=True)
    page.goto(f"{server.url}/traces?project={project}&status=error")
    expect(page.locator("table.traces-table tbody tr")).to_have_count(1)
    href = page.get_by_role("link", name="Export CSV").get_attribute("href")
    assert href and href.startswith("/api/export/traces?") and "status=error" in href and "format=csv" in href
    lines = httpx.get(f"{server.url}{href}").text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(failing)


def test_a_trace_exports_its_spans_in_every_format(page: Page, server: ServerHandle) -> None:
    import io

    import pyarrow.parquet as pq

    project = f"export-{uuid.uuid4().hex[:8]}"
    trace_id = _send(server.url, project)
    _wait_for(lambda: httpx.get(f"{server.url}/api/traces/{trace_id}").status_code == 200,
              "the trace")
    page.goto(f"{server.url}/traces/{trace_id}?project={project}")
    expect(page.get_by_role("treeitem")).to_have_count(4)
    links = page.get_by_label("Export this trace").get_by_role("link")
    expect(links).to_have_text(["Export JSONL", "Export CSV", "Export PARQUET"])
    shown = {s["span_id"]: s for s in httpx.get(f"{server.url}/api/traces/{trace_id}").json()["spans"]}
    href = links.nth(0).get_attribute("href") or ""
    assert href.startswith("/api/export/spans?") and f"trace_id={trace_id}" in href
    spans = [json.loads(x) for x in httpx.get(f"{server.url}{href}").text.splitlines()]
    assert {s["span_id"] for s in spans} == set(shown) and len(spans) == 4
    assert sum(s["input_tokens"] + s["output_tokens"] for s in spans) == 500
    parquet = httpx.get(f"{server.url}{links.nth(2).get_attribute('href')}").content
    rows = pq.read_table(io.BytesIO(parquet)).to_pylist()
    assert [r["span_id"] for r in rows] == [s["span_id"] for s in spans]
    # Traces list: the filter's export offers Parquet too.
    page.goto(f"{server.url}/traces?project={project}")
    expect(page.get_by_role("link", name="Export PARQUET")).to_have_count(1)


def test_creating_a_monitor_and_seeing_its_scores(page: Page, server: ServerHandle) -> None:
    project = f"monitoring-{uuid.uuid4().hex[:8]}"
    _send(server.url, project)
    page.goto(f"{server.url}/monitors?project={project}")
    expect(page.get_by_text("No monitors in this project yet")).to_be_visible()
    form = page.get_by_role("form", name="Create monitor")
    form.get_by_label("Monitor name").fill("llm-pii")
    form.get_by_label("Scorers").fill("pii, secrets")
    form.get_by_label("Span kind").fill("llm")
    form.get_by_label("Judge budget").fill("0.5")
    form.get_by_role("button", name="Create monitor").click()
    table = page.get_by_role("table", name="Monitors")
    expect(table).to_contain_text("llm-pii")
    expect(table).to_contain_text("pii, secrets")
    expect(table).to_contain_text("kind=llm")
    expect(page.get_by_text("No scores yet")).to_be_visible()
    time.sleep(0.5)
    # Two LLM spans after the monitor was created, one answer leaking an email address.
    _send(server.url, project, outputs=("Paris is the capital.", "Write to ana@example.com."))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        scores = httpx.get(f"{server.url}/api/feedback", params={"project": project}).json()["feedback"]
        if len(scores) >= 4:
            break
        time.sleep(0.3)
    section = page.locator("section.section")
    section.filter(has=page.get_by_role("heading", name="Scores of llm-pii")).get_by_role(
        "button", name="Refresh").click()
    scores_table = page.get_by_role("table", name="Monitor scores")
    expect(scores_table.locator("tbody tr")).to_have_count(2)
    # Per score: spans scored and the mean (pii found in one answer of two; no secrets).
    pii_cells = scores_table.locator("tbody tr").filter(has_text="pii").locator("td")
    expect(pii_cells).to_have_text(["pii", "2", "0.500"])
    expect(scores_table.locator("tbody tr").filter(has_text="secrets").locator("td")).to_have_text(
        ["secrets", "2", "0.000"])
    # The worker's counters: 2 spans sampled, 2 scorers each, every score stored once.
    stored = httpx.get(f"{server.url}/api/monitors", params={"project": project}).json()["monitors"][0]
    assert stored["judge_budget_usd_per_day"] == 0.5
    _wait_for(lambda: httpx.get(f"{server.url}/api/monitors/{stored['id']}/status").json()["posted"] >= 4,
              "the worker's report")
    status_refresh = section.filter(has=page.get_by_role("heading", name="Status of llm-pii")).get_by_role(
        "button", name="Refresh")
    status_refresh.click()
    status = page.get_by_label("Monitor status")
    expect(page.get_by_test_id("monitor-state")).to_have_text("running")
    for label, value in (("Sampled", "2"), ("Scored", "4"), ("Stored", "4"), ("Dropped (backlog)", "0"),
                         ("Errors", "0")):
        expect(status.locator(f"dd[data-counter='{label}']")).to_have_text(value)
    expect(status).to_contain_text("$0 of $0.5000")
    table.get_by_role("button", name="Pause").click()
    expect(table).to_contain_text("paused")
    assert httpx.get(f"{server.url}/api/monitors", params={"project": project}).json()["monitors"][0]["enabled"] is False
    expect(page.get_by_test_id("monitor-state")).to_have_text("paused")
