"""The same datasets and runs on a ClickHouse server instead of chDB (the in-process
collector started by ``evals`` with ``SPYGLASS_CLICKHOUSE_URL``): on
SPYGLASS_TEST_CLICKHOUSE_URL when set, else on the test server (tests/chserver)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.chserver import with_database
from tests.evals.test_run import REGRESSION_SUITE

pytestmark = [pytest.mark.clickhouse_server]


def test_datasets_and_regression_on_a_clickhouse_server(embedded_evals, clickhouse) -> None:
    e = embedded_evals
    env = {"SPYGLASS_CLICKHOUSE_URL": with_database(clickhouse.url,
                                                    f"spyglass_evals_{uuid.uuid4().hex[:8]}")}
    e.write("rows.jsonl", '{"id": 1, "q": "a"}\n{"id": 2, "q": "b"}\n')
    first = e.run("datasets", "push", "rows.jsonl", "--name", "ch", "--key", "id", extra_env=env)
    again = e.run("datasets", "push", "rows.jsonl", "--name", "ch", "--key", "id", extra_env=env)
    assert first.returncode == 0 and "ch:v1" in first.stdout, first.stderr
    assert "unchanged" in again.stdout
    e.write("suite.py", REGRESSION_SUITE)
    assert e.run("run", "suite.py", extra_env=env).returncode == 0
    worse = e.run("run", "suite.py", "--json", "w.json", extra_env={**env, "MODE": "worse"})
    assert worse.returncode == 1, worse.stderr
    comp = json.loads((e.cwd / "w.json").read_text())["runs"][0]["comparison"]
    exact = next(s for s in comp["scorers"] if s["scorer"] == "exact")
    assert (exact["worse"], exact["better"], exact["verdict"]) == (12, 0, "regressed")
