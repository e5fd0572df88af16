"""Which store ``evals`` uses: a collector that answers, else an in-process one, never a
data dir a running collector holds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import httpx

from tests.conftest import REPO_ROOT, start_server


def test_locked_data_dir_is_one_line_exit_2(embedded_evals) -> None:
    e = embedded_evals
    holder = start_server(e.data_dir)  # a collector on another port holds the data dir
    try:
        e.write("rows.jsonl", '{"q": 1}\n')
        result = e.run("datasets", "push", "rows.jsonl", "--name", "x")
        assert result.returncode == 2
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("evals: error:")]
        assert len(errors) == 1
        assert str(e.data_dir) in errors[0] and "in use by another Spyglass process" in errors[0]
        assert f"pid {holder.process.pid}" in errors[0]
        # evals has no --data-dir: the advice is what works for it.
        assert "--data-dir" not in errors[0]
        assert "SPYGLASS_ENDPOINT" in errors[0] and "SPYGLASS_DATA_DIR" in errors[0]
    finally:
        holder.stop()


def test_embedded_store_says_so_and_keeps_data_between_commands(embedded_evals) -> None:
    e = embedded_evals
    e.write("rows.jsonl", '{"q": 1}\n{"q": 2}\n')
    pushed = e.run("datasets", "push", "rows.jsonl", "--name", "kept")
    assert pushed.returncode == 0, pushed.stderr
    notice = [ln for ln in pushed.stderr.splitlines() if "in-process" in ln]
    assert len(notice) == 1 and str(e.data_dir) in notice[0] and e.env["SPYGLASS_ENDPOINT"] in notice[0]
    pulled = e.run("datasets", "pull", "kept:v1")
    assert [json.loads(ln) for ln in pulled.stdout.splitlines()] == [{"q": 1}, {"q": 2}]
    # Later, a collector over the same data dir serves what the embedded runs stored.
    server = start_server(e.data_dir)
    try:
        served = e.run("datasets", "list", extra_env={"SPYGLASS_ENDPOINT": server.url})
        assert served.returncode == 0 and "kept" in served.stdout
        assert "in-process" not in served.stderr
    finally:
        server.stop()


def test_api_key_decides_the_project(embedded_evals) -> None:
    e = embedded_evals
    keyed_dir = e.cwd / "keyed"
    made = subprocess.run([sys.executable, "-m", "collector", "keys", "create", "--project", "alpha",
                           "--data-dir", str(keyed_dir)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[0].strip()
    server = start_server(keyed_dir)
    try:
        env = {"SPYGLASS_ENDPOINT": server.url, "SPYGLASS_PROJECT": ""}
        e.write("rows.jsonl", '{"question": "q1"}\n{"question": "q2"}\n')
        refused = e.run("datasets", "push", "rows.jsonl", "--name", "k", extra_env=env)
        assert refused.returncode == 2 and "401" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        env["SPYGLASS_API_KEY"] = key
        pushed = e.run("datasets", "push", "rows.jsonl", "--name", "k", extra_env=env)
        assert pushed.returncode == 0, pushed.stderr
        e.write("suite.py", """
            from evals import Eval, dataset
            from tracer import op

            @op
            def echo(question: str) -> str:
                return question

            k = Eval(name="keyed", dataset=dataset("k:latest"), task=echo)
        """)
        ran = e.run("run", "suite.py", "--json", "k.json", "--junit", "k.xml", extra_env=env)
        assert ran.returncode == 0, ran.stderr
        cases = [c.get("name") for c in ET.parse(e.cwd / "k.xml").getroot().iter("testcase")
                 if c.get("classname") == "keyed"]
        assert cases == ["row-0::task", "row-1::task"]  # no scorers: one case per row
        run = json.loads((e.cwd / "k.json").read_text())["runs"][0]
        assert run["run"]["project"] == "alpha" and run["run"]["dataset"]["version"] == "v1"
        again = e.run("run", "suite.py", "--json", "k2.json", extra_env=env)
        comp = json.loads((e.cwd / "k2.json").read_text())["runs"][0]["comparison"]
        assert again.returncode == 0 and comp["a"]["run_id"] == run["run"]["run_id"]
        trace_id = run["rows"][0]["trace_id"]
        headers = {"Authorization": f"Bearer {key}"}
        deadline = time.monotonic() + 30
        while True:
            resp = httpx.get(f"{server.url}/api/traces/{trace_id}", headers=headers)
            if resp.status_code == 200:
                break
            assert time.monotonic() < deadline, resp.text
            time.sleep(0.2)
        assert resp.json()["project"] == "alpha"
    finally:
        server.stop()
