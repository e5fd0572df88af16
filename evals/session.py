"""``evals run``: resolve datasets and baselines, run each eval × params combination,
store rows and summaries through the collector API, and compare with the baseline."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import gate
from evals.backend import Backend
from evals.client import ApiError
from evals.datasets import Dataset, DatasetError, DatasetRef
from evals.fingerprint import code_fingerprint
from evals.record import seal_run
from evals.runner import RowResult, Runner, RunOptions, TaskBindingError
from evals.suite import Eval, EvalConfigError
from evals.summary import run_stats, scorer_summary, task_success_summary
from evals.tracing import Tracing

DEFAULT_CONCURRENCY = 8


@dataclasses.dataclass
class RunRequest:
    """What ``evals run`` was asked to do."""

    suite_path: Path
    suite_label: str
    evals: Sequence[Eval]
    param_overrides: dict[str, Any]
    concurrency: int | None = None
    limit: int | None = None
    baseline: str | None = None  # None = same eval+params+dataset version; "latest"; "none"; an id
    timeout_s: float | None = None
    progress: bool = False
    #: The gate options of ``evals run`` (they win over the suite's settings).
    gate_options: gate.GateConfig = dataclasses.field(default_factory=gate.GateConfig)


@dataclasses.dataclass
class EvalRunResult:
    """One finished (or interrupted) run, as stored, with its comparison."""

    eval_name: str
    params: dict[str, Any]
    dataset: Dataset
    run: dict[str, Any]
    summaries: list[dict[str, Any]]
    comparison: dict[str, Any] | None
    results: list[RowResult]
    interrupted: bool
    signal: int | None = None
    #: Why this run fails the gate, task failures first (empty: it passes).
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """True when the run fails the gate (see :mod:`common.gate`)."""
        return bool(self.failures)


def resolve_dataset(ev: Eval, suite_dir: Path, backend: Backend) -> Dataset:
    """The eval's rows: fetched by name, read from a file, or taken from the list."""
    source = ev.dataset
    try:
        if isinstance(source, DatasetRef):
            try:
                data = backend.client.dataset_rows(source.name, source.version, backend.project)
            except ApiError as exc:
                raise EvalConfigError(f"eval {ev.name!r}: dataset {source}: {exc}") from None
            return Dataset(data["rows"], name=source.name, key=data.get("key") or ev.key,
                           version=data["version"])
        if isinstance(source, Dataset):
            if ev.key and source.key != ev.key:
                return Dataset(source.rows, name=source.name, key=ev.key, version=source.version)
            return source
        if isinstance(source, str | Path):
            path = Path(source)
            if not path.is_absolute():
                path = suite_dir / path
            return Dataset.from_file(path, key=ev.key)
        if isinstance(source, list | tuple):
            return Dataset(source, name=None, key=ev.key)
    except (DatasetError, ValueError) as exc:
        if isinstance(exc, EvalConfigError):
            raise
        raise EvalConfigError(f"eval {ev.name!r}: {exc}") from None
    raise EvalConfigError(f"eval {ev.name!r}: dataset must be dataset('name:version'), a path, "
                          f"a list of dicts or a Dataset, got {type(source).__name__}")


def resolve_baseline(spec: str | None, ev: Eval, params: dict[str, Any], dataset: Dataset,
                     backend: Backend, project: str | None) -> dict[str, Any] | None:
    """The run to compare with: by default the last complete run of the same eval with the
    same params on the same dataset version; ``latest`` drops the dataset condition;
    ``none`` compares with nothing; anything else is a run id (or prefix)."""
    if spec is not None and spec.lower() == "none":
        return None
    client = backend.client
    if spec is None or spec.lower() == "latest":
        runs = client.list_runs(project=project, eval_name=ev.name, status="complete",
                                params=params, limit=1,
                                dataset_version_id=dataset.version_id if spec is None else None)
        return runs[0] if runs else None
    try:
        return client.get_run(spec, project=project, limit=1)["run"]
    except ApiError as exc:
        raise EvalConfigError(f"--baseline {spec}: {exc}") from None


