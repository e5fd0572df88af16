"""Verifiable runs (issue 11): rows are hash-chained, manifests are signed by the client
and logged per project, bundles verify offline, every alteration is caught and named,
and an existing data dir is upgraded in place. Sealing (409) is tests/evals/test_sealing.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from common import records
from tests.evals.conftest import REPO, Evals

VID = "cd" * 32

SUITE = """
    from evals import Eval
    from scorers import scorer

    ROWS = [{"id": i, "q": f"q{i}", "expected": f"a{i}"} for i in range(6)]

    def answer(q: str) -> str:
        return "a" + q[1:] if int(q[1:]) % 3 else "wrong"

    @scorer
    def exact(output, expected) -> bool:
        return output == expected

    @scorer
    def closeness(output, expected) -> float:
        return 1.0 / (1 + abs(len(output) - len(expected)))

    qa = Eval(name="qa", dataset=ROWS, task=answer, scorers=[exact, closeness], key="id",
              params={"model": "stub-1", "seed": 7})
"""


def _post(url: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=60)


def _rows(start: int, n: int) -> list[dict[str, Any]]:
    return [{"row_index": i, "row_id": f"r{i}", "status": "ok", "output": f"o{i}",
             "latency_ms": 1.5 + i, "started_at": "2026-01-02T03:04:05.123456Z",
             "scores": [{"scorer": "ok", "value": i % 2 == 0}, {"scorer": "num", "value": i / 3}]}
            for i in range(start, start + n)]


# -- signed records end to end -----------------------------------------------------------

def _run_suite(e: Evals, n: int = 1) -> list[str]:
    e.write("suite.py", SUITE)
    ids = []
    for _ in range(n):
        out = e.run("run", "suite.py", "--json", "r.json")
        assert out.returncode in (0, 1), out.stderr
        assert "NOT signed" not in out.stderr, out.stderr
        ids.append(json.loads((e.cwd / "r.json").read_text())["runs"][0]["run"]["run_id"])
    return ids


def _offline_env(tmp: Path) -> dict[str, str]:
    """No server, no data dir, no Spyglass settings: an empty HOME and data dir."""
    home = tmp / "empty-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPYGLASS_", "OTEL_"))}
    env.update({"HOME": str(home), "SPYGLASS_DATA_DIR": str(home / "no-data"),
                "SPYGLASS_ENDPOINT": "http://127.0.0.1:9", "PYTHONPATH": str(REPO)})
    return env


def test_runs_are_signed_exported_and_verified_offline(server_evals: Evals, tmp_path: Path) -> None:
    e = server_evals
    run_id, = _run_suite(e)
    seal = e.api(f"/api/evals/runs/{run_id}/manifest")
    assert seal["state"] == "verified", seal
    manifest = seal["manifest"]
    assert manifest["rows"]["count"] == 6 and manifest["log"]["seq"] == 1
    assert manifest["dataset"]["rows"] == 6 and manifest["params"] == {"model": "stub-1", "seed": 7}
    assert manifest["seeds"]["seed"] == 7 and manifest["models"]["model"] == "stub-1"
    assert {s["name"] for s in manifest["scorers"]} == {"exact", "closeness"}
    assert all(s["code_sha256"] for s in manifest["scorers"]) and manifest["task"]["code_sha256"]
    assert manifest["environment"]["packages"]["cryptography"] == "50.0.2"
    assert {s["scorer"] for s in manifest["summaries"]} >= {"exact", "closeness"}
    key_file = Path(e.env["SPYGLASS_DATA_DIR"]) / "keys" / f"{e.project}.ed25519"
    assert key_file.stat().st_mode & 0o777 == 0o600
    shown = e.run("keys", "show")
    assert manifest["key_id"] in shown.stdout and seal["public_key"] in shown.stdout

    ok = e.run("verify", run_id)
    assert ok.returncode == 0 and "INTACT" in ok.stdout and "signature: Ed25519" in ok.stdout, ok.stdout
    head = e.run("runs", "head")
    assert records.manifest_hash(manifest) in head.stdout and "seq 1" in head.stdout

    bundle = tmp_path / "run.bundle.json"
    exported = e.run("export", run_id, "--bundle", str(bundle))
    assert exported.returncode == 0, exported.stderr
    pub = tmp_path / "key.pub"
    assert e.run("keys", "export", "-o", str(pub)).returncode == 0
    # Offline: a fresh HOME and data dir, nothing listening, only the file.
    env = _offline_env(tmp_path)
    offline = subprocess.run([sys.executable, "-m", "evals", "verify", str(bundle), "--public-key",
                              str(pub)], env=env, capture_output=True, text=True, timeout=60,
                             cwd=tmp_path)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "INTACT" in offline.stdout and "6 rows hash-chained" in offline.stdout
    assert "(pinned)" in offline.stdout
    assert not any((tmp_path / "empty-home").iterdir())  # nothing created: no key, no store
    # One changed byte of a row's output: exit 1 naming the row.
    data = bundle.read_bytes()
    at = data.index(b'"output":"a1"') + len('"output":"a')
    (tmp_path / "bad.json").write_bytes(data[:at] + b"7" + data[at + 1:])
    bad = subprocess.run([sys.executable, "-m", "evals", "verify", str(tmp_path / "bad.json")],
                         env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bad.returncode == 1 and "ALTERED" in bad.stdout and "row 1 " in bad.stdout, bad.stdout
    # Another key pinned: refused.
    other = records.public_key_of(records.new_private_key())
    assert records.verify_bundle(data, other).problem.startswith("signature: signed by")


CRASHING_SUITE = """
    from evals import Eval
    from scorers import scorer

    ROWS = [{"id": i, "q": f"q{i}"} for i in range(8)]

    def answer(q: str) -> str:
        if q == "q5":
            # Not an Exception: the runner does not record it as a row error, it stops.
            raise SystemExit("the task pulled the plug")
        return q.upper()

    @scorer
    def shouting(output) -> bool:
        return output.isupper()

    crash = Eval(name="crash", dataset=ROWS, task=answer, scorers=[shouting], key="id",
                 concurrency=1)
