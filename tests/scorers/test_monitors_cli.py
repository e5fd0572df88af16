"""Issue 15: `spyglass monitors` over the monitors stored in a collector (list, create,
pause, resume, delete, status) and the monitors file as an import/export format."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import REPO_ROOT


def cli(url: str | None, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    endpoint = ("--endpoint", url) if url else ()
    return subprocess.run([sys.executable, "-m", "collector", "monitors", *args, *endpoint],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)


def ok(url: str, *args: str) -> str:
    done = cli(url, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def stored(url: str, project: str) -> dict[str, dict]:
    listed = httpx.get(f"{url}/api/monitors", params={"project": project}).json()["monitors"]
    return {m["name"]: m for m in listed}


def test_create_list_pause_resume_status_delete(spyglass_server) -> None:
    url, project = spyglass_server.url, f"cli-{uuid.uuid4().hex[:8]}"
    out = ok(url, "create", "--project", project, "--name", "leaks", "--scorer", "pii",
             "--scorer", '{"type": "regex", "pattern": "secret", "must_match": false, "name": "secret"}',
             "--filter", "kind=llm", "--sample-rate", "0.5", "--judge-budget", "2.5")
    mid = out.split()[0]
    m = stored(url, project)["leaks"]
    assert (m["id"], m["filter"], m["sample_rate"], m["judge_budget_usd_per_day"], m["enabled"]) == (
        mid, {"kind": "llm"}, 0.5, 2.5, True)
    assert m["scorers"] == ["pii", {"type": "regex", "pattern": "secret", "must_match": False, "name": "secret"}]

    listed = ok(url, "list", "--project", project)
    assert listed.startswith(f"{mid}  {project}  leaks: kind=llm, sample 0.5 -> pii, regex")
    assert "judge budget $2.5/day" in listed

    assert ok(url, "pause", "leaks", "--project", project).strip().endswith("leaks: paused")
    assert stored(url, project)["leaks"]["enabled"] is False
    assert "[paused]" in ok(url, "list", "--project", project)
    status = ok(url, "status", "leaks", "--project", project)
    assert status.startswith(f"{project}  leaks  [paused] sampled=0 scored=0")
    assert ok(url, "resume", mid).strip().endswith("leaks: resumed")
    assert stored(url, project)["leaks"]["enabled"] is True

    as_json = ok(url, "status", "--project", project, "--json")
    assert '"dropped_backlog":0' in as_json and '"judge_skipped_budget":0' in as_json

    assert ok(url, "delete", mid).strip().endswith("leaks: deleted")
    assert stored(url, project) == {}


def test_export_then_import_round_trips_and_run_reads_the_export(spyglass_server, tmp_path: Path) -> None:
    url, project = spyglass_server.url, f"cli-{uuid.uuid4().hex[:8]}"
    ok(url, "create", "--project", project, "--name", "a", "--scorer", "pii", "--filter", "name=answer")
    ok(url, "create", "--project", project, "--name", "b", "--scorer", "secrets", "--paused",
       "--field", "output=output.choices.0.message.content")
    exported = tmp_path / "monitors.yaml"
    ok(url, "export", str(exported), "--project", project)
    data = yaml.safe_load(exported.read_text())
    assert data == {"monitors": [
        {"name": "a", "project": project, "scorers": ["pii"], "filter": {"name": "answer"}, "sample_rate": 1.0},
        {"name": "b", "project": project, "scorers": ["secrets"], "sample_rate": 1.0,
         "fields": {"output": "output.choices.0.message.content"}, "enabled": False}]}
    assert yaml.safe_load(ok(url, "export", "--project", project)) == data  # stdout

    # The standalone mode reads the same file (the paused entry is validated, not run).
    checked = ok(None, "check", "--config", str(exported))
    assert checked.startswith(f"a: project={project} (name=answer), sample 1 -> pii")

    # Import: an existing (project, name) is replaced, a new one created.
    data["monitors"][0]["sample_rate"] = 0.25
    data["monitors"].append({"name": "c", "project": project, "scorers": [
        {"type": "regex", "pattern": "x", "name": "x"}], "judge_budget_usd_per_day": 1})
    changed = tmp_path / "changed.yml"
    changed.write_text(yaml.safe_dump(data))
    assert ok(url, "import", str(changed)).strip() == "1 created, 2 updated"
    now = stored(url, project)
    assert (now["a"]["sample_rate"], now["b"]["enabled"], now["c"]["judge_budget_usd_per_day"]) == (0.25, False, 1.0)
    assert len(now) == 3

    # create --file stores every entry of a file; an existing name is refused (409).
    other = f"cli-{uuid.uuid4().hex[:8]}"
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[[monitors]]\nname = "t"\nproject = "{other}"\nscorers = ["pii"]\n')
    assert ok(url, "create", "--file", str(fresh)).split()[1:] == [other, "t"]
    again = cli(url, "create", "--file", str(fresh))
    assert again.returncode == 2 and "already has a monitor named 't'" in again.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("create", "--project", "p", "--name", "n", "--scorer", "no_such_scorer"), "unknown scorer 'no_such_scorer'"),
    (("create", "--project", "p", "--name", "n"), "needs --project, --name and at least one --scorer"),
    (("create", "--project", "p", "--name", "bad name", "--scorer", "pii"), "name"),
    (("create", "--project", "p", "--name", "n", "--scorer", "pii", "--filter", "colour=red"),
     "unknown filter keys ['colour']"),
    (("create", "--project", "p", "--name", "n", "--scorer", "pii", "--filter", "kind"), "--filter takes KEY=VALUE"),
    (("create", "--project", "p", "--name", "n", "--scorer", "{oops"), "is not valid JSON"),
    (("create", "--project", "p", "--name", "n", "--scorer", "pii", "--sample-rate", "2"), "sample_rate"),
    (("create", "--project", "p", "--name", "n", "--scorer", "pii", "--judge-budget", "-1"), "judge_budget_usd_per_day"),
    (("pause", "no-such-monitor"), "no monitor with id or name 'no-such-monitor'"),
    (("import", "missing.yaml"), "cannot read monitors config"),
    (("export", "out.toml"), "export writes YAML"),
])
def test_bad_input_is_one_line_and_exit_2(spyglass_server, args: tuple[str, ...], message: str) -> None:
    done = cli(spyglass_server.url, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spyglass monitors: error:") and message in lines[0], lines


def test_bad_import_file_stores_nothing(spyglass_server, tmp_path: Path) -> None:
    url, project = spyglass_server.url, f"cli-{uuid.uuid4().hex[:8]}"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"monitors": [
        {"name": "fine", "project": project, "scorers": ["pii"]},
        {"name": "broken", "project": project, "scorers": ["pii"], "colour": "red"}]}))
    done = cli(url, "import", str(bad))
    assert done.returncode == 2 and "monitors[1] has unknown keys ['colour']" in done.stderr
    assert stored(url, project) == {}


def test_unreachable_collector_exits_1(tmp_path: Path) -> None:
    done = cli("http://127.0.0.1:9", "list")
    assert done.returncode == 1 and "unreachable" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_follows_the_running_collectors_endpoint_file(spyglass_server, tmp_path: Path) -> None:
    """Without --endpoint the CLI finds `spyglass serve` through ~/.spyglass/endpoint."""
    import json
    import os

    home = tmp_path / "home"
    home.mkdir()
    (home / "endpoint").write_text(json.dumps({"url": spyglass_server.url, "data_dir": str(tmp_path),
                                               "pid": spyglass_server.process.pid}))
    env = {k: v for k, v in os.environ.items() if k != "SPYGLASS_ENDPOINT"} | {"SPYGLASS_HOME": str(home)}
    project = f"cli-{uuid.uuid4().hex[:8]}"
    done = cli(None, "create", "--project", project, "--name", "x", "--scorer", "pii", env=env)
    assert done.returncode == 0, done.stderr
    assert set(stored(spyglass_server.url, project)) == {"x"}
