"""The embedded engine's memory budget: chDB gets 1 GiB and capped caches by default,
``SPYGLASS_CHDB_MEMORY_MB`` changes the budget, a bad value is one clear error, and an
aggregation larger than the budget spills to disk instead of failing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from collector.storage import StorageError
from collector.storage.chdb_engine import server_settings
from tests.conftest import REPO_ROOT

READ = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from collector.storage.chdb_engine import ChdbStorage
    s = ChdbStorage(Path(sys.argv[1]))
    try:
        rows = s.query("SELECT name, value FROM system.server_settings WHERE name IN "
                       "('max_server_memory_usage', 'mark_cache_size', 'primary_index_cache_size')")
        # 40M distinct keys: several GiB of hash table in memory, under the budget by spilling.
        spilled = s.query("SELECT count() AS n FROM (SELECT number % 40000000 AS k, count() "
                          "FROM numbers(40000000) GROUP BY k)")[0]["n"] if len(sys.argv) > 2 else None
        print(json.dumps({"settings": {r["name"]: int(r["value"]) for r in rows}, "groups": spilled}))
    finally:
        s.close()
""")


def _read(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    """Open the data dir in a subprocess (chDB takes one data dir per process)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    full.update({"PYTHONPATH": str(REPO_ROOT), **(env or {})})
    done = subprocess.run([sys.executable, "-c", READ, str(data_dir), *extra], cwd=REPO_ROOT,
                          env=full, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_default_budget_and_cache_caps_and_spilling(tmp_path: Path) -> None:
    out = _read(tmp_path / "data", "aggregate")
    assert out["settings"] == {"max_server_memory_usage": 1024 << 20,
                               "mark_cache_size": 256 << 20,
                               "primary_index_cache_size": 128 << 20}
    assert out["groups"] == 40_000_000


def test_budget_from_the_environment(tmp_path: Path) -> None:
    out = _read(tmp_path / "data", env={"SPYGLASS_CHDB_MEMORY_MB": "3072"})
    assert out["settings"]["max_server_memory_usage"] == 3072 << 20
    assert server_settings({"SPYGLASS_CHDB_MEMORY_MB": "16"})["max_server_memory_usage"] == 256 << 20


def test_a_bad_budget_is_one_clear_error() -> None:
    with pytest.raises(StorageError, match="SPYGLASS_CHDB_MEMORY_MB must be a whole number of MiB, got '1G'"):
        server_settings({"SPYGLASS_CHDB_MEMORY_MB": "1G"})
