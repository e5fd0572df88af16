"""The README's 30-second tour, sent by the real tracer (``tracer.init`` + ``@op``) with a
real ``scorers.Guardrail`` in the request path, then found in the console: the trace, its
tree, the LLM call's conversation, model, tokens and cost, and the guardrail's verdicts on
the dashboard."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import REPO_ROOT, ServerHandle

pytestmark = pytest.mark.browser

TOUR = '''
import sys
import tracer
from tracer import op
from scorers import Guardrail, pii

tracer.init(project=sys.argv[2], endpoint=sys.argv[1])
guard = Guardrail([pii()], on_fail="block", name="pii_guard")

@op(kind="llm")
def ask(question: str) -> dict:
    return {
        "model": "gpt-4o-mini",
        "choices": [{"message": {"role": "assistant", "content": "Paris."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }

@op(kind="llm")
def plan(question: str) -> dict:
    # An Anthropic Messages API response that asks for a tool.
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
        "content": [
            {"type": "text", "text": "Let me look that up."},
            {"type": "tool_use", "id": "toolu_1", "name": "search_atlas", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 30, "output_tokens": 9},
    }

@op
def answer(question: str) -> str:
    plan(question)
    text = ask(question)["choices"][0]["message"]["content"]
    guard.check(text)
    guard.check("call me at alice@example.com")
    return text

with tracer.attributes(user_id="tour-user", tags=["tour"]):
    answer("What is the capital of France?")
assert tracer.flush(), "flush failed"
'''


def send_tour(url: str, project: str, tmp_path: Path) -> None:
    script = tmp_path / "tour.py"
    script.write_text(TOUR)
    done = subprocess.run([sys.executable, str(script), url, project], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_readme_tour_in_the_console(page: Page, spyglass_server: ServerHandle, tmp_path: Path,
                                    artifacts_dir: Path) -> None:
    project = f"tour-{uuid.uuid4().hex[:8]}"
    send_tour(spyglass_server.url, project, tmp_path)

    # A newcomer opens "/" with nothing remembered: the trace list of the project that
    # received the latest span (the tour's) opens.
    page.goto(f"{spyglass_server.url}/healthz")
    page.evaluate("localStorage.clear()")
    page.goto(f"{spyglass_server.url}/")
    expect(page).to_have_url(f"{spyglass_server.url}/traces?project={project}")
    rows = page.locator("table.traces-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("answer")
    # The list shows one of the trace's models (the API picks any).
    expect(rows.first).to_contain_text(re.compile(r"gpt-4o-mini|claude-3-5-haiku-20241022"))
    expect(rows.first).to_contain_text("tour-user")
    rows.first.get_by_role("link").click()

    items = page.get_by_role("treeitem")
    expect(items).to_have_count(5)
    # Each guardrail check shows its verdict in the tree.
    guards = items.filter(has_text="pii_guard")
    expect(guards.nth(0)).to_contain_text("passed")
    expect(guards.nth(1)).to_contain_text("block")
    # The Anthropic response: its text and its tool call, with the call's input.
    items.filter(has_text="plan").click()
    plan_out = page.locator(".span-detail .msg.role-assistant")
    expect(plan_out).to_contain_text("Let me look that up.")
    expect(plan_out.locator(".tool-call")).to_contain_text("calls search_atlas")
    expect(plan_out.locator(".tool-call")).to_contain_text('"city": "Paris"')
    expect(page.locator(".span-detail .facts")).to_contain_text("claude-3-5-haiku-20241022")

    items.filter(has_text="ask").click()
    detail = page.locator(".span-detail")
    expect(detail.locator(".msg.role-assistant")).to_contain_text("Paris.")
    expect(detail.locator(".facts")).to_contain_text("gpt-4o-mini")
    expect(detail.locator(".facts")).to_contain_text("12 in · 2 out")
    trace_id = page.url.split("/traces/")[1].split("?")[0]
    spans = httpx.get(f"{spyglass_server.url}/api/traces/{trace_id}").json()["spans"]
    llm = next(s for s in spans if s["name"] == "ask")
    assert llm["cost_usd"] and llm["cost_usd"] > 0
    expect(detail.locator(".facts")).to_contain_text("Cost")
    shot = artifacts_dir / "console-tour-trace.png"
    page.screenshot(path=str(shot), full_page=True)

    page.goto(f"{spyglass_server.url}/monitoring?project={project}&range=1h")
    table = page.locator(".guardrail-table tbody tr")
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text("pii_guard")
    # One check passed ("Paris."), one failed (an e-mail address).
    expect(table.first.locator("td").nth(1)).to_have_text("2")
    expect(table.first.locator("td").nth(2)).to_have_text("1")
    expect(table.first.locator("td").nth(3)).to_have_text("1")
