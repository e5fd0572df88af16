"""The dependency rule between the parts (docs/internals.md, ``[tool.importlinter]`` in
pyproject.toml) holds: plain ``pytest`` fails on a forbidden import or a cycle, as
``make test`` does with ``lint-imports``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _config() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_import_contracts_are_kept() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as m; m()",
         "--no-cache", "--config", str(REPO_ROOT / "pyproject.toml")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout
    kept = proc.stdout.count(" KEPT")
    assert kept == len(_config()["contracts"]), proc.stdout[-4000:]


def test_every_python_part_is_under_the_contracts() -> None:
    # A new top-level package must take its place in the rule, not slip past it.
    skip = {"tests", "benchmarks", "examples", "docs", "build", "dist"}
    parts = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")} - skip
    assert parts == set(_config()["root_packages"])
    include = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["packages"]["find"]["include"]
    assert {f"{p}*" for p in parts} <= set(include)
