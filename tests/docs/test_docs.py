"""Every ``python`` and ``sh`` code block of README.md and docs/*.md runs (issue 12), so a
document cannot drift from the code again.

Blocks run against a live collector this module starts (``127.0.0.1:4318`` in a block is
rewritten to it; ``SPYGLASS_ENDPOINT`` names it too), in a scratch directory holding a
copy of ``examples/``, with the venv's ``spyglass``/``evals`` on PATH and a judge/OpenAI
endpoint served by the test stub. A block passes when it exits 0; documented output is
compared where shown:

- a ``sh`` block followed by a ``json`` block: the command's output must be JSON with
  (at least) the documented top-level keys;
- a ``curl`` line followed by a comment ``# NNN {"error": "..."}``: that request must
  answer status NNN with exactly that error (hex ids may differ).

A block that cannot run here (it starts a server, needs Docker, is a signature or a
fragment) is preceded by ``<!-- no-test: reason -->``; new blocks other helpers add are
picked up automatically and need that marker only when they cannot run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, ServerHandle, start_server

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
RUNNABLE = {"python": "python", "py": "python", "sh": "sh", "bash": "sh", "shell": "sh"}
FENCE = re.compile(r"^```\s*([\w-]*)\s*$")
NO_TEST = re.compile(r"<!--\s*no-test:\s*(.+?)\s*-->")
# A fragment that continues an earlier block of its page runs after it.
AFTER = re.compile(r"<!--\s*test:\s*after the (first|previous) block\s*-->")
STATUS_COMMENT = re.compile(r"^#\s*(\d{3})\s+(\{.*\})\s*$")
HEX = re.compile(r"\b[0-9a-f]{16,32}\b")
DOC_URLS = ("http://127.0.0.1:4318", "http://localhost:4318")
# Model endpoints the samples name, served here by the OpenAI-compatible test stub.
MODEL_URLS = ("https://api.openai.com/v1", "http://localhost:11434/v1", "http://localhost:8000/v1")
BLOCK_TIMEOUT_S = 180


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    code: str
    skip: str | None
    output_lang: str | None
    output: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def blocks(path: Path) -> Iterator[Block]:
    """Fenced blocks of ``path`` in runnable languages, with the marker before each and
    the block right after it (documented output)."""
    lines = path.read_text().splitlines()
    found: list[tuple[int, str, str, str | None]] = []  # line, lang, code, marker
    prefix_of: dict[int, str] = {}  # index in found -> "first" | "previous"
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, lang = i, match.group(1).lower()
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        marker = None
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and (m := NO_TEST.search(lines[k])):
            marker = m.group(1)
        if k >= 0 and (m := AFTER.search(lines[k])):
            prefix_of[len(found)] = m.group(1)
        found.append((start + 1, lang, "\n".join(lines[start + 1:j]), marker))
        i = j + 1
    for n, (line, lang, code, marker) in enumerate(found):
        if lang not in RUNNABLE:
            continue
        if n in prefix_of:
            same = [f for f in found[:n] if RUNNABLE.get(f[1]) == RUNNABLE[lang]]
            if same:
                code = (same[0] if prefix_of[n] == "first" else same[-1])[2] + "\n" + code
        out_lang = out = None
        if n + 1 < len(found):
            nxt_line = found[n + 1][0]
            end_of_this = line + found[n][2].count("\n") + 1  # the closing fence line
            between = lines[end_of_this:nxt_line - 1]
            if all(not s.strip() for s in between):
                out_lang, out = found[n + 1][1], found[n + 1][2]
        yield Block(path, line, RUNNABLE[lang], code, marker, out_lang, out)


ALL_BLOCKS = [b for path in DOCS for b in blocks(path)]


# ------------------------------------------------------------------------------ fixtures

# Traces the docs' curl examples address by id (docs/api.md): project support-bot.
DOC_TRACES = ("6d1db7327ebd21579adc8588f8b14da7", "23c0e566c7eb0d6fa786757074a623ea")


def _seed(url: str) -> None:
    now = time.time_ns()

    def kv(key: str, value: object) -> dict:
        if isinstance(value, int):
            return {"key": key, "value": {"intValue": str(value)}}
        return {"key": key, "value": {"stringValue": str(value)}}

    spans = []
    for n, trace_id in enumerate(DOC_TRACES):
        root = f"{n + 1:016x}"
        start = now - (5 - n) * 60 * 1_000_000_000
        spans.append({"traceId": trace_id, "spanId": root, "name": "answer",
                      "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 10**9),
                      "attributes": [kv("spyglass.op.kind", "chain")]})
        model = ("gpt-4o-mini", "claude-3-5-sonnet")[n]
        spans.append({"traceId": trace_id, "spanId": f"{n + 1:08x}00000001", "parentSpanId": root,
                      "name": f"chat {model.split('-')[0]}", "startTimeUnixNano": str(start + 10**6),
                      "endTimeUnixNano": str(start + 9 * 10**8),
                      "status": {"code": 2 if n else 1, "message": "rate limited" if n else ""},
                      "attributes": [kv("spyglass.op.kind", "llm"), kv("gen_ai.request.model", model),
                                     kv("gen_ai.usage.input_tokens", 120),
                                     kv("gen_ai.usage.output_tokens", 20)]})
    doc = {"resourceSpans": [{"resource": {"attributes": [kv("spyglass.project", "support-bot")]},
                              "scopeSpans": [{"scope": {"name": "docs"}, "spans": spans}]}]}
    r = httpx.post(f"{url}/v1/traces", json=doc, timeout=60)
    assert r.status_code == 200 and r.json() == {}, r.text


@dataclass
class Env:
    server: ServerHandle
    workdir: Path
    env: dict[str, str]
    model_url: str


@pytest.fixture(scope="module")
def docs_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from stubs.openai_server import OpenAIStub

    root = tmp_path_factory.mktemp("docs")
    server = start_server(root / "data")
    stub = OpenAIStub().start()
    # Every chat call gets a reply a judge can parse (and an app can print).
    stub.chat_responder = lambda body: '{"reasoning": "fine", "score": 1, "verdict": true}'
    try:
        _seed(server.url)
        workdir = root / "work"
        shutil.copytree(REPO_ROOT / "examples", workdir / "examples")
        venv_bin = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPYGLASS_", "OTEL_"))}
        env.update({
            "PATH": f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1",
            "SPYGLASS_ENDPOINT": server.url, "SPYGLASS_HOME": str(root / "home"),
            "SPYGLASS_DATA_DIR": str(root / "embedded"),
            "SPYGLASS_JUDGE_BASE_URL": stub.base_url, "SPYGLASS_JUDGE_MODEL": "stub-judge",
            "SPYGLASS_JUDGE_API_KEY": "stub", "SPYGLASS_JUDGE_CACHE": str(root / "judge-cache"),
            "OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "stub",
        })
        yield Env(server, workdir, env, stub.base_url)
    finally:
        stub.stop()
        server.stop()


# ------------------------------------------------------------------------------- running

def _local(code: str, url: str, model_url: str = "") -> str:
    for doc_url in DOC_URLS:
        code = code.replace(doc_url, url)
    for doc_url in MODEL_URLS if model_url else ():
        code = code.replace(doc_url, model_url)
    return code


def _run(cmd: list[str], env: Env, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=env.workdir, env=env.env, input=stdin, capture_output=True,
                          text=True, timeout=BLOCK_TIMEOUT_S)


def _check_status_comments(block: Block, env: Env) -> None:
    """``curl ...`` followed by ``# NNN {json}``: that status, that error."""
    lines = _local(block.code, env.server.url).splitlines()
    for i, line in enumerate(lines):
        match = STATUS_COMMENT.match(line.strip())
        if not match or i == 0:
            continue
        command = lines[i - 1]
        j = i - 1
        while j > 0 and lines[j - 1].rstrip().endswith("\\"):
            j -= 1
            command = lines[j] + "\n" + command
        if "curl" not in command:
            continue
        done = _run(["bash", "-c", command + " -o /dev/stderr -w '%{http_code}'"], env)
        expected_status, expected_body = match.group(1), json.loads(match.group(2))
        assert done.stdout.strip() == expected_status, (block.id, command, done.stdout, done.stderr)
        actual = json.loads(done.stderr)
        if "error" in expected_body:
            assert HEX.sub("ID", actual["error"]) == HEX.sub("ID", expected_body["error"]), \
                (block.id, actual, expected_body)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.id for b in ALL_BLOCKS])
