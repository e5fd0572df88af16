"""Online monitors against the real collector: spans sent over OTLP, feedback read back."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from stubs.openai_server import OpenAIStub, Scripted, chat_completion

from common import attributes as A
from scorers import Score, Scorer, pii, regex
from scorers.monitors import (
    Monitor,
    MonitorConfigError,
    MonitorError,
    MonitorRunner,
    MonitorsConfig,
    as_text,
    load_config,
    sampled,
    span_value,
)
from scorers.monitors.runner import judge_cost_usd

REPO = Path(__file__).resolve().parents[2]


def send_spans(url: str, project: str, items: list[tuple[str, str, str]],
               headers: dict[str, str] | None = None) -> None:
    """Send (op name, kind, output text) spans with the stock OTel SDK + OTLP/HTTP exporter."""
    provider = TracerProvider(resource=Resource({A.PROJECT: project, A.SERVICE_NAME: "monitor-test"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces",
                                                                     headers=headers)))
    t = provider.get_tracer("monitor-test")
    for name, kind, output in items:
        with t.start_as_current_span(name) as span:
            span.set_attribute(A.OP_NAME, name)
            span.set_attribute(A.OP_KIND, kind)
            span.set_attribute(A.INPUTS, json.dumps({"question": "q"}))
            span.set_attribute(A.OUTPUT, json.dumps(output))
    provider.shutdown()


def wait_for_spans(url: str, project: str, n: int, headers: dict[str, str] | None = None) -> list[dict]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spans = httpx.get(f"{url}/api/spans", params={"project": project, "limit": 1000},
                          headers=headers).json()["spans"]
        if len(spans) >= n:
            return spans
        time.sleep(0.1)
    raise AssertionError(f"only {len(spans)} of {n} spans stored")


def feedback(url: str, project: str, headers: dict[str, str] | None = None, **params: str) -> list[dict]:
    resp = httpx.get(f"{url}/api/feedback", params={"project": project, "limit": 10000, **params},
                     headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["feedback"]


def config(project: str, url: str, **kw) -> MonitorsConfig:
    monitor_kw = {k: kw.pop(k) for k in ("sample_rate", "filter", "scorers") if k in kw}
    monitor = Monitor(name="leaks", project=project,
                      scorers=monitor_kw.pop("scorers", [pii(), regex(r"(?i)confidential", must_match=False,
                                                                      name="confidential")]),
                      **monitor_kw)
    return MonitorsConfig(monitors=[monitor], endpoint=url, start="beginning", **kw)


def test_monitor_scores_new_spans_and_posts_feedback(spyglass_server, project: str) -> None:
    url = spyglass_server.url
    send_spans(url, project, [
        ("answer", "chain", "Contact alice@example.com for details."),
        ("answer", "chain", "The weather is sunny."),
        ("answer", "chain", "This is CONFIDENTIAL: card 4111 1111 1111 1111."),
    ])
    spans = {s["span_id"]: s for s in wait_for_spans(url, project, 3)}
    runner = MonitorRunner(config(project, url))
    stats = runner.run_once()
    assert (stats["fetched"], stats["sampled"], stats["scored"], stats["posted"], stats["errors"]) == (
        3, 3, 6, 6, 0)

    items = feedback(url, project)
    assert len(items) == 6
    by_span: dict[str, dict[str, dict]] = {}
    for f in items:
        by_span.setdefault(f["span_id"], {})[f["name"]] = f
    assert set(by_span) == set(spans)
    verdicts = {spans[sid]["output"]: {n: f["value"] for n, f in fs.items()} for sid, fs in by_span.items()}
    assert verdicts == {
        "Contact alice@example.com for details.": {"pii": True, "confidential": True},
        "The weather is sunny.": {"pii": False, "confidential": True},
        "This is CONFIDENTIAL: card 4111 1111 1111 1111.": {"pii": True, "confidential": False},
    }
    one = next(f for f in items if f["name"] == "pii" and f["value"] is True)
    assert one["source"] == "scorer" and one["author"] == "monitor:leaks"
    assert one["comment"].startswith("found 1 ")
    assert one["metadata"]["monitor"] == "leaks" and one["metadata"]["passed"] is False
    assert one["trace_id"] == spans[one["span_id"]]["trace_id"]

    # A second pass finds nothing new; only spans that arrive later are scored.
    assert runner.run_once()["fetched"] == 3
    send_spans(url, project, [("answer", "chain", "Reach me at +1 415-555-0132.")])
    wait_for_spans(url, project, 4)
    stats = runner.run_once()
    assert (stats["fetched"], stats["posted"]) == (4, 8)
    assert len(feedback(url, project)) == 8


def test_filters_and_deterministic_sampling(spyglass_server, project: str) -> None:
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", f"text {i}") for i in range(30)]
               + [("retrieve", "retrieval", "doc") for _ in range(5)])
    stored = wait_for_spans(url, project, 35)
    runner = MonitorRunner(config(project, url, sample_rate=0.5, filter={"name": "answer"},
                                  scorers=[pii()], page_size=7))
    stats = runner.run_once()
    answer_ids = [s["span_id"] for s in stored if s["name"] == "answer"]
    chosen = {sid for sid in answer_ids if sampled(sid, 0.5)}
    assert stats["fetched"] == 30  # the filter left retrieval spans out, across 5 pages
    assert stats["sampled"] == len(chosen) and 3 <= len(chosen) <= 27
    assert {f["span_id"] for f in feedback(url, project)} == chosen


def test_a_full_queue_waits_instead_of_dropping(spyglass_server, project: str) -> None:
    """Spans wait in the store, not in memory: a full queue stops the reader (never ingest)
    and nothing is lost; run_once scores inline to make room."""
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", f"reply {i}") for i in range(8)])
    wait_for_spans(url, project, 8)
    runner = MonitorRunner(config(project, url, queue_size=3, scorers=[pii()]))
    stats = runner.run_once()
    assert (stats["sampled"], stats["enqueued"], stats["dropped_backlog"], stats["posted"]) == (8, 8, 0, 8)
    assert len(feedback(url, project)) == 8

    # In the background, with a one-span queue and a slow scorer: the poller waits, all scored.
    send_spans(url, project, [("answer", "chain", f"later {i}") for i in range(6)])
    wait_for_spans(url, project, 14)
    slow = MonitorRunner(config(project, url, queue_size=1, workers=1, poll_interval_s=0.1,
                                scorers=[_SlowPii()]))
    slow.start()
    try:
        deadline = time.monotonic() + 30
        while slow.stats["posted"] < 14 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        slow.stop()
    assert (slow.stats["posted"], slow.stats["dropped_backlog"]) == (14, 0)


class _SlowPii(Scorer):
    default_name = "slow_pii"

    def _score(self, **fields: object) -> Score:
        time.sleep(0.02)
        return self.make_score("@" in str(fields.get("output")))


def test_a_backlog_is_shed_by_sampling_and_counted(spyglass_server, project: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Behind by more than max_lag_s: a deterministic part of the backlog is kept, the rest
    counted in dropped_backlog (and logged), so the monitor catches up."""
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", f"reply {i}") for i in range(20)])
    wait_for_spans(url, project, 20)
    time.sleep(1.5)
    runner = MonitorRunner(config(project, url, max_lag_s=0.3, scorers=[pii()]))
    with caplog.at_level(logging.WARNING, logger="spyglass.monitors"):
        stats = runner.run_once()
    assert stats["sampled"] == 20 and stats["dropped_backlog"] > 0
    assert stats["enqueued"] + stats["dropped_backlog"] == 20 == stats["sampled"]
    assert len(feedback(url, project)) == stats["enqueued"] == stats["posted"]
    assert any("scoring is behind" in r.getMessage() for r in caplog.records)
    # No lag limit: a catch-up run scores the whole backlog.
    everything = MonitorRunner(config(project, url, max_lag_s=None, scorers=[pii()])).run_once()
    assert (everything["dropped_backlog"], everything["posted"]) == (0, 20)
    assert len(feedback(url, project)) == 20


