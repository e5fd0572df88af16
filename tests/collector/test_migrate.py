"""``spyglass migrate --to URL``: an embedded data dir holding spans, feedback, keys,
datasets, eval runs and project settings moves into a ClickHouse server (the test server,
or SPYGLASS_TEST_CLICKHOUSE_URL) with every row and id intact, verified table by table,
and a second run copies nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import httpx
from test_api_support import MINUTE, S, now_ns, send

from collector.storage.clickhouse_engine import ClickHouseStorage
from tests.chserver import with_database
from tests.conftest import REPO_ROOT, start_server

# A small suite: eval_runs, eval_rows, eval_scores and eval_summaries get rows.
SUITE = """
from evals import Eval
from scorers import scorer

ROWS = [{"id": i, "question": f"q{i}", "expected": f"a{i}"} for i in range(3)]

async def answer(question: str) -> str:
    return "a" + question[1:]

@scorer
def exact(output, expected) -> bool:
    return output == expected

qa = Eval(name="qa", dataset=ROWS, task=answer, scorers=[exact], key="id")
"""

# Every table as its readers see it (FINAL where copies collapse), rows in a fixed order.
DUMP = """
import json, sys
from pathlib import Path
from collector.storage.transfer import DERIVED

def dump(storage):
    out = {}
    tables = storage.query("SELECT name, engine FROM system.tables WHERE database = "
                           "currentDatabase() AND engine LIKE '%MergeTree' ORDER BY name")
    for t in tables:
        name = t["name"]
        if name == "spyglass_migrations" or name.startswith("_"):
            continue
        source = f"({DERIVED[name]})" if name in DERIVED else (
            f"{name} FINAL" if "Replacing" in t["engine"] else name)
        rows = storage.query(f"SELECT * FROM {source}")
        out[name] = sorted(json.dumps(r, sort_keys=True) for r in rows)
    return out
"""


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith(("SPYGLASS_", "OTEL_"))}
    full.update({"PYTHONPATH": str(REPO_ROOT), **(env or {})})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)


def _dump_chdb(data_dir: Path) -> dict[str, list[str]]:
    """The data dir's tables, read by chDB in a subprocess (one data dir per process)."""
    code = DUMP + textwrap.dedent(f"""
        from collector.storage.chdb_engine import ChdbStorage
        s = ChdbStorage(Path({str(data_dir)!r}))
        try:
            print(json.dumps(dump(s)))
        finally:
            s.close()
    """)
    done = _run("-c", code)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _dump_server(url: str) -> dict[str, list[str]]:
    scope: dict[str, Any] = {}
    exec(DUMP, scope)  # the same dump code on both sides
    storage = ClickHouseStorage(url)
    try:
        return scope["dump"](storage)
    finally:
        storage.close()


def _populate(data_dir: Path, work: Path, project: str) -> tuple[str, list[str]]:
    """Datasets and an eval run (evals CLI, embedded store), then spans, feedback and a
    key through a collector, then a project TTL. Returns the key and the trace ids."""
    evals_env = {"SPYGLASS_DATA_DIR": str(data_dir), "SPYGLASS_PROJECT": project,
                 "SPYGLASS_ENDPOINT": "http://127.0.0.1:9"}
    (work / "rows.jsonl").write_text('{"id": 1, "q": "a"}\n{"id": 2, "q": "b"}\n')
    pushed = _run("-m", "evals", "datasets", "push", "rows.jsonl", "--name", "ds", "--key", "id",
                  env=evals_env, cwd=work)
    assert pushed.returncode == 0, pushed.stderr
    (work / "suite.py").write_text(SUITE)
    ran = _run("-m", "evals", "run", "suite.py", env=evals_env, cwd=work)
    assert ran.returncode == 0, ran.stderr

    server = start_server(data_dir)
    try:
        base = now_ns() - 5 * MINUTE
        ids = send(server.url, project, [
            (base + i * 1000, S("answer", children=[
                S("chat", kind="llm", at_ms=1, model="gpt-4o-mini", in_tok=5, out_tok=3,
                  cost=0.002 if i else None, input={"q": f"question {i}"},
                  output="a\tb\n'quoted' \\ ünïcode", user_id="u1", tags=["t1", "t2"])]))
            for i in range(4)])
        for trace_id in ids[:2]:
            made = httpx.post(f"{server.url}/api/feedback", timeout=30, json={
                "trace_id": trace_id, "name": "helpful", "value": 0.75, "comment": "ok"})
            assert made.status_code == 201, made.text
        locked = _run("-m", "collector", "migrate", "--data-dir", str(data_dir), "--to",
                      "http://127.0.0.1:9/x")
        assert locked.returncode == 1 and "Stop the collector" in locked.stderr, locked.stderr
        key = _run("-m", "collector", "keys", "create", "--project", project, "--data-dir",
                   str(data_dir), env={"SPYGLASS_PORT": str(server.port)})
        assert key.returncode == 0, key.stderr
    finally:
        server.stop()
    ttl = _run("-c", textwrap.dedent(f"""
        from pathlib import Path
        from collector.storage.chdb_engine import ChdbStorage
        from collector.storage.projects import ProjectSettings
        s = ChdbStorage(Path({str(data_dir)!r}))
        ProjectSettings(s).set_ttl_days({project!r}, 400)
        s.close()
    """))
    assert ttl.returncode == 0, ttl.stderr
    return key.stdout.strip().splitlines()[0], ids


def test_migrate_moves_every_table_with_rows_and_ids_intact(tmp_path: Path, clickhouse,
                                                            project: str) -> None:
    data_dir = tmp_path / "data"
    key, trace_ids = _populate(data_dir, tmp_path, project)
    before = _dump_chdb(data_dir)
    for table in ("spans", "trace_index", "feedback", "api_keys", "project_settings",
                  "dataset_rows", "dataset_versions", "dataset_version_rows", "eval_runs",
                  "eval_rows", "eval_scores", "eval_summaries"):
        assert before.get(table), f"the source has no {table} rows to migrate"

    url = with_database(clickhouse.url, f"migrated_{uuid.uuid4().hex[:8]}")
    first = _run("-m", "collector", "migrate", "--data-dir", str(data_dir), "--to", url)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "every source row is on the server" in first.stdout
    assert "spans:" in first.stdout and "identical" in first.stdout
    after = _dump_server(url)
    assert after == before  # every row of every table, value for value (ids included)

    again = _run("-m", "collector", "migrate", "--data-dir", str(data_dir), "--to", url)
    assert again.returncode == 0, again.stdout + again.stderr
    for line in again.stdout.splitlines():
        if " copied, " in line:
            assert " 0 copied, " in line and "identical" in line, line
    assert _dump_server(url) == before

    # A collector on the server serves the migrated data under the migrated key.
    server = start_server(tmp_path / "after", "--clickhouse-url", url)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        trace = httpx.get(f"{server.url}/api/traces/{trace_ids[0]}", headers=auth, timeout=30)
        assert trace.status_code == 200, trace.text
        assert [s["name"] for s in trace.json()["spans"]] == ["answer", "chat"]
        assert httpx.get(f"{server.url}/api/traces", timeout=30).status_code == 401
    finally:
        server.stop()


def test_migrate_refuses_a_dir_without_data(tmp_path: Path) -> None:
    done = _run("-m", "collector", "migrate", "--data-dir", str(tmp_path / "none"), "--to",
                "http://127.0.0.1:9/x")
    assert done.returncode == 1 and "holds no Spyglass data" in done.stderr
