"""An eval sweep over two prompt versions: ``params={"prompt": ["qa:v1", "qa:v2"]}``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

SUITE = """
    from evals import Eval
    from scorers import scorer
    from tracer import op

    ROWS = [{"id": i, "question": f"q{i}", "expected": f"A: q{i}"} for i in range(6)]

    @op(kind="llm")
    def fake_llm(messages):
        return messages[-1]["content"]          # the formatted template is the "answer"

    def answer(prompt, question):
        return fake_llm(prompt.format(question=question))

    @scorer
    def exact(output, expected) -> bool:
        return output == expected

    qa = Eval(name="qa", dataset=ROWS, task=answer, scorers=[exact], key="id",
              params={"prompt": ["qa:v1", "qa:production"]})
"""


def test_sweep_over_two_prompt_versions(server_evals: Any, project: str) -> None:
    e = server_evals
    url = e.url
    v1 = httpx.post(f"{url}/api/prompts", json={
        "project": project, "name": "qa",
        "messages": [{"role": "user", "content": "A: {{ question }}"}]}).json()
    v2 = httpx.post(f"{url}/api/prompts", json={
        "project": project, "name": "qa", "label": "production",
        "messages": [{"role": "user", "content": "Answer: {{ question }}"}]}).json()
    assert (v1["version"], v2["version"]) == ("v1", "v2")
    e.write("suite.py", SUITE)
    done = e.run("run", "suite.py", "--json", "out.json")
    assert done.returncode == 0, done.stderr
    report = json.loads((e.cwd / "out.json").read_text())
    runs = {r["run"]["params"]["prompt"]: r for r in report["runs"]}
    assert set(runs) == {"qa:v1", "qa:production"}
    assert runs["qa:v1"]["run"]["params"]["prompt.version_id"] == v1["version_id"]
    assert runs["qa:production"]["run"]["params"]["prompt.version_id"] == v2["version_id"]

    def mean(run: dict[str, Any]) -> float:
        return next(s for s in run["summaries"] if s["scorer"] == "exact")["mean"]

    assert mean(runs["qa:v1"]) == 1.0 and mean(runs["qa:production"]) == 0.0
    # The stored runs carry the ids too.
    stored = e.api("/api/evals/runs", eval="qa")
    recorded = {r["params"]["prompt.version_id"] for r in stored["runs"]}
    assert recorded == {v1["version_id"], v2["version_id"]}

    # The task's LLM spans carry the version it ran with: traces filter by it.
    def llm_traces(prompt: str) -> int:
        return len(httpx.get(f"{url}/api/traces", params={
            "project": project, "prompt": prompt, "kind": "llm", "limit": 100}).json()["traces"])

    deadline = time.monotonic() + 20
    while llm_traces("qa") < 12 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert (llm_traces("qa:v1"), llm_traces("qa:v2"), llm_traces("qa")) == (6, 6, 12)

    unknown = e.run("run", "suite.py", "--param", "prompt=qa:v9")
    assert unknown.returncode != 0 and "qa:v9" in unknown.stderr


def test_only_name_version_refs_are_prompt_params() -> None:
    from evals.prompts import is_prompt_param

    assert is_prompt_param("prompt", "qa:v3") and is_prompt_param("judge_prompt", "qa:production")
    # Text in a param called prompt stays text; other params are never resolved.
    assert not is_prompt_param("prompt", "Answer: {question}")
    assert not is_prompt_param("prompt", "qa") and not is_prompt_param("model", "qa:v3")
    assert not is_prompt_param("prompt", 3)