"""


def test_a_crashed_run_is_signed_as_failed(server_evals: Evals) -> None:
    """A run that dies mid-way is part of the record too: marked failed, its finished rows
    stored, and signed, so it cannot later be passed off as clean or emptied unseen."""
    e = server_evals
    e.write("crash_suite.py", CRASHING_SUITE)
    out = e.run("run", "crash_suite.py")
    assert out.returncode != 0
    assert "NOT signed" not in out.stderr, out.stderr
    runs = [r for r in e.api("/api/evals/runs", eval_name="crash")["runs"]]
    run = runs[0]
    assert run["status"] == "failed"
    seal = e.api(f"/api/evals/runs/{run['run_id']}/manifest")
    assert seal["state"] == "verified", seal
    assert seal["manifest"]["status"] == "failed"
    assert seal["manifest"]["rows"]["count"] == 5  # q0..q4 finished before q5 crashed
    ok = e.run("verify", run["run_id"])
    assert ok.returncode == 0 and "INTACT" in ok.stdout, ok.stdout + ok.stderr


def test_every_byte_of_a_bundle_is_covered(server_evals: Evals, tmp_path: Path) -> None:
    e = server_evals
    e.write("suite.py", SUITE.replace("range(6)", "range(2)"))
    out = e.run("run", "suite.py", "--json", "r.json")
    assert out.returncode in (0, 1), out.stderr
    run_id = json.loads((e.cwd / "r.json").read_text())["runs"][0]["run"]["run_id"]
    bundle = tmp_path / "b.json"
    assert e.run("export", run_id, "--bundle", str(bundle)).returncode == 0
    data = bundle.read_bytes()
    pinned = json.loads(data)["public_key"]
    assert records.verify_bundle(data, pinned).ok
    missed = []
    for i in range(len(data)):
        for mask in (0x01, 0x20, 0x80):
            altered = data[:i] + bytes([data[i] ^ mask]) + data[i + 1:]
            if records.verify_bundle(altered, pinned).ok:
                missed.append((i, mask))
    assert not missed, f"{len(missed)} one-byte changes verified: {missed[:5]} of {len(data)} bytes"
    # Without a pinned key, a re-signed bundle would verify: the report says whose key it is.
    assert "pass --public-key" in " ".join(records.verify_bundle(data).checked)


def test_store_tampering_and_log_edits_are_caught(embedded_evals: Evals) -> None:
    e = embedded_evals
    ids = _run_suite(e, 3)
    ok = e.run("verify", "--project", e.project)
    assert ok.returncode == 0 and "3 signed manifests" in ok.stdout, ok.stdout + ok.stderr
    head = e.run("runs", "head").stdout.split("head ")[1].split()[0]
    assert e.run("verify", "--project", e.project, "--head", head).returncode == 0

    from collector.settings import Settings
    from collector.storage import open_storage

    def edit(*statements: str) -> None:
        storage = open_storage(Settings.load(data_dir=e.data_dir))
        try:
            for sql in statements:
                storage.command(sql, {"p": e.project, "r": ids[1]})
        finally:
            storage.close()

    # A row rewritten in the store (a newer copy wins in the ReplacingMergeTree).
    edit("INSERT INTO eval_rows SELECT * REPLACE ('tampered' AS output, now64(6) + 1 AS "
         "inserted_at) FROM eval_rows FINAL WHERE project = {p:String} AND run_id = {r:String} "
         "AND row_index = 2")
    bad = e.run("verify", ids[1])
    assert (bad.returncode == 1 and "row 2 " in bad.stdout) or "chain head" in bad.stdout, bad.stdout
    whole = e.run("verify", "--project", e.project)
    assert whole.returncode == 1 and ids[1] in whole.stdout, whole.stdout
    # A run deleted from the log.
    edit("DELETE FROM eval_manifests WHERE project = {p:String} AND run_id = {r:String}")
    gone = e.run("verify", "--project", e.project)
    assert gone.returncode == 1 and "log entry 2" in gone.stdout, gone.stdout
    # The tail cut off: only a pinned head shows it.
    edit("DELETE FROM eval_manifests WHERE project = {p:String} AND seq = 3")
    cut = e.run("verify", "--project", e.project, "--head", head)
    assert cut.returncode == 1 and "pinned head" in cut.stdout, cut.stdout


def _entry(key: bytes, project: str, seq: int, prev: str) -> dict[str, Any]:
    pub = records.public_key_of(key)
    run_id = uuid.uuid4().hex
    manifest = records.with_sections({
        "format": records.MANIFEST_FORMAT, "project": project, "run_id": run_id,
        "status": "complete", "summaries": [], "key_id": records.key_id(pub),
        "rows": {"count": 0, "chain_head": records.chain_genesis(run_id)},
        "log": {"seq": seq, "prev": prev}})
    return {"manifest": manifest, "signature": records.sign(manifest, key), "public_key": pub}


def test_log_verification_catches_reorder_delete_and_resign() -> None:
    key = records.new_private_key()
    log: list[dict[str, Any]] = []
    prev = records.LOG_GENESIS
    for seq in range(1, 5):
        log.append(_entry(key, "p", seq, prev))
        prev = records.manifest_hash(log[-1]["manifest"])
    assert records.verify_log(log).ok
    assert records.verify_log(log, pinned_head=prev).ok
    swapped = [log[0], log[2], log[1], log[3]]
    assert "log entry 2" in records.verify_log(swapped).problem
    assert "log entry 3" in records.verify_log(log[:2] + log[3:]).problem
    assert "pinned head" in records.verify_log(log[:3], pinned_head=prev).problem
    forged = json.loads(json.dumps(log))
    forged[1]["manifest"]["status"] = "failed"
    assert "manifest.status" in records.verify_log(forged).problem
    # A key holder can re-sign a rewritten history; a pinned head (or key) catches it.
    other = records.new_private_key()
    resigned, prev2 = [], records.LOG_GENESIS
    for seq in range(1, 5):
        resigned.append(_entry(other, "p", seq, prev2))
        prev2 = records.manifest_hash(resigned[-1]["manifest"])
    assert records.verify_log(resigned).ok
    assert not records.verify_log(resigned, pinned_head=prev).ok
    assert not records.verify_log(resigned, pinned_key=records.public_key_of(key)).ok


def test_an_existing_data_dir_is_upgraded_in_place(tmp_path: Path) -> None:
    from collector.settings import Settings
    from collector.storage import open_storage
    from collector.storage.migrations import MIGRATIONS_DIR, migrate

    old = tmp_path / "old-migrations"
    old.mkdir()
    for f in MIGRATIONS_DIR.glob("*.sql"):
        if int(f.name[:4]) < 120:
            shutil.copy(f, old / f.name)
    data_dir = tmp_path / "data"
    settings = Settings.load(data_dir=data_dir)
    storage = open_storage(settings, migrate=False)
    migrate(storage, old)
    run_id = uuid.uuid4().hex
    storage.insert("eval_runs", [{
        "project": "old", "run_id": run_id, "suite": "s.py", "eval_name": "e", "params": "{}",
        "dataset_name": "", "dataset_version": "", "dataset_version_id": VID, "dataset_rows": 1,
        "git_commit": "", "git_dirty": None, "code_fingerprint": "", "status": "complete",
        "started_at": "2026-01-01 00:00:00.000000", "ended_at": "2026-01-01 00:00:01.000000",
        "row_limit": None, "concurrency": 1, "baseline_run_id": "", "stats": "{}",
        "comparison": ""}])
    storage.close()

    from tests.conftest import start_server

    server = start_server(data_dir)
    try:
        url = server.url
        resp = _post(url, f"/api/evals/runs/{run_id}/rows", {"rows": _rows(0, 1)})
        assert resp.status_code == 409 and "sealed" in resp.json()["error"]
        got = httpx.get(f"{url}/api/evals/runs/{run_id}").json()["run"]
        assert got["status"] == "complete" and got["chain_head"] is None
        seal = httpx.get(f"{url}/api/evals/runs/{run_id}/manifest").json()
        assert seal["state"] == "unsigned"
        assert httpx.get(f"{url}/api/evals/log", params={"project": "old"}).json()["entries"] == []
    finally:
        server.stop()
