"""The evaluation-run routes as the console and scripts use them: validation errors name
the field, prefixes resolve, the comparison lists flipped rows first."""

from __future__ import annotations

import httpx

VID = "ab" * 32


def _post(url: str, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=30)


def _run(url: str, project: str, passed: list[bool]) -> str:
    run = _post(url, "/api/evals/runs", {"eval_name": "api", "project": project,
                                         "dataset": {"version_id": VID, "rows": len(passed)}})
    assert run.status_code == 201, run.text
    run_id = run.json()["run_id"]
    rows = [{"row_index": i, "row_id": f"r{i}", "status": "ok", "output": str(p),
             "scores": [{"scorer": "ok", "value": p}]} for i, p in enumerate(passed)]
    assert _post(url, f"/api/evals/runs/{run_id}/rows", {"rows": rows}).json()["inserted"] == len(rows)
    return run_id


def test_run_routes_validate_and_compare(spyglass_server, project: str) -> None:
    url = spyglass_server.url
    bad_bodies = [
        ("/api/evals/runs", {"dataset": {"version_id": VID}}, "'eval_name': is required"),
        ("/api/evals/runs", {"eval_name": "x"}, "'dataset': is required"),
        ("/api/evals/runs", {"eval_name": "x", "dataset": {}}, "'dataset.version_id': is required"),
        ("/api/evals/runs", {"eval_name": "x", "dataset": {"version_id": "zz"}}, "'dataset.version_id'"),
        ("/api/evals/runs", {"eval_name": "x", "dataset": {"version_id": VID}, "params": [1]},
         "'params': Expected `object`"),
        ("/api/evals/runs", [1, 2], "Expected `object`, got `array`"),
    ]
    for path, body, message in bad_bodies:
        resp = _post(url, path, body)
        assert resp.status_code == 400 and message in resp.json()["error"], resp.text

    a = _run(url, project, [True] * 10)
    b = _run(url, project, [False] * 7 + [True] * 3)
    bad_rows = [
        ({"rows": []}, "'rows': is required"),
        ({"rows": [{"row_id": "x", "status": "ok"}]}, "'rows[0].row_index'"),
        ({"rows": [{"row_index": 0, "row_id": "x", "status": "fine"}]}, "'rows[0].status'"),
        ({"rows": [{"row_index": 0, "row_id": "x", "status": "ok", "scores": [{"scorer": "s", "value": [1]}]}]},
         "'rows[0].scores[0].value'"),
        ({"rows": [{"row_index": 0, "row_id": "x", "status": "ok", "trace_id": "xyz"}]}, "'rows[0].trace_id'"),
    ]
    for body, message in bad_rows:
        resp = _post(url, f"/api/evals/runs/{b}/rows", body)
        assert resp.status_code == 400 and message in resp.json()["error"], resp.text
    resp = _post(url, f"/api/evals/runs/{b}/finish", {"status": "done"})
    assert resp.status_code == 400 and "'status'" in resp.json()["error"]
    resp = _post(url, f"/api/evals/runs/{b}/finish",
                 {"status": "complete", "summaries": [{"scorer": "ok", "kind": "binary", "alpha": 2}]})
    assert resp.status_code == 400 and "'summaries[0].alpha'" in resp.json()["error"]
    assert _post(url, "/api/evals/runs/" + "0" * 32 + "/rows",
                 {"rows": [{"row_index": 0, "row_id": "x", "status": "ok"}]}).status_code == 404

    summaries = [{"scorer": "ok", "kind": "binary", "mean": 0.3, "n": 10}]
    _post(url, f"/api/evals/runs/{a}/finish", {"status": "complete"})
    done = _post(url, f"/api/evals/runs/{b}/finish",
                 {"status": "complete", "summaries": summaries, "baseline_run_id": a[:8]}).json()
    assert done["run"]["status"] == "complete" and done["run"]["baseline_run_id"] == a
    assert done["run"]["comparison"]["verdict"] == "regressed"
    comp = httpx.get(f"{url}/api/evals/compare", params={"a": a, "b": b[:12], "project": project}).json()
    ok = next(s for s in comp["scorers"] if s["scorer"] == "ok")
    assert (ok["worse"], ok["better"], ok["verdict"]) == (7, 0, "regressed")
    assert [r["row_id"] for r in comp["rows"][:7]] == [f"r{i}" for i in range(7)]
    assert all(r["flips"] == {"ok": "pass->fail"} for r in comp["rows"][:7])
    assert comp["rows"][7]["flips"] == {}

    listed = httpx.get(f"{url}/api/evals/runs", params={"project": project, "eval": "api"}).json()["runs"]
    assert [r["run_id"] for r in listed] == [b, a]
    assert listed[0]["summaries"][0]["mean"] == 0.3
    missing = httpx.get(f"{url}/api/evals/runs/abcdef0123", params={"project": project})
    assert missing.status_code == 404 and "abcdef0123" in missing.json()["error"]
    other = httpx.get(f"{url}/api/evals/runs/{a}", params={"project": project + "-other"})
    assert other.status_code == 404
