"""Issue 15's console depth in the browser: sessions (the list and one session as a
conversation), the time-to-first-token series on Monitoring, the baseline's output beside
the current one in an eval comparison, and an alert created in the console that fires
and notifies a local webhook receiver, whose delivery shows in the alert history."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode, set_span_in_context
from playwright.sync_api import Page, expect

from common import attributes as A
from tests.conftest import ServerHandle, start_server
from tests.console.seeded_project import SeededProject

pytestmark = pytest.mark.browser
MS = 1_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    # Alerts checked every 300 ms and webhook retries 50 ms apart, so a test sees them.
    handle = start_server(tmp_path_factory.mktemp("console-depth") / "data",
                          env={"SPYGLASS_ALERT_INTERVAL_MS": "300",
                               "SPYGLASS_ALERT_RETRY_BACKOFF_MS": "50"})
    yield handle
    handle.stop()


class Receiver:
    """A local webhook endpoint: answers the first ``fail_first`` POSTs with 500, records
    the JSON body of every later one."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _provider(url: str, project: str, batch: bool = False) -> TracerProvider:
    """Spans exported one by one, or (``batch``) all together on ``shutdown``."""
    provider = TracerProvider(resource=Resource.create({A.PROJECT: project}))
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000)
                                if batch else SimpleSpanProcessor(exporter))
    return provider


def _turn(tracer, t0: int, session: str, question, answer, tokens: tuple[int, int], cost: float,
          fail: bool = False) -> str:
    """One conversation turn: a root op (session id on it only, as an OpenTelemetry app may
    set it) holding the user's input and the answer, and the LLM call that spent the
    tokens, 30 ms in all."""
    root = tracer.start_span("chat_turn", start_time=t0, attributes={
        A.OP_KIND: "chain", A.SESSION_ID: session, A.USER_ID: "ana",
        A.INPUTS: json.dumps(question), A.OUTPUT: json.dumps(answer)})
    llm = tracer.start_span("llm-call", context=set_span_in_context(root), start_time=t0 + MS, attributes={
        A.OP_KIND: "llm", A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", A.GEN_AI_USAGE_INPUT_TOKENS: tokens[0],
        A.GEN_AI_USAGE_OUTPUT_TOKENS: tokens[1], A.COST_USD: cost})
    if fail:
        llm.set_status(Status(StatusCode.ERROR, "RateLimitError: slow down"))
    llm.end(end_time=t0 + 20 * MS)
    root.end(end_time=t0 + 30 * MS)
    return format(root.get_span_context().trace_id, "032x")


