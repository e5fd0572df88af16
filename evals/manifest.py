"""What a run's manifest says about how it was produced: suite file hash, task and scorer
identities (name, parameters, code hash, library version), seeds, models and the
environment (Python and every installed package). The hashing and signing themselves are
:mod:`common.records`."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import os
import platform
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from common import records
from evals.binding import jsonable


@cache
def environment() -> dict[str, Any]:
    """Python, platform and every installed distribution with its version (the lock of
    what ran)."""
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name.lower()] = dist.version
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "packages": dict(sorted(packages.items()))}


@cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def library_of(obj: Any) -> dict[str, Any] | None:
    """``{"package", "version"}`` of the installed distribution that provides ``obj``'s
    module, or None (a suite file's own code)."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    top = (module or "").split(".")[0]
    dists = _distributions().get(top)
    if not dists:
        return None
    try:
        return {"package": dists[0], "version": importlib.metadata.version(dists[0])}
    except importlib.metadata.PackageNotFoundError:
        return None


def code_hash(obj: Any) -> str | None:
    """SHA-256 of ``obj``'s source (the function, or the class of an instance); None when
    Python cannot show it (a builtin, a C extension)."""
    target = obj if inspect.isroutine(obj) or inspect.isclass(obj) else type(obj)
    target = getattr(target, "__wrapped__", target)
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def task_identity(task: Any) -> dict[str, Any]:
    """Name, module, code hash and library of the eval's task."""
    return {"name": getattr(task, "__qualname__", None) or type(task).__qualname__,
            "module": getattr(task, "__module__", None), "code_sha256": code_hash(task),
            "library": library_of(task)}


_SCORER_PARAMS = ("threshold", "higher_is_better", "required", "optional", "cheap", "column_map",
                  "model", "rubric", "pattern", "schema", "min_length", "max_length")


def scorer_identity(scorer: Any) -> dict[str, Any]:
    """Name, class, parameters, code hash and library of one scorer."""
    params = {}
    for attr in _SCORER_PARAMS:
        value = getattr(scorer, attr, None)
        if value is not None and not callable(value):
            params[attr] = jsonable(value)
    fn = getattr(scorer, "fn", None) or getattr(scorer, "func", None)
    return {"name": scorer.name, "class": f"{type(scorer).__module__}.{type(scorer).__qualname__}",
            "params": params, "code_sha256": code_hash(fn if callable(fn) else scorer),
            "library": library_of(fn if callable(fn) else scorer)}


def seeds(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every param whose name mentions a seed, and PYTHONHASHSEED."""
    out = {k: v for k, v in params.items() if "seed" in k.lower()}
    out["PYTHONHASHSEED"] = os.environ.get("PYTHONHASHSEED")
    return out


def models(params: Mapping[str, Any], scorers: Sequence[Any]) -> dict[str, Any]:
    """Model names the run used: params naming a model, and judges' models."""
    found: dict[str, Any] = {k: v for k, v in params.items() if "model" in k.lower()}
    for s in scorers:
        model = getattr(s, "model", None)
        if isinstance(model, str) and model:
            found[f"scorer:{s.name}"] = model
    return found


def build(*, run: Mapping[str, Any], summaries: Sequence[Mapping[str, Any]],
          rows: Sequence[Mapping[str, Any]], suite_path: Path, task: Any, scorers: Sequence[Any],
          params: Mapping[str, Any], log_head: Mapping[str, Any], public_key: str) -> dict[str, Any]:
    """The manifest of a finished run (``run``/``summaries`` as the collector stored them,
    ``rows`` as sent), linked after ``log_head``, with its section digests."""
    recs = records.sorted_records(rows)
    manifest = {
        "format": records.MANIFEST_FORMAT,
        "project": run["project"], "run_id": run["run_id"], "eval_name": run["eval_name"],
        "suite": {"label": run["suite"],
                  "sha256": hashlib.sha256(suite_path.read_bytes()).hexdigest()},
        "dataset": run["dataset"],
        "task": task_identity(task),
        "scorers": [scorer_identity(s) for s in scorers],
        "params": jsonable(dict(params)),
        "seeds": seeds(params),
        "models": models(params, scorers),
        "code": {"git_commit": run["code"].get("git_commit"), "git_dirty": run["code"].get("git_dirty")},
        "environment": environment(),
        "started_at": run["started_at"], "ended_at": run["ended_at"], "status": run["status"],
        "row_limit": run.get("row_limit"), "concurrency": run.get("concurrency"),
        "rows": {"count": len(recs), "chain_head": records.chain_head(run["run_id"], recs),
                 "chain": "sha256(prev, canonical(row record)), genesis sha256(run_id)"},
        "stats": run.get("stats") or {},
        "summaries": records.summary_records(summaries),
        "baseline_run_id": run.get("baseline_run_id"),
        "comparison": run.get("comparison"),
        "log": {"seq": int(log_head["seq"]) + 1, "prev": log_head["manifest_hash"]},
        "key_id": records.key_id(public_key),
    }
    return records.with_sections(manifest)