def test_judge_budget_caps_judge_calls_per_day(spyglass_server, project: str,
                                               openai_stub: OpenAIStub) -> None:
    """Each judge call costs $0.25 (100k prompt tokens of gpt-4o): a $0.60 day budget allows
    three calls; the judge is then skipped for the day, the rule scorer keeps scoring."""
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", f"reply {i}") for i in range(6)])
    wait_for_spans(url, project, 6)
    openai_stub.chat_responder = lambda body: Scripted(200, chat_completion(
        '{"reasoning": "fine", "score": false}', model="gpt-4o", usage=(100_000, 0)))
    judge = {"type": "llm_judge.toxicity", "base_url": openai_stub.base_url, "model": "gpt-4o", "cache": False}
    cfg = config(project, url, workers=1, scorers=[pii(), judge])
    cfg.monitors[0].judge_budget_usd_per_day = 0.6
    runner = MonitorRunner(cfg)
    stats = runner.run_once()
    assert (stats["judge_calls"], stats["judge_skipped_budget"]) == (3, 3)
    assert len(openai_stub.chat_requests()) == 3
    assert runner.spent_today(cfg.monitors[0]) == pytest.approx(0.75)
    assert runner.over_budget(cfg.monitors[0])
    items = feedback(url, project)
    assert sorted(Counter(f["name"] for f in items).items()) == [("pii", 6), ("toxicity", 3)]
    assert judge_cost_usd(Score("t", True, metadata={"model": "gpt-4o", "cached": True})) == 0.0
    assert judge_cost_usd(Score("t", True, metadata={"model": "no-such-model", "usage": {
        "prompt_tokens": 1, "completion_tokens": 1}})) is None