def execute(request: RunRequest, backend: Backend, tracing: Tracing,
            say: Callable[[str], None]) -> list[EvalRunResult]:
    """Run every requested eval × params combination; stops after an interrupted run."""
    fingerprint = code_fingerprint(request.suite_path)
    # Imported here, not with the others: keeps this module's import block as it was
    # (other branches edit it) and costs nothing after the first call.
    from evals import prompts as prompt_params

    plans = []
    # Validate everything (datasets, params, task binding) before the first row runs, so a
    # usage error never leaves half a suite behind.
    for ev in request.evals:
        dataset = resolve_dataset(ev, request.suite_path.parent, backend)
        selected = dataset.head(request.limit) if request.limit is not None else dataset
        for params in ev.param_grid(request.param_overrides):
            # Prompt refs ("qa:v3") become Prompt objects for the task; the run records
            # their version ids (evals/prompts.py).
            task_params, params = prompt_params.resolve_prompt_params(
                params, endpoint=backend.url, api_key=backend.api_key, project=backend.project)
            plans.append((ev, params, dataset, selected, task_params))
    explicit_baseline = None
    if request.baseline is not None and request.baseline.lower() not in ("latest", "none"):
        explicit_baseline = resolve_baseline(request.baseline, request.evals[0], {}, plans[0][2],
                                             backend, backend.project)
    out: list[EvalRunResult] = []
    for ev, params, dataset, selected, task_params in plans:
        options = RunOptions(
            concurrency=request.concurrency or ev.concurrency or DEFAULT_CONCURRENCY,
            timeout_s=request.timeout_s or ev.timeout, retries=ev.retries,
            retry_on=ev.retry_on, progress=request.progress)
        run_id = uuid.uuid4().hex
        runner = Runner(eval_name=ev.name, task=prompt_params.with_prompt_scope(ev.task, task_params),
                        scorers=ev.scorers, params=task_params,
                        dataset=selected, run_id=run_id, tracing=tracing, options=options,
                        on_rows=lambda rows, rid=run_id: asyncio.to_thread(backend.client.add_rows, rid, rows),
                        dataset_label=dataset.label)
        try:
            runner.check_binding()
        except TaskBindingError as exc:
            raise EvalConfigError(f"eval {ev.name!r}: {exc}") from None
        created = backend.client.create_run({
            "run_id": run_id, "project": backend.project, "suite": request.suite_label,
            "eval_name": ev.name, "params": params,
            "dataset": {"name": dataset.name, "version": dataset.version,
                        "version_id": dataset.version_id, "rows": len(dataset)},
            "code": fingerprint, "row_limit": request.limit, "concurrency": options.concurrency,
        })
        if explicit_baseline is None:
            # Looked up after creating the run: its project is the one the collector chose
            # (the API key's when no project was given); a running run is never a baseline.
            baseline = resolve_baseline(request.baseline, ev, params, dataset, backend,
                                        created["project"])
        else:
            baseline = explicit_baseline
        started = time.monotonic()
        try:
            results = asyncio.run(runner.run())
        except BaseException as exc:
            # Never leave a run "running" forever: record what happened, then re-raise.
            finished = _mark_failed(backend, run_id, exc, runner, time.monotonic() - started,
                                    len(selected))
            if finished is not None:
                # A crashed run is part of the record too: sign what was stored, so
                # nobody can later turn it into a clean run or delete its rows unseen.
                with contextlib.suppress(Exception):
                    seal_run(backend.client, run=finished["run"],
                             summaries=finished.get("summaries") or [],
                             rows=[r.to_api() for r in runner.results],
                             suite_path=request.suite_path, task=ev.task, scorers=ev.scorers,
                             params=params, say=say)
            raise
        duration = time.monotonic() - started
        tracing.flush()
        summaries = [scorer_summary(s, results, ev.threshold) for s in ev.scorers]
        summaries.append(task_success_summary(results, ev.threshold))
        status = "partial" if runner.interrupted else "complete"
        config = ev.gate_config(request.gate_options)
        run_stat = run_stats(results, duration, len(selected), runner.rows_wall_s)
        # Stored with the run so every later comparison of it applies the same gate.
        run_stat["gate"] = config.to_json()
        finished = backend.client.finish_run(run_id, {
            "status": status,
            "stats": run_stat,
            "summaries": summaries,
            "baseline_run_id": baseline["run_id"] if baseline else None,
        })
        # Sign what was stored (rows as sent, summaries and verdict as answered); the
        # collector keeps the manifest only if it matches its store exactly.
        seal_run(backend.client, run=finished["run"], summaries=finished["summaries"],
                 rows=[r.to_api() for r in results], suite_path=request.suite_path,
                 task=ev.task, scorers=ev.scorers, params=params, say=say)
        failed = sum(r.status != "ok" for r in results)
        out.append(EvalRunResult(ev.name, params, dataset, finished["run"], finished["summaries"],
                                 finished.get("comparison"), results, runner.interrupted,
                                 runner.signal,
                                 gate.error_rate_failures(failed, len(results), config.max_error_rate,
                                                          has_baseline=baseline is not None)))
        if runner.interrupted:
            say(f"evals: interrupted; saved {len(results)} of {len(selected)} rows of "
                f"{ev.name}, run {run_id} marked partial")
            break
    apply_gate(out)
    return out


def apply_gate(results: Sequence[EvalRunResult]) -> None:
    """One Holm family over every comparison of the suite run (all evals, params
    combinations, scorers and gates), then each run's failures: with a baseline the
    comparison's (task failures first), without one the error-rate rule."""
    comparisons = [r.comparison for r in results if r.comparison]
    gate.finalize(comparisons)
    for r in results:
        if r.comparison:
            r.failures = list(r.comparison["failures"])


def _mark_failed(backend: Backend, run_id: str, exc: BaseException, runner: Runner,
                 duration: float, total: int) -> dict[str, Any] | None:
    """Best effort: store the rows that finished and mark the run ``failed``; the
    collector's answer, or None when that failed too."""
    stats = run_stats(runner.results, duration, total)
    stats["failure"] = f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(Exception):
        asyncio.run(runner.flush())
    try:
        return backend.client.finish_run(run_id, {"status": "failed", "stats": stats})
    except Exception:
        return None
