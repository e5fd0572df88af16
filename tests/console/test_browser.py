"""The console in Debian's chromium against the real collector with real stored data."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerHandle
from tests.console.otel_seed import seed_many, seed_wide_trace
from tests.console.seeded_project import SeededProject

pytestmark = pytest.mark.browser


def shot(page: Page, artifacts_dir: Path, name: str, full_page: bool = True) -> None:
    """Save a screenshot of the view to test-artifacts/ (docs/images holds curated copies)."""
    page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=full_page)


def trace_rows(page: Page):
    return page.locator("table.traces-table tbody tr")


def set_text_filter(page: Page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def test_trace_list_filters_narrow_the_table(page: Page, seeded: SeededProject, artifacts_dir: Path) -> None:
    page.goto(seeded.url("/traces"))
    rows = trace_rows(page)
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("answer_question")
    shot(page, artifacts_dir, "console-traces")

    set_text_filter(page, "Model", "gpt-4o")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("bob")
    assert "model=gpt-4o" in page.url

    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(4)

    # A value in the table filters by itself when clicked.
    rows.filter(has_text="carol").get_by_role("button", name="carol").click()
    expect(rows).to_have_count(1)
    assert "user_id=carol" in page.url
    page.get_by_role("button", name="Clear filters").click()
    expect(rows).to_have_count(4)

    page.get_by_label("Status", exact=True).select_option("error")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("alice")
    expect(rows.first).to_contain_text("beta")
    page.get_by_label("Status", exact=True).select_option("")

    set_text_filter(page, "User", "alice")
    expect(rows).to_have_count(2)
    page.get_by_label("Kind", exact=True).select_option("guardrail")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("geo")

    # The filters live in the URL: opening it afresh shows the same narrowed table.
    shared = page.url
    assert "user_id=alice" in shared and "kind=guardrail" in shared
    page.goto(shared)
    expect(trace_rows(page)).to_have_count(1)
    expect(page.get_by_label("User", exact=True)).to_have_value("alice")

    # A custom range (defaults to the preset it replaces) keeps every trace of the last day.
    page.goto(seeded.url("/traces"))
    page.get_by_label("Time range").select_option("custom")
    expect(page.get_by_label("From", exact=True)).to_be_visible()
    assert "range=custom" in page.url and "since=" in page.url
    expect(trace_rows(page)).to_have_count(4)

    page.goto(seeded.url("/traces?q=atlantis&tag=beta"))
    expect(trace_rows(page)).to_have_count(1)
    page.goto(seeded.url("/traces?q=no-such-text-anywhere"))
    expect(page.get_by_text("No traces match")).to_be_visible()


def test_trace_tree_chat_error_and_keyboard(page: Page, seeded: SeededProject, artifacts_dir: Path) -> None:
    trace_id = seeded.traces.traces["weather"]
    page.goto(seeded.url(f"/traces/{trace_id}"))
    items = page.get_by_role("treeitem")
    expect(items).to_have_count(4)
    expect(page.get_by_role("tree")).to_contain_text("retrieve_docs")

    # The LLM span's messages render as a conversation with roles.
    items.filter(has_text="chat gpt").click()
    chat = page.locator(".span-detail .chat")
    expect(chat.first.locator(".msg.role-system")).to_contain_text("concise assistant")
    expect(chat.first.locator(".msg.role-user")).to_contain_text("What's the weather in Atlantis?")
    expect(chat.nth(1).locator(".msg.role-assistant")).to_contain_text("I could not find it.")
    expect(page.locator(".span-detail .facts")).to_contain_text("gpt-4o-mini")
    expect(page.locator(".span-detail .facts")).to_contain_text("90 in")
    shot(page, artifacts_dir, "console-trace")

    expect(page.locator(".span-detail .facts")).to_contain_text("Starts at+42 ms")

    # The failing tool shows its error and the exception's stack.
    items.filter(has_text="lookup_weather").click()
    error = page.locator(".span-detail .error-box")
    expect(error).to_contain_text("LookupError")
    expect(error).to_contain_text("Traceback")

    # Keyboard: arrows move the selection, Enter folds a subtree.
    root = items.first
    root.click()
    expect(root).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_have_attribute("aria-selected", "true")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(items.nth(3)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowLeft")  # a leaf: go to its parent
    expect(root).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(items).to_have_count(1)
    expect(root).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowRight")
    expect(items).to_have_count(4)
    assert re.search(r"span=[0-9a-f]{16}", page.url)

    # The root's user links to that user's traces.
    page.locator(".span-detail .facts").get_by_role("link", name="alice").click()
    expect(page).to_have_url(re.compile(r"/traces\?.*user_id=alice"))
    expect(trace_rows(page)).to_have_count(2)


def test_conversation_with_tool_calls_and_long_text(page: Page, seeded: SeededProject) -> None:
    page.goto(seeded.url(f"/traces/{seeded.traces.traces['rome']}"))
    page.get_by_role("treeitem").filter(has_text="chat gpt").click()
    chat = page.locator(".span-detail .chat").first
    messages = chat.locator(".msg")
    expect(messages).to_have_count(6)
    expect(messages.nth(1)).to_contain_text("Which countries border Italy?")  # content blocks
    call = messages.nth(2).locator(".tool-call")  # a tool call, with its parsed arguments
    expect(call).to_contain_text("calls get_neighbours")
    expect(call).to_contain_text('"country": "Italy"')
    expect(messages.nth(3)).to_have_class(re.compile("role-tool"))
    expect(messages.nth(3)).to_contain_text("Slovenia")
    # A long message is folded until asked for.
    long_msg = messages.nth(4)
    expect(long_msg).not_to_contain_text("It also surrounds San Marino. " * 40)
    long_msg.get_by_role("button", name=re.compile("Show all")).click()
    expect(long_msg).to_contain_text("It also surrounds San Marino. " * 40)
    # The raw JSON is one click away, with a copy button.
    page.locator(".span-detail").get_by_role("button", name="Show JSON").first.click()
    raw = page.locator(".span-detail .json-view").first
    expect(raw.get_by_role("button", name="Copy")).to_be_visible()
    raw.get_by_role("button", name=re.compile("Show all")).click()
    expect(raw).to_contain_text('"tool_call_id": "call_1"')


def test_adding_feedback_stores_it(page: Page, seeded: SeededProject) -> None:
    trace_id = seeded.traces.traces["paris"]
    page.goto(seeded.url(f"/traces/{trace_id}"))
    page.get_by_role("treeitem").filter(has_text="chat gpt").click()
    span_id = re.search(r"span=([0-9a-f]{16})", page.url).group(1)
    form = page.get_by_role("form", name="Add feedback")
    form.locator("input[name=fb-name]").fill("helpfulness")
    form.locator("input[name=fb-value]").fill("0.8")
    form.locator("input[name=fb-comment]").fill("right answer, a bit terse")
    form.get_by_role("button", name="Add feedback").click()
    expect(page.get_by_role("status").filter(has_text="Feedback saved.")).to_be_visible()
    expect(page.locator(".feedback-list")).to_contain_text("right answer, a bit terse")

    stored = httpx.get(f"{seeded.server.url}/api/feedback",
                       params={"trace_id": trace_id, "span_id": span_id}).json()["feedback"]
    mine = [f for f in stored if f["name"] == "helpfulness"]
    assert len(mine) == 1
    assert mine[0]["value"] == 0.8
    assert mine[0]["source"] == "human"
    assert mine[0]["comment"] == "right answer, a bit terse"
    assert mine[0]["project"] == seeded.name

    # A bad value is refused with the server's own message, not swallowed.
    form.locator("input[name=fb-name]").fill("")
    form.locator("input[name=fb-value]").fill("1")
    form.get_by_role("button", name="Add feedback").click()
    expect(page.locator(".feedback-form ~ .error-banner, .span-detail .error-banner")).to_contain_text("name")


def test_dashboard_draws_charts_with_the_api_totals(page: Page, seeded: SeededProject, artifacts_dir: Path) -> None:
    page.goto(seeded.url("/monitoring?range=24h"))
    expect(page.locator(".card[data-metric=Spans]")).to_be_visible()
    expect(page.locator("figure.chart canvas")).to_have_count(8)
    api = httpx.get(f"{seeded.server.url}/api/stats",
                    params={"project": seeded.name, "since": "-24h"}).json()["totals"]
    guard = httpx.get(f"{seeded.server.url}/api/console/guardrails",
                      params={"project": seeded.name, "since": "-24h"}).json()

    def card(metric: str) -> float:
        return float(page.locator(f".card[data-metric='{metric}']").get_attribute("data-value"))

    assert card("Spans") == api["count"] == 15
    assert card("Traces") == api["traces"] == 4
    assert card("Errors") == api["errors"]
    assert card("Tokens") == api["total_tokens"]
    assert card("Cost") == pytest.approx(api["cost_usd"])
    assert card("p95 latency") == pytest.approx(api["p95_ms"])
    expect(page.locator(".card[data-metric=Spans] .value")).to_have_text("15")

    table = page.locator(".guardrail-table")
    expect(table).to_contain_text("pii_guardrail")
    assert guard["totals"] == {"name": "", "checks": 2, "passed": 1, "failed": 1}
    expect(table.locator("tbody tr").first.locator("td").nth(3)).to_have_text("1")
    expect(page.locator("figure[data-chart='Guardrail verdicts'] .u-legend")).to_contain_text("blocked")
    expect(page.locator("[data-top='Most expensive ops']")).to_contain_text("chat gpt")
    expect(page.locator("figure[data-chart='Monitor scores (mean)'] .u-legend")).to_contain_text("toxicity")
    shot(page, artifacts_dir, "console-monitoring")

    # A kind filter narrows every span chart, still computed by the server.
    page.get_by_label("Kind", exact=True).select_option("llm")
    llm = httpx.get(f"{seeded.server.url}/api/stats",
                    params={"project": seeded.name, "since": "-24h", "kind": "llm"}).json()["totals"]
    expect(page.locator(".card[data-metric=Spans]")).to_have_attribute("data-value", str(llm["count"]))
    assert llm["count"] == 4
    expect(page.locator(".card[data-metric=p50\\ latency]")).to_have_attribute(
        "data-value", re.compile(r"^600(\\.0+)?$"))
    page.get_by_label("Kind", exact=True).select_option("")

    page.get_by_label("Live refresh").check()
    assert "live=1" in page.url
    page.get_by_label("Break down by").select_option("model")
    expect(page.locator("figure[data-chart='Spans by model']")).to_be_visible()
    expect(page.locator("figure[data-chart='Spans by model'] .u-legend")).to_contain_text("gpt-4o-mini")
    assert "group_by=model" in page.url


def test_eval_comparison_marks_the_regression(page: Page, seeded: SeededProject, artifacts_dir: Path) -> None:
    project = seeded.evals_project
    page.goto(seeded.url("/evals", project))
    runs = page.locator("table.runs-table tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.first).to_contain_text("regressed")
    # Each scorer's adjusted verdict next to its mean, and why the run failed the gate.
    expect(runs.first.locator("td[data-scorer=exact_match] .scorer-verdict")).to_have_attribute(
        "data-verdict", "regressed")
    expect(runs.first.locator(".gate-failure")).to_contain_text("answer_length regressed")
    expect(runs.nth(1)).to_contain_text("90.0%")
    shot(page, artifacts_dir, "console-evals")

    # A run's page: its scorer summaries and every row with its scores and trace.
    runs.first.get_by_role("link", name=seeded.evals.current_run[:12]).click()
    rows = page.locator("table.run-rows tbody tr")
    expect(rows).to_have_count(10)
    expect(page.locator(".card[data-scorer=exact_match]")).to_contain_text("20.0%")
    expect(rows.locator("td.error-text")).to_have_count(8)  # exact_match failed on 8 rows
    expect(rows.first.get_by_role("link", name="trace")).to_have_attribute("href", re.compile(r"/traces/[0-9a-f]{32}"))
    shot(page, artifacts_dir, "console-run")
    page.go_back()
    expect(runs).to_have_count(2)
    for run in (seeded.evals.baseline_run, seeded.evals.current_run):
        page.get_by_label(f"Select run {run}").check()
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(rf"/evals/compare\?a={seeded.evals.baseline_run}&b={seeded.evals.current_run}"))

    expect(page.locator(".overall-verdict")).to_have_attribute("data-verdict", "regressed")
    exact = page.locator("table.deltas tr[data-scorer=exact_match]")
    expect(exact).to_have_attribute("data-verdict", "regressed")
    expect(exact).to_contain_text("-0.700")
    expect(page.locator("table.deltas tr[data-scorer=task_success]")).to_have_attribute("data-verdict", "unchanged")
    # The gate's reasons first, and the Holm-adjusted p next to the raw one.
    expect(page.locator(".gate-failures")).to_contain_text("exact_match regressed")
    expect(exact.locator("td.p-adjusted")).to_have_text(re.compile(r"^(<0\.001|0\.\d{3})$"))

    api = httpx.get(f"{seeded.server.url}/api/evals/compare",
                    params={"a": seeded.evals.baseline_run, "b": seeded.evals.current_run}).json()
    flipped = [r for r in api["rows"] if "pass->fail" in r["flips"].values()]
    changed = page.locator("table.changed-rows tbody tr")
    expect(changed).to_have_count(len(flipped))
    expect(changed.first).to_have_attribute("data-flip", "pass->fail")
    expect(changed.first).to_contain_text("exact_match: pass → fail")
    shot(page, artifacts_dir, "console-compare")

    # The project switcher: this project has no runs; the other one has them.
    page.goto(seeded.url("/evals", project))
    page.get_by_label("Project", exact=True).select_option(seeded.name)
    expect(page).to_have_url(re.compile(rf"/evals\?project={seeded.name}$"))
    expect(page.get_by_text("No evaluation runs yet")).to_be_visible()
    page.go_back()
    expect(runs).to_have_count(2)
    page.goto(seeded.url(f"/evals/compare?a={seeded.evals.baseline_run}&b={seeded.evals.current_run}", project))

    # Each changed row links to its traces.
    changed.first.get_by_role("link", name="B trace").click()
    expect(page).to_have_url(re.compile(r"/traces/[0-9a-f]{32}"))
    expect(page.get_by_role("treeitem")).to_have_count(1)
    expect(page.locator(".span-detail")).to_contain_text("I am not sure.")


def test_datasets_versions_rows_and_diff(page: Page, seeded: SeededProject, artifacts_dir: Path) -> None:
    project = seeded.evals_project
    page.goto(seeded.url("/datasets", project))
    page.get_by_role("link", name=re.compile(seeded.evals.dataset)).click()
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("fix Tokyo, add Ghana")
    expect(page.locator("table.dataset-rows tbody tr")).to_have_count(10)
    expect(page.locator("table.dataset-rows")).to_contain_text("Accra")
    page.get_by_label("Diff from v1").check()
    page.get_by_label("Diff to v2").check()
    diff = page.locator(".dataset-diff")
    expect(diff).to_contain_text("1 added")
    expect(diff).to_contain_text("1 removed")
    expect(diff).to_contain_text("1 changed")
    expect(diff.locator("tr.diff-added")).to_contain_text("Ghana")
    expect(diff.locator("tr.diff-removed")).to_contain_text("Paris")
    expect(diff.locator("tr.diff-changed .field-changes")).to_have_text("answer: Tokyo → Tokyo, Japan")
    shot(page, artifacts_dir, "console-datasets")


def test_empty_project_and_api_errors_are_explained(page: Page, seeded: SeededProject) -> None:
    fresh = f"{seeded.name}-empty"
    page.goto(seeded.url("/traces", fresh))
    help_box = page.locator(".first-trace")
    expect(help_box).to_contain_text(f'tracer.init(project="{fresh}"')
    expect(help_box).to_contain_text("@op")
    # The empty page watches for the first trace: elsewhere it links there, here it shows it.
    other = f"{seeded.name}-other"
    seed_many(seeded.server.url, other, 1)
    expect(page.locator(".other-projects").get_by_role("link", name=other)).to_be_visible(timeout=15_000)
    seed_many(seeded.server.url, fresh, 2, name="first_ever")
    expect(trace_rows(page)).to_have_count(2, timeout=15_000)
    expect(trace_rows(page).first).to_contain_text("first_ever")
    page.goto(seeded.url("/traces/not-a-trace-id"))
    expect(page.get_by_role("alert")).to_contain_text("trace_id")


def test_keyset_paging_and_live_refresh(page: Page, spyglass_server: ServerHandle) -> None:
    project = f"paging-{uuid.uuid4().hex[:8]}"
    ids = seed_many(spyglass_server.url, project, 55)
    page.goto(f"{spyglass_server.url}/traces?project={project}")
    rows = trace_rows(page)
    expect(rows).to_have_count(50)
    first_page = [r.get_attribute("data-trace-id") for r in rows.all()]
    assert first_page == list(reversed(ids))[:50]  # newest first
    page.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(5)
    second_page = [r.get_attribute("data-trace-id") for r in rows.all()]
    assert second_page == list(reversed(ids))[50:]
    expect(page.get_by_role("button", name="Older →")).to_be_disabled()
    page.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(50)

    # Live refresh picks up a trace that arrives while the page is open.
    page.get_by_label("Live refresh").check()
    assert "live=1" in page.url
    newest = seed_many(spyglass_server.url, project, 1, name="late_arrival")[0]
    expect(rows.first).to_have_attribute("data-trace-id", newest, timeout=15_000)
    expect(rows.first).to_contain_text("late_arrival")


def test_a_wide_trace_draws_its_first_rows_then_all(page: Page, spyglass_server: ServerHandle) -> None:
    project = f"wide-{uuid.uuid4().hex[:8]}"
    trace_id = seed_wide_trace(spyglass_server.url, project, 1200)
    page.goto(f"{spyglass_server.url}/traces/{trace_id}?project={project}")
    items = page.get_by_role("treeitem")
    expect(items).to_have_count(1000)
    expect(page.get_by_text("Showing 1,000 of 1,201 spans.")).to_be_visible()
    items.first.click()
    page.keyboard.press("End")  # moving past the drawn rows draws up to the selection
    expect(items).to_have_count(1201)
    expect(items.last).to_have_attribute("aria-selected", "true")
    expect(items.last).to_contain_text("step_1199")
