"""Dataset versioning through the real CLI and the collector's dataset routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from common.canonical import RowError
from evals.datasets import Dataset, DatasetError

V1 = [{"id": "1", "question": "2+2", "expected": "4"},
      {"id": "2", "question": "capital of France", "expected": "Paris"},
      {"id": "3", "question": "3*3", "expected": "9"}]


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_same_rows_give_same_version_and_diff_by_key(server_evals) -> None:
    # The in-process store runs the same routes; test_backend.py and the usage test below
    # push and pull through it.
    e = server_evals
    e.write("v1.jsonl", _jsonl(V1))
    first = e.run("datasets", "push", "v1.jsonl", "--name", "golden", "--key", "id")
    assert first.returncode == 0, first.stderr
    assert "golden:v1" in first.stdout and "(new version)" in first.stdout
    local_id = Dataset(V1).version_id
    assert local_id in first.stdout  # the server computed the same content id

    # The same rows in another order and another format make no new version.
    e.write("v1.csv", "question,expected,id\n3*3,9,3\n2+2,4,1\ncapital of France,Paris,2\n")
    again = e.run("datasets", "push", "v1.csv", "--name", "golden", "--key", "id")
    assert again.returncode == 0, again.stderr
    assert "golden:v1" in again.stdout and "unchanged" in again.stdout

    v2 = [{"id": "1", "question": "2+2", "expected": "four"},  # changed
          V1[1],                                               # unchanged
          {"id": "4", "question": "10/2", "expected": "5"}]    # added; id 3 removed
    e.write("v2.jsonl", _jsonl(v2))
    second = e.run("datasets", "push", "v2.jsonl", "--name", "golden", "--key", "id")
    assert second.returncode == 0 and "golden:v2" in second.stdout, second.stderr

    diff = e.run("datasets", "diff", "golden:v1", "golden:v2")
    assert diff.returncode == 0, diff.stderr
    assert "by key id: 1 added, 1 removed, 1 changed, 1 unchanged" in diff.stdout
    lines = diff.stdout.splitlines()
    assert any(ln.startswith("+ ") and '"10/2"' in ln for ln in lines)
    assert any(ln.startswith("- ") and '"3*3"' in ln for ln in lines)
    assert any(ln.startswith("~ ") and '"4"' in ln for ln in lines)

    piped = subprocess.run([sys.executable, "-m", "evals", "datasets", "push", "-", "--name", "golden",
                            "--key", "id"], input=_jsonl(v2), cwd=e.cwd, env=e.env,
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "golden:v2" in piped.stdout and "unchanged" in piped.stdout

    pulled = e.run("datasets", "pull", "golden:v1", "-o", "out.jsonl")
    assert pulled.returncode == 0, pulled.stderr
    rows = [json.loads(ln) for ln in (e.cwd / "out.jsonl").read_text().splitlines()]
    assert rows == V1  # the order of the first publish
    latest = e.run("datasets", "pull", "golden")
    assert [json.loads(ln) for ln in latest.stdout.splitlines()] == v2

    listing = e.run("datasets", "list")
    assert listing.returncode == 0
    line = next(ln for ln in listing.stdout.splitlines() if "golden" in ln)
    assert "v2" in line and e.project in line
    shown = e.run("datasets", "show", "golden")
    assert "v1" in shown.stdout and "v2" in shown.stdout
    assert "golden:v2" in shown.stdout


def test_usage_errors_are_one_line_exit_2(embedded_evals) -> None:
    e = embedded_evals
    missing = e.run("datasets", "push", "nope.jsonl", "--name", "x")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == ["evals: error: dataset file nope.jsonl does not exist"]
    e.write("bad.jsonl", '{"a": 1}\nnot json\n')
    bad = e.run("datasets", "push", "bad.jsonl", "--name", "x")
    assert bad.returncode == 2 and "bad.jsonl:2: invalid JSON" in bad.stderr
    e.write("ok.jsonl", '{"a": 1}\n')
    ok = e.run("datasets", "push", "ok.jsonl", "--name", "x")
    assert ok.returncode == 0, ok.stderr
    unknown = e.run("datasets", "show", "x:v7")
    assert unknown.returncode == 2 and "has no version v7" in unknown.stderr
    assert len([ln for ln in unknown.stderr.splitlines() if ln.startswith("evals: error")]) == 1


def test_dataset_routes_validate_and_serve_rows(spyglass_server, project: str) -> None:
    url = f"{spyglass_server.url}/api/datasets"
    bad = [
        ({"name": "a:b", "rows": [{"x": 1}]}, "'name'"),
        ({"name": "ok", "rows": []}, "'rows': must not be empty"),
        ({"name": "ok", "rows": [{"x": 1}, 5]}, "row 1: expected a JSON object"),
        ({"name": "ok", "rows": [{"id": 1}, {"id": 1}], "key": "id"}, "repeats an earlier row"),
        ({"name": "ok", "rows": [{"x": 1}], "colour": 1}, "'colour': unknown field"),
    ]
    for body, message in bad:
        resp = httpx.post(url, json={**body, "project": project})
        assert resp.status_code == 400, resp.text
        assert message in resp.json()["error"]
    rows = [{"n": i, "text": f"row {i}"} for i in range(25)]
    created = httpx.post(url, json={"name": "paged", "rows": rows, "project": project})
    assert created.status_code == 201 and created.json()["version"] == "v1"
    same = httpx.post(url, json={"name": "paged", "rows": list(reversed(rows)), "project": project})
    assert same.status_code == 200 and same.json()["created"] is False
    page = httpx.get(f"{url}/paged/versions/latest/rows",
                     params={"project": project, "offset": 10, "limit": 5}).json()
    assert [r["n"] for r in page["rows"]] == [10, 11, 12, 13, 14]
    assert page["row_ids"] == Dataset(rows).row_ids[10:15]
    by_id = httpx.get(f"{url}/paged/versions/{created.json()['version_id'][:10]}/rows",
                      params={"project": project})
    assert by_id.status_code == 200 and by_id.json()["version"] == "v1"
    dups = [{"q": "a"}, {"q": "b"}, {"q": "a"}, {"q": "a"}]
    assert httpx.post(url, json={"name": "dups", "rows": dups, "project": project}).status_code == 201
    tail = httpx.get(f"{url}/dups/versions/v1/rows", params={"project": project, "offset": 2}).json()
    assert tail["row_ids"] == Dataset(dups).row_ids[2:] and tail["row_ids"][1].endswith("#3")
    missing = httpx.get(f"{url}/nothing-here/versions", params={"project": project})
    assert missing.status_code == 404 and "nothing-here" in missing.json()["error"]


def test_version_id_is_the_multiset_of_canonical_rows(tmp_path: Path) -> None:
    a = Dataset([{"q": "x", "n": 1.5}, {"q": "y", "n": [1, 2]}])
    b = Dataset([{"n": [1, 2], "q": "y"}, {"n": 1.5, "q": "x"}])
    assert a.version_id == b.version_id
    assert Dataset([{"q": "x"}, {"q": "x"}]).version_id != Dataset([{"q": "x"}]).version_id
    assert Dataset([{"q": "x"}]).version_id != Dataset([{"q": "x "}]).version_id
    dup = Dataset([{"q": "x"}, {"q": "x"}])
    assert dup.row_ids[1] == dup.row_ids[0] + "#2"
    (tmp_path / "d.json").write_text(json.dumps([{"q": "x", "n": 1.5}, {"q": "y", "n": [1, 2]}]))
    assert Dataset.from_file(tmp_path / "d.json").version_id == a.version_id
    with pytest.raises(RowError, match=r"row 0.*NaN"):
        Dataset([{"x": float("nan")}])
    with pytest.raises(DatasetError, match="unknown dataset format"):
        (tmp_path / "d.txt").write_text("x")
        Dataset.from_file(tmp_path / "d.txt")
    keyed = Dataset([{"id": 7, "q": "a"}, {"id": 8, "q": "b"}], key="id")
    assert keyed.row_ids == ["7", "8"]
    changed = keyed.diff(Dataset([{"id": 7, "q": "A"}, {"id": 9, "q": "c"}], key="id"))
    assert (len(changed.added), len(changed.removed), len(changed.changed)) == (1, 1, 1)


def test_publish_and_load_from_python(embedded_evals) -> None:
    e = embedded_evals
    e.write("script.py", """
        import evals
        rows = [{"id": 1, "q": "a"}, {"id": 2, "q": "b"}]
        first = evals.publish(rows, "py", key="id", description="from python")
        again = evals.publish(list(reversed(rows)), "py", key="id")
        second = evals.publish(rows + [{"id": 3, "q": "c"}], "py", key="id")
        back = evals.load("py:v1")
        print(first.version, again.version, second.version, back.version, back.rows == rows,
              back.key, back.version_id == first.version_id)
    """)
    done = subprocess.run([sys.executable, "script.py"], cwd=e.cwd, env=e.env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["v1", "v1", "v2", "v1", "True", "id", "True"]