def test_doc_block_runs(block: Block, docs_env: Env) -> None:
    if block.skip:
        pytest.skip(f"<!-- no-test: {block.skip} -->")
    code = _local(block.code, docs_env.server.url, docs_env.model_url)
    if block.lang == "python":
        script = docs_env.workdir / f"block_{uuid.uuid4().hex[:8]}.py"
        script.write_text(code + "\n")
        done = _run([sys.executable, str(script)], docs_env)
    else:
        done = _run(["bash", "-o", "pipefail", "-c", code], docs_env)
    assert done.returncode == 0, (
        f"{block.id} exited {done.returncode}\n--- block\n{block.code}\n--- stdout\n"
        f"{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-3000:]}")
    if block.lang == "sh" and block.output_lang == "json" and block.output:
        try:
            documented = json.loads(block.output)
        except ValueError:
            documented = None  # an abbreviated sample ("..."): nothing to compare
        if isinstance(documented, dict):
            actual = json.loads(done.stdout)
            missing = set(documented) - set(actual) - {"..."}
            assert not missing, f"{block.id}: documented keys {sorted(missing)} not in {actual}"
    if block.lang == "sh":
        _check_status_comments(block, docs_env)


def test_markers_are_used_sparingly() -> None:
    skipped = [b for b in ALL_BLOCKS if b.skip]
    assert len(skipped) <= len(ALL_BLOCKS) // 2, [b.id for b in skipped]