def _wait(check, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sessions_list_and_a_session_as_a_conversation(page: Page, server: ServerHandle,
                                                       artifacts_dir: Path) -> None:
    project = f"sessions-{uuid.uuid4().hex[:8]}"
    provider = _provider(server.url, project)
    tracer = provider.get_tracer("console-sessions")
    t0 = time.time_ns() - 60_000 * MS
    chat = {"messages": [{"role": "system", "content": "You are terse."},
                         {"role": "user", "content": "What is 2+2?"}]}
    completion = {"choices": [{"message": {"role": "assistant", "content": "4."}}]}
    ids = [
        _turn(tracer, t0, "conv-1", {"message": "Hi, I am Ana"}, "Hello Ana! How can I help?", (10, 5), 0.001),
        _turn(tracer, t0 + 10_000 * MS, "conv-1", chat, completion, (100, 20), 0.002),
        _turn(tracer, t0 + 20_000 * MS, "conv-1", {"message": "And 3+3?"}, None, (30, 0), 0.003, fail=True),
        _turn(tracer, t0 - 600_000 * MS, "conv-0", {"message": "Earlier"}, "Yes", (1, 1), 0.0001),
    ]
    provider.shutdown()
    _wait(lambda: len(httpx.get(f"{server.url}/api/sessions", params={"project": project}).json()["sessions"]) == 2,
          "both sessions")

    page.goto(f"{server.url}/sessions?project={project}")
    rows = page.get_by_role("table", name="Sessions").locator("tbody tr")
    expect(rows).to_have_count(2)
    first = rows.first  # the most recently active session first
    expect(first.locator("td").nth(0)).to_have_text("conv-1")
    expect(first.locator("td").nth(1)).to_have_text("ana")
    expect(first.locator("td").nth(2)).to_have_text("3")
    expect(first.locator("td").nth(3)).to_have_text("165")  # every span of the 3 traces
    expect(first.locator("td").nth(4)).to_have_text("$0.0060")
    expect(first.locator("td").nth(5)).to_have_text("1")
    expect(rows.nth(1).locator("td").nth(0)).to_have_text("conv-0")

    first.get_by_role("link", name="conv-1").click()
    expect(page).to_have_url(re.compile(rf"/sessions/conv-1\?project={project}$"))
    expect(page.get_by_test_id("session-turns")).to_have_text("3")
    expect(page.get_by_test_id("session-tokens")).to_have_text("165")
    expect(page.get_by_test_id("session-cost")).to_have_text("$0.0060")
    turns = page.get_by_role("list", name="Conversation").locator("li.turn")
    expect(turns).to_have_count(3)
    # In time order: user input, then the answer, with that turn's usage and latency.
    expect(turns.nth(0).locator("[data-role=user]")).to_contain_text("Hi, I am Ana")
    expect(turns.nth(0).locator("[data-role=assistant]")).to_contain_text("Hello Ana! How can I help?")
    expect(turns.nth(0).get_by_test_id("turn-usage")).to_have_text("15 tok · $0.0010 · 30 ms")
    # A chat request shows its new user message; a completion its assistant message.
    expect(turns.nth(1).locator("[data-role=user]")).to_contain_text("What is 2+2?")
    expect(turns.nth(1).locator("[data-role=user]")).not_to_contain_text("You are terse.")
    expect(turns.nth(1).locator("[data-role=assistant]")).to_have_text(re.compile(r"assistant\s*4\.$"))
    expect(turns.nth(1).get_by_test_id("turn-usage")).to_have_text("120 tok · $0.0020 · 30 ms")
    expect(turns.nth(2).locator("[data-role=assistant]")).to_have_text(
        re.compile(r"^assistant\s*RateLimitError: slow down$"))
    expect(turns.nth(2)).to_contain_text("error")
    page.screenshot(path=str(artifacts_dir / "console-session.png"), full_page=True)

    # Each turn links to its trace; the trace's session links back to the conversation.
    turns.nth(1).get_by_role("link", name="trace →").click()
    expect(page).to_have_url(re.compile(rf"/traces/{ids[1]}"))
    expect(page.get_by_role("treeitem")).to_have_count(2)
    page.get_by_test_id("trace-session").get_by_role("link", name="conv-1").click()
    expect(page).to_have_url(re.compile(r"/sessions/conv-1\?project="))
    expect(turns).to_have_count(3)
    page.go_back()
    page.get_by_role("treeitem").first.click()
    page.locator(".span-detail").get_by_role("link", name="conv-1").click()
    expect(page).to_have_url(re.compile(r"/sessions/conv-1\?project="))
    expect(turns).to_have_count(3)

    # The trace list's session cell opens the conversation too.
    page.goto(f"{server.url}/traces?project={project}&session_id=conv-0")
    trace_rows = page.locator("table.traces-table tbody tr")
    expect(trace_rows).to_have_count(1)
    trace_rows.first.get_by_title("This session as a conversation").click()
    expect(page).to_have_url(re.compile(r"/sessions/conv-0\?project="))
    expect(turns).to_have_count(1)
    expect(turns.first.locator("[data-role=user]")).to_contain_text("Earlier")


def test_time_to_first_token_on_the_monitoring_dashboard(page: Page, server: ServerHandle) -> None:
    project = f"ttft-{uuid.uuid4().hex[:8]}"
    provider = _provider(server.url, project)
    tracer = provider.get_tracer("console-ttft")
    t0 = time.time_ns() - 120_000 * MS
    for i in range(1, 11):  # ten streamed calls, TTFT 100 .. 1000 ms; one call not streamed
        attrs = {A.OP_KIND: "llm", A.GEN_AI_REQUEST_MODEL: "m", A.GEN_AI_USAGE_INPUT_TOKENS: 5,
                 A.TIME_TO_FIRST_TOKEN_MS: 100.0 * i}
        span = tracer.start_span("stream", start_time=t0 + i * 1000 * MS, attributes=attrs)
        span.end(end_time=t0 + i * 1000 * MS + 1200 * MS)
    tracer.start_span("plain", start_time=t0, attributes={
        A.OP_KIND: "llm", A.GEN_AI_REQUEST_MODEL: "plain-model"}).end(end_time=t0 + MS)
    provider.shutdown()
    api = _wait(lambda: (b := httpx.get(f"{server.url}/api/console/ttft",
                                        params={"project": project, "since": "-1h"}).json())["totals"]["count"] == 10 and b,
                "the TTFT series")
    p50, p95 = api["totals"]["p50_ms"], api["totals"]["p95_ms"]
    assert p50 == pytest.approx(550, abs=50) and p95 == pytest.approx(955, abs=50)

    page.goto(f"{server.url}/monitoring?project={project}&range=1h")
    cards = page.get_by_label("Totals")
    p50_card = cards.locator(".card[data-metric='TTFT p50']")
    expect(p50_card.locator(".value")).to_have_text(f"{p50:.0f} ms")
    expect(cards.locator(".card[data-metric='TTFT p95'] .value")).to_have_text(f"{p95:.0f} ms")
    chart = page.locator("figure[data-chart='Time to first token (streamed LLM calls)']")
    expect(chart.locator(".chart-host")).to_be_visible()
    expect(chart.locator(".u-legend")).to_contain_text("p50")
    expect(chart.locator(".u-legend")).to_contain_text("p95")
    # The model filter narrows the series: the other model's call was not streamed.
    page.goto(f"{server.url}/monitoring?project={project}&range=1h&model=plain-model")
    expect(page.locator(".card[data-metric='Spans'] .value")).to_have_text("1")
    expect(page.locator("figure[data-chart='Time to first token (streamed LLM calls)']")).to_contain_text(
        "No data in this range")
    expect(page.locator(".card[data-metric='TTFT p50']")).to_have_count(0)


def test_comparison_shows_the_baseline_output_beside_the_current(page: Page, seeded: SeededProject) -> None:
    project = seeded.evals_project
    page.goto(seeded.url(f"/evals/compare?a={seeded.evals.baseline_run}&b={seeded.evals.current_run}", project))
    table = page.locator("table.changed-rows")
    expect(table.locator("thead")).to_contain_text("Output A (baseline)")
    expect(table.locator("thead")).to_contain_text("Output B (current)")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(7)
    first = rows.first  # row 0 flipped pass -> fail: Paris became a non-answer
    expect(first.locator("td.row-inputs")).to_contain_text('"question":"capital of France"')
    expect(first.locator("td.output-a")).to_have_text("Paris")
    expect(first.locator("td.output-b")).to_have_text("I am not sure.")
    # Every flipped row shows the baseline's right answer beside the current non-answer.
    expected = {"Paris", "Madrid", "Nairobi", "Lima", "Cairo", "Santiago", "Oslo"}
    assert set(rows.locator("td.output-a").all_inner_texts()) == expected
    assert set(rows.locator("td.output-b").all_inner_texts()) == {"I am not sure."}
    # Unchanged rows too, on request: the same answer on both sides.
    page.get_by_label("Show unchanged rows too").check()
    expect(rows).to_have_count(10)
    tokyo = rows.filter(has_text="capital of Japan")
    expect(tokyo.locator("td.output-a")).to_have_text("Tokyo")
    expect(tokyo.locator("td.output-b")).to_have_text("Tokyo")


def test_an_alert_made_in_the_console_fires_and_notifies_the_webhook(page: Page, server: ServerHandle) -> None:
    receiver = Receiver(fail_first=1)  # the first delivery fails: the collector retries
    try:
        project = f"alert-hook-{uuid.uuid4().hex[:8]}"
        provider = _provider(server.url, project)
        tracer = provider.get_tracer("console-alert-hook")
        now = time.time_ns()
        _turn(tracer, now, "s", {"message": "hi"}, "hello", (1, 1), 0.0)  # the project exists
        provider.shutdown()
        page.goto(f"{server.url}/alerts?project={project}")
        expect(page.get_by_text("No alert rules in this project yet")).to_be_visible()
        form = page.get_by_role("form", name="Create alert")
        form.get_by_label("Alert name").fill("Too many errors")
        form.get_by_label("Series").select_option("error_rate")
        form.get_by_label("Threshold").fill("0.2")
        form.get_by_label("Window seconds").fill("120")
        form.get_by_label("Webhook URL").fill(receiver.url)
        form.get_by_label("Payload").select_option("json")
        form.get_by_role("button", name="Create alert").click()
        table = page.get_by_role("table", name="Alert rules")
        expect(table.locator("tbody tr")).to_have_count(1)
        expect(table).to_contain_text("error_rate over 120s above 0.2")
        expect(table.locator("tbody tr td").nth(4)).to_have_text("json")
        rule = httpx.get(f"{server.url}/api/alerts", params={"project": project}).json()["alerts"][0]
        assert (rule["webhook_url"], rule["webhook_format"], rule["threshold"]) == (receiver.url, "json", 0.2)

        # Two failing turns in one export: 2 of the 6 spans in the window failed, a rate of 1/3.
        provider = _provider(server.url, project, batch=True)
        tracer = provider.get_tracer("console-alert-hook")
        for k in range(2):
            _turn(tracer, time.time_ns() + k * MS, "s", {"message": "again"}, None, (1, 0), 0.0, fail=True)
        provider.shutdown()
        events = _wait(lambda: httpx.get(f"{server.url}/api/alerts/{rule['id']}/history").json()["events"],
                       "the alert to fire")
        _wait(lambda: receiver.bodies, "the webhook delivery")
        [body] = receiver.bodies
        assert (body["event"], body["alert"]["name"], body["alert"]["project"]) == ("fired", "Too many errors", project)
        # 1/3 when the collector stores the export at once (the usual case): never below 0.2.
        value = events[0]["value"]
        assert body["value"] == pytest.approx(value) and 0.2 < value <= 0.5
        assert events[0]["notification"] == "sent" and events[0]["attempts"] == 2

        page.get_by_role("button", name="Refresh").first.click()
        expect(table.locator("tbody tr td").nth(2)).to_have_text("firing")
        table.get_by_role("link", name="Too many errors").click()
        history = page.get_by_role("table", name="Alert history").locator("tbody tr")
        expect(history).to_have_count(1)
        cells = history.first.locator("td")
        expect(cells.nth(1)).to_have_text("fired")
        expect(cells.nth(2)).to_have_text(f"{value:.3f}")
        expect(cells.nth(3)).to_have_text("sent (2 tries): HTTP 200")
    finally:
        receiver.server.shutdown()


def test_cost_and_tokens_by_user_on_the_dashboard(page: Page, server: ServerHandle) -> None:
    """Break down by user: the charts and a table of each user's traces, tokens and cost,
    most expensive first, equal to /api/stats?group_by=user_id; a user links to their traces."""
    project = f"per-user-{uuid.uuid4().hex[:8]}"
    provider = _provider(server.url, project, batch=True)
    tracer = provider.get_tracer("per-user")
    t0 = time.time_ns() - 10 * 60 * 10**9
    spent = {"ana": (2, 0.004), "bo": (1, 0.010), "cy": (3, 0.0005)}  # user: (turns, cost each)
    for user, (turns, cost) in spent.items():
        for i in range(turns):
            root = tracer.start_span("ask", start_time=t0 + i * MS, attributes={
                A.OP_KIND: "chain", A.USER_ID: user})
            llm = tracer.start_span("llm-call", context=set_span_in_context(root),
                                    start_time=t0 + i * MS + MS, attributes={
                A.OP_KIND: "llm", A.USER_ID: user, A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                A.GEN_AI_USAGE_INPUT_TOKENS: 100, A.GEN_AI_USAGE_OUTPUT_TOKENS: 20, A.COST_USD: cost})
            llm.end(end_time=t0 + i * MS + 5 * MS)
            root.end(end_time=t0 + i * MS + 6 * MS)
    provider.shutdown()
    api = _wait(lambda: (lambda b: b if len(b["series"]) == 3 else None)(httpx.get(
        f"{server.url}/api/stats", params={"project": project, "since": "-1h",
                                           "group_by": "user_id"}).json()), "per-user stats")
    by_user = {s["group"]: s["totals"] for s in api["series"]}
    assert by_user["bo"]["cost_usd"] == pytest.approx(0.010)

    page.goto(f"{server.url}/monitoring?project={project}&since=-1h&group_by=user_id")
    table = page.get_by_role("table", name="Totals by user")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    # Most expensive first: bo ($0.010), ana (2 × $0.004), cy (3 × $0.0005).
    expect(rows.locator("td:first-child")).to_have_text(["bo", "ana", "cy"])
    expect(rows.nth(1)).to_contain_text("240")  # ana: 2 × 120 tokens
    expect(rows.nth(1)).to_contain_text("$0.0080")
    expect(rows.nth(2).locator("td").nth(1)).to_have_text("3")  # cy's traces
    expect(page.get_by_text("Cost by user")).to_be_visible()
    rows.nth(0).get_by_role("link", name="bo").click()
    expect(page).to_have_url(re.compile(r"/traces\?.*user_id=bo"))
    expect(page.locator("table.traces-table tbody tr")).to_have_count(1)