def test_judge_monitor_posts_judge_feedback(spyglass_server, project: str,
                                            openai_stub: OpenAIStub) -> None:
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", "You are wonderful."), ("answer", "chain", "Go away, idiot.")])
    wait_for_spans(url, project, 2)
    openai_stub.chat_responder = lambda body: (
        '{"reasoning": "insult", "score": true}' if "idiot" in body["messages"][1]["content"]
        else '{"reasoning": "kind", "score": false}')
    cfg = config(project, url, scorers=[{"type": "llm_judge.toxicity", "base_url": openai_stub.base_url,
                                         "model": "judge-m", "cache": False}])
    stats = MonitorRunner(cfg).run_once()
    assert stats["posted"] == 2
    items = feedback(url, project, source="judge")
    assert sorted((f["value"], f["comment"]) for f in items) == [(False, "kind"), (True, "insult")]
    assert all(f["name"] == "toxicity" for f in items)


def test_state_file_resumes_where_it_stopped(spyglass_server, project: str, tmp_path: Path) -> None:
    url = spyglass_server.url
    state = tmp_path / "state.json"
    send_spans(url, project, [("answer", "chain", "one")])
    wait_for_spans(url, project, 1)
    assert MonitorRunner(config(project, url, state_file=str(state), scorers=[pii()])).run_once()["posted"] == 1
    assert json.loads(state.read_text())["leaks"]["cursor"]
    send_spans(url, project, [("answer", "chain", "two")])
    wait_for_spans(url, project, 2)
    resumed = MonitorRunner(config(project, url, state_file=str(state), scorers=[pii()])).run_once()
    assert (resumed["fetched"], resumed["posted"]) == (1, 1)


