"""Sealed runs and immutable dataset versions (issue 11), through the HTTP API and the
evals client: every write to a finished run is a 409, no row lands after the seal even
when appends race it, and a dataset version id names exactly one content. Runs on every
storage engine the shared collector fixture provides."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from common import records

VID = "cd" * 32


def _post(url: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=60)


def _rows(start: int, n: int) -> list[dict[str, Any]]:
    return [{"row_index": i, "row_id": f"r{i}", "status": "ok", "output": f"o{i}",
             "latency_ms": 1.5 + i, "started_at": "2026-01-02T03:04:05.123456Z",
             "scores": [{"scorer": "ok", "value": i % 2 == 0}, {"scorer": "num", "value": i / 3}]}
            for i in range(start, start + n)]


def _new_run(url: str, project: str, run_id: str | None = None) -> str:
    body: dict[str, Any] = {"eval_name": "sealed", "project": project,
                            "dataset": {"version_id": VID, "rows": 4}}
    if run_id:
        body["run_id"] = run_id
    resp = _post(url, "/api/evals/runs", body)
    assert resp.status_code == 201, resp.text
    return resp.json()["run_id"]


@pytest.fixture
def collector_url(spyglass_server: Any) -> str:
    """The collector under test: the session's, on each storage engine the shared
    fixtures run (chDB, and a ClickHouse server where tests/conftest.py provides one)."""
    return spyglass_server.url


def test_a_finished_run_refuses_every_write_with_409(collector_url: str, project: str) -> None:
    url = collector_url
    run_id = _new_run(url, project)
    assert _post(url, f"/api/evals/runs/{run_id}/rows", {"rows": _rows(0, 4)}).status_code == 200
    done = _post(url, f"/api/evals/runs/{run_id}/finish",
                 {"status": "complete", "summaries": [{"scorer": "ok", "kind": "binary", "mean": 0.5}]})
    assert done.status_code == 200 and done.json()["run"]["sealed"] is True
    head = done.json()["run"]["chain_head"]
    assert head == records.chain_head(run_id, records.sorted_records(_rows(0, 4)))

    rewrite = _rows(0, 1)
    rewrite[0]["output"] = "rewritten"
    attempts = [
        ("/api/evals/runs/" + run_id + "/rows", {"rows": rewrite}),
        ("/api/evals/runs/" + run_id + "/rows", {"rows": _rows(4, 1)}),
        ("/api/evals/runs/" + run_id[:10] + "/rows", {"rows": rewrite}),
        ("/api/evals/runs/" + run_id + "/finish", {"status": "complete"}),
        ("/api/evals/runs/" + run_id + "/finish",
         {"status": "failed", "summaries": [{"scorer": "ok", "kind": "binary", "mean": 1.0}]}),
        ("/api/evals/runs", {"eval_name": "sealed", "project": project, "run_id": run_id,
                             "dataset": {"version_id": VID}}),
    ]
    for path, body in attempts:
        resp = _post(url, path, body)
        assert resp.status_code == 409, (path, resp.text)
        assert "sealed" in resp.json()["error"] or "already exists" in resp.json()["error"]
    got = httpx.get(f"{url}/api/evals/runs/{run_id}", params={"project": project}).json()
    assert got["run"]["status"] == "complete" and got["rows_total"] == 4
    assert [r["output"] for r in got["rows"]] == ["o0", "o1", "o2", "o3"]
    assert [s["mean"] for s in got["summaries"]] == [0.5]
    # Every status seals: partial and failed too.
    for status in ("partial", "failed"):
        rid = _new_run(url, project)
        assert _post(url, f"/api/evals/runs/{rid}/finish", {"status": status}).status_code == 200
        assert _post(url, f"/api/evals/runs/{rid}/rows", {"rows": _rows(0, 1)}).status_code == 409
    # A running run's id cannot be taken over either.
    running = _new_run(url, project)
    again = _post(url, "/api/evals/runs", {"eval_name": "x", "project": project, "run_id": running,
                                           "dataset": {"version_id": VID}})
    assert again.status_code == 409 and "already exists" in again.json()["error"]


def test_the_client_gets_409_too(collector_url: str, project: str) -> None:
    from evals.client import ApiError, Client

    client = Client(collector_url)
    run = client.create_run({"eval_name": "c", "project": project, "dataset": {"version_id": VID}})
    client.add_rows(run["run_id"], _rows(0, 2))
    client.finish_run(run["run_id"], {"status": "complete"})
    for call in (lambda: client.add_rows(run["run_id"], _rows(0, 1)),
                 lambda: client.finish_run(run["run_id"], {"status": "complete"}),
                 lambda: client.create_run({"eval_name": "c", "project": project,
                                            "run_id": run["run_id"], "dataset": {"version_id": VID}})):
        with pytest.raises(ApiError) as err:
            call()
        assert err.value.status_code == 409
    client.close()


def test_no_row_lands_after_the_seal_when_appends_race_it(collector_url: str, project: str) -> None:
    url = collector_url
    run_id = _new_run(url, project)
    accepted: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(9)

    def append(i: int) -> None:
        start.wait()
        resp = _post(url, f"/api/evals/runs/{run_id}/rows", {"rows": _rows(i * 10, 10)})
        assert resp.status_code in (200, 409), resp.text
        (accepted if resp.status_code == 200 else refused).append(i)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    start.wait()
    done = _post(url, f"/api/evals/runs/{run_id}/finish", {"status": "complete"})
    for t in threads:
        t.join()
    assert done.status_code == 200
    got = httpx.get(f"{url}/api/evals/runs/{run_id}", params={"project": project, "limit": 1000}).json()
    stored = {r["row_index"] // 10 for r in got["rows"]}
    assert stored == set(accepted) and not stored & set(refused)
    # The head sealed at finish covers exactly the stored rows: nothing came after it.
    assert done.json()["run"]["chain_head"] == records.chain_head(
        run_id, records.sorted_records(got["rows"]))


def test_dataset_version_ids_name_one_content(spyglass_server: Any, project: str) -> None:
    url = f"{spyglass_server.url}/api/datasets"
    rows = [{"id": i, "q": f"q{i}"} for i in range(5)]
    first = httpx.post(url, json={"name": "d", "rows": rows, "key": "id", "project": project})
    assert first.status_code == 201 and first.json()["version"] == "v1"
    # The finding: the same rows with --key dropped made v2 with v1's id.
    no_key = httpx.post(url, json={"name": "d", "rows": rows, "project": project})
    assert no_key.status_code == 200, no_key.text
    assert (no_key.json()["version"], no_key.json()["created"]) == ("v1", False)
    other = httpx.post(url, json={"name": "d", "rows": rows[:3], "project": project})
    assert other.status_code == 201 and other.json()["version"] == "v2"
    back = httpx.post(url, json={"name": "d", "rows": rows, "key": "q", "project": project})
    assert back.status_code == 200 and back.json()["version"] == "v1"
    versions = httpx.get(f"{url}/d/versions", params={"project": project}).json()["versions"]
    assert [v["version"] for v in versions] == ["v1", "v2"]
    ids = [v["version_id"] for v in versions]
    assert len(set(ids)) == len(ids)
    # Versions are never rewritten: asking for an existing number with other content is 409.
    clash = httpx.post(url, json={"name": "d", "rows": rows[:1], "version": "v1", "project": project})
    assert clash.status_code == 409 and "never rewritten" in clash.json()["error"]
    same = httpx.post(url, json={"name": "d", "rows": rows[:3], "version": "v2", "project": project})
    assert same.status_code == 200 and same.json()["version"] == "v2"
    moved = httpx.post(url, json={"name": "d", "rows": rows[:3], "version": "v3", "project": project})
    assert moved.status_code == 409
    v1 = httpx.get(f"{url}/d/versions/v1/rows", params={"project": project}).json()
    assert v1["rows"] == rows and v1["version_id"] == first.json()["version_id"]




def test_pushing_the_same_rows_without_key_keeps_v1(embedded_evals: Any) -> None:
    # The finding, as a user hit it: `--key` dropped on a second push made v2 with v1's id.
    e = embedded_evals
    e.write("rows.jsonl", '{"id": 1, "q": "a"}\n{"id": 2, "q": "b"}\n')
    first = e.run("datasets", "push", "rows.jsonl", "--name", "k", "--key", "id")
    again = e.run("datasets", "push", "rows.jsonl", "--name", "k")
    assert first.returncode == 0 and "k:v1" in first.stdout, first.stderr
    assert again.returncode == 0 and "k:v1" in again.stdout and "unchanged" in again.stdout, again.stdout
    assert first.stdout.split("id ")[1].split()[0] == again.stdout.split("id ")[1].split()[0]