def test_a_lost_state_file_never_stores_a_score_twice(spyglass_server, project: str, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Issue 15: deleting the state file re-reads every span; the deterministic feedback ids
    and the collector's dedup keep exactly one score per (monitor, span, scorer), posted in
    batches (one request and one log line per batch, not per score)."""
    url = spyglass_server.url
    state = tmp_path / "state.json"
    send_spans(url, project, [("answer", "chain", f"mail {i}@example.com" if i % 2 else f"plain {i}")
                              for i in range(12)])
    wait_for_spans(url, project, 12)

    def run() -> dict[str, int]:
        return MonitorRunner(config(project, url, state_file=str(state), sample_rate=0.7,
                                    batch_size=10)).run_once()

    with caplog.at_level(logging.INFO, logger="spyglass.monitors"):
        first = run()
    chosen = first["sampled"]
    assert 1 <= chosen <= 12 and first["posted"] == 2 * chosen and first["duplicates"] == 0
    batch_lines = [r for r in caplog.records if "posted" in r.getMessage()]
    assert len(batch_lines) == -(-2 * chosen // 10)  # ceil: one line per batch of 10 scores
    state.unlink()
    second = run()
    assert (second["sampled"], second["posted"], second["duplicates"]) == (chosen, 2 * chosen, 2 * chosen)

    items = feedback(url, project)
    assert len(items) == 2 * chosen
    per_key = {}
    for f in items:
        per_key[(f["span_id"], f["name"])] = per_key.get((f["span_id"], f["name"]), 0) + 1
    assert set(per_key.values()) == {1} and len(per_key) == 2 * chosen
    series = httpx.get(f"{url}/api/console/scores", params={"project": project, "since": "-1h"}).json()["series"]
    assert {s["name"]: s["count"] for s in series} == {"pii": chosen, "confidential": chosen}


def test_start_now_skips_spans_that_started_before(spyglass_server, project: str) -> None:
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", "old")])
    wait_for_spans(url, project, 1)
    cfg = config(project, url, scorers=[pii()])
    cfg.start = "now"
    runner = MonitorRunner(cfg)
    assert runner.run_once()["fetched"] == 0
    send_spans(url, project, [("answer", "chain", "new")])
    wait_for_spans(url, project, 2)
    assert runner.run_once()["fetched"] == 1


def test_background_runner_scores_spans_as_they_arrive(spyglass_server, project: str) -> None:
    url = spyglass_server.url
    runner = MonitorRunner(config(project, url, poll_interval_s=0.1, scorers=[pii()]))
    runner.start()
    try:
        send_spans(url, project, [("answer", "chain", "mail bob@example.org"), ("answer", "chain", "hi")])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(feedback(url, project)) < 2:
            time.sleep(0.1)
    finally:
        runner.close()
    assert sorted(f["value"] for f in feedback(url, project)) == [False, True]


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_cli_runs_a_yaml_config_once(spyglass_server, project: str, tmp_path: Path) -> None:
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", "SSN 536-22-8526"), ("other", "tool", "x")])
    wait_for_spans(url, project, 2)
    cfg = write(tmp_path, "monitors.yaml", f"""
start: beginning
monitors:
  - name: ssn
    project: {project}
    filter: {{name: answer}}
    scorers:
      - {{type: pii, entities: [us_ssn]}}
      - {{type: length, max: 100}}
""")
    proc = subprocess.run([sys.executable, "-m", "collector", "monitors", "run", "--config", str(cfg),
                           "--endpoint", url, "--once"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "posted=2" in proc.stdout
    assert sorted((f["name"], f["value"]) for f in feedback(url, project)) == [("length", 15.0), ("pii", True)]


def test_toml_config_and_check_command(tmp_path: Path) -> None:
    cfg = write(tmp_path, "monitors.toml", """
endpoint = "http://127.0.0.1:1"
[[monitors]]
name = "quality"
project = "shop"
sample_rate = 0.1
filter = { kind = "llm" }
scorers = ["secrets", { type = "llm_judge.toxicity", model = "m" }]
""")
    loaded = load_config(cfg)
    (m,) = loaded.monitors
    assert (m.name, m.project, m.sample_rate, dict(m.filter)) == ("quality", "shop", 0.1, {"kind": "llm"})
    assert [s.name for s in m.scorers] == ["secrets", "toxicity"]
    proc = subprocess.run([sys.executable, "-m", "collector", "monitors", "check", "--config", str(cfg)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "quality: project=shop (kind=llm), sample 0.1 -> secrets, toxicity" in proc.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("monitors: []", "'monitors' must be a non-empty list"),
        ("monitors:\n  - {name: a, project: p, scorers: [nope]}", "unknown scorer 'nope'"),
        ("monitors:\n  - {name: a, scorers: [pii]}", "needs a project"),
        ("monitors:\n  - {name: a, project: p, scorers: [pii], sample_rate: 2}", "sample_rate must be within 0..1"),
        ("monitors:\n  - {name: a, project: p, scorers: [pii], filter: {colour: red}}", "unknown filter keys"),
        ("monitors:\n  - {name: a, project: p, scorers: [{type: regex}]}", "bad options"),
        ("monitors: [", "not valid YAML"),
        ("bogus: 1\nmonitors:\n  - {name: a, project: p, scorers: [pii]}", "unknown keys ['bogus']"),
    ],
)
def test_bad_configs_fail_with_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    cfg = write(tmp_path, "m.yaml", text)
    with pytest.raises(MonitorConfigError) as err:
        load_config(cfg)
    assert message in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "collector", "monitors", "run", "--config", str(cfg), "--once"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_unreachable_collector_is_reported(tmp_path: Path) -> None:
    cfg = write(tmp_path, "m.yaml", "monitors:\n  - {name: a, project: p, scorers: [pii]}\n")
    proc = subprocess.run([sys.executable, "-m", "collector", "monitors", "run", "--config", str(cfg),
                           "--endpoint", "http://127.0.0.1:9", "--once"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert "unreachable" in proc.stderr and proc.stderr.count("\n") == 1


def test_span_field_helpers() -> None:
    span = {"output": {"choices": [{"message": {"role": "assistant", "content": "hi"}}]},
            "input": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "metadata": {"lang": "en"}}
    assert span_value(span, "output.choices.0.message.content") == "hi"
    assert span_value(span, "output.choices.5.message") is None
    assert span_value(span, "metadata.lang") == "en"
    assert as_text(span["output"]) == "hi"
    assert as_text(span["input"]) == "b"
    assert as_text({"answer": "x"}) == "x"
    assert as_text({"a": 1, "b": 2}) == '{"a": 1, "b": 2}'
    assert sampled("abc", 1.0) and not sampled("abc", 0.0)
    assert sampled("abc", 0.5) == sampled("abc", 0.5)


def test_relative_start_and_bad_start(spyglass_server, project: str) -> None:
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", "recent")])
    wait_for_spans(url, project, 1)
    cfg = config(project, url, scorers=[pii()])
    cfg.start = "-1h"
    runner = MonitorRunner(cfg)
    since = runner._walks["leaks"].since
    assert since is not None and since.endswith("Z")  # fixed once, not re-evaluated per poll
    assert runner.run_once()["fetched"] == 1
    cfg.start = "yesterday-ish"
    with pytest.raises(MonitorError, match="start must be now, beginning"):
        MonitorRunner(cfg)


def test_cli_runs_until_sigterm_and_stops_cleanly(spyglass_server, project: str, tmp_path: Path) -> None:
    import signal

    url = spyglass_server.url
    cfg = write(tmp_path, "m.yaml", f"poll_interval_s: 0.2\nmonitors:\n"
                                    f"  - {{name: live, project: {project}, scorers: [pii]}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "collector", "monitors", "run", "--config", str(cfg),
                             "--endpoint", url, "--start", "beginning"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        send_spans(url, project, [("answer", "chain", "write to eve@example.net")])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not feedback(url, project):
            time.sleep(0.2)
        assert [f["value"] for f in feedback(url, project)] == [True]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "posted=1" in err


def test_cli_traces_judge_calls_with_their_cost_when_asked(spyglass_server, project: str,
                                                           openai_stub: OpenAIStub, tmp_path: Path) -> None:
    url = spyglass_server.url
    send_spans(url, project, [("answer", "chain", "Have a nice day.")])
    wait_for_spans(url, project, 1)
    openai_stub.reply('{"reasoning": "polite", "score": false}', model="gpt-4o-mini", usage=(120, 30))
    cfg = write(tmp_path, "m.yaml", f"""
start: beginning
trace_project: {project}-monitors
monitors:
  - name: tox
    project: {project}
    scorers:
      - {{type: llm_judge.toxicity, base_url: "{openai_stub.base_url}", model: gpt-4o-mini, cache: false}}
""")
    proc = subprocess.run([sys.executable, "-m", "collector", "monitors", "run", "--config", str(cfg),
                           "--endpoint", url, "--once"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [(f["name"], f["value"], f["source"]) for f in feedback(url, project)] == [
        ("toxicity", False, "judge")]
    llm = wait_for_spans(url, f"{project}-monitors", 2)
    by_kind = {s["kind"]: s for s in llm}
    assert by_kind["llm"]["model"] == "gpt-4o-mini"
    assert (by_kind["llm"]["input_tokens"], by_kind["llm"]["output_tokens"]) == (120, 30)
    assert by_kind["llm"]["cost_usd"] > 0
    assert by_kind["evaluator"]["name"] == "toxicity"
