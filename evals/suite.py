"""``Eval``: one evaluation (dataset, task, scorers, params); suite files and discovery.

A suite is a Python file; every module-level :class:`Eval` in it is discovered by
``evals run suite.py``. Everything wrong with a suite (it does not import, an eval is
misconfigured, ``-k`` or ``--param`` name something unknown) raises
:class:`EvalConfigError`, which the CLI prints as one line and exits 2.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import inspect
import itertools
import json
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.canonical import canonical_json
from common.gate import GateConfig, GateConfigError, MinDelta, parse_fraction
from common.stats import DEFAULT_ALPHA
from evals.datasets import Dataset, DatasetRef

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
#: Metric names the runner reports itself; a scorer may not use them.
RESERVED = ("task_success",)


class EvalConfigError(ValueError):
    """A suite or eval cannot be run as written; the message says what to fix."""


@dataclass(frozen=True)
class Threshold:
    """When a change in a scorer counts: the paired test must give a Holm-adjusted
    p < ``alpha`` and the paired mean difference must be at least ``min_delta`` in size.

    ``min_delta``: an absolute amount (``0.05``), a share of the baseline mean's magnitude
    (``"5%"``), or None for the default by kind (0.02 of pass rate for pass/fail scorers,
    0.01 for scores in [0, 1], 1% of |baseline mean| otherwise; see docs/evals.md)."""

    min_delta: float | str | None = None
    alpha: float = DEFAULT_ALPHA

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise EvalConfigError(f"Threshold alpha must be between 0 and 1, got {self.alpha}")
        try:
            MinDelta.parse(self.min_delta)
        except GateConfigError as exc:
            raise EvalConfigError(f"Threshold {exc}") from None

    @property
    def min_delta_spec(self) -> MinDelta | None:
        """``min_delta`` parsed (None: the default by kind)."""
        return MinDelta.parse(self.min_delta)

    @property
    def min_delta_number(self) -> float | None:
        """``min_delta`` when it is an absolute amount (what a run summary stores)."""
        spec = self.min_delta_spec
        return None if spec is None or spec.relative else spec.amount


def _as_scorer(obj: Any, eval_name: str) -> Any:
    from scorers.base import Scorer

    if isinstance(obj, Scorer):
        return obj
    if callable(obj):
        from scorers.decorator import scorer

        return scorer(obj)
    raise EvalConfigError(f"eval {eval_name!r}: scorer {obj!r} is neither a Scorer nor a function")


class Eval:
    """One evaluation: run ``task`` on every row of ``dataset`` and grade it with ``scorers``.

    - ``dataset``: ``dataset("name:latest")`` (saved in Spyglass), a path to a .jsonl /
      .json / .csv file (relative to the suite file), a list of dicts, or a :class:`Dataset`.
    - ``task``: a function (sync or async, usually an ``@op``). Its parameters are filled
      by name from the row's columns, then from ``params``; a parameter named ``row``
      gets the whole row; a single parameter no column names gets the row's ``input``.
    - ``scorers``: scorer objects or plain functions (made scorers with ``@scorer``).
      Each is given ``output`` (what the task returned), ``input`` and every row column.
    - ``params``: values passed to the task by name; a list value is a grid axis, and
      there is one run per combination.
    - ``thresholds``: per scorer name a :class:`Threshold` (or a dict with ``min_delta``,
      ``alpha``); ``min_delta`` / ``alpha`` set the default for every scorer.
    - ``max_error_rate``: fail the run when more than this share of rows' tasks failed
      (default 0.5, applied only when there is no baseline); ``max_latency_increase`` /
      ``max_cost_increase`` (``0.2`` or ``"20%"``): fail when the paired per-row latency /
      cost rose by at least that much, significantly (see docs/evals.md, the gate).
    - ``key``: the row column that identifies a row (pairs rows across runs and versions).
    - ``timeout``, ``concurrency``, ``retries``, ``retry_on``: runner defaults for this
      eval (``--timeout`` / ``--concurrency`` override); ``retry_on`` lists exception
      types retried besides :class:`evals.Retryable`.
    """

    def __init__(
        self,
        name: str,
        dataset: DatasetRef | Dataset | str | Path | Sequence[Mapping[str, Any]],
        task: Callable[..., Any],
        scorers: Iterable[Any] = (),
        params: Mapping[str, Any] | None = None,
        *,
        thresholds: Mapping[str, Threshold | Mapping[str, float]] | None = None,
        min_delta: float | str | None = None,
        alpha: float = DEFAULT_ALPHA,
        max_error_rate: float | str | None = None,
        max_latency_increase: float | str | None = None,
        max_cost_increase: float | str | None = None,
        key: str | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        retries: int = 2,
        retry_on: Sequence[type[BaseException]] = (),
    ) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise EvalConfigError(f"Eval name {name!r} must be 1-200 letters, digits, '.', '_' or '-'")
        if not callable(task):
            raise EvalConfigError(f"eval {name!r}: task must be a function, got {type(task).__name__}")
        self.name = name
        self.task = task
        self.dataset = dataset
        self.key = key
        self.scorers = [_as_scorer(s, name) for s in scorers]
        names = [s.name for s in self.scorers]
        for n in names:
            if names.count(n) > 1:
                raise EvalConfigError(f"eval {name!r}: two scorers are named {n!r}; "
                                      "rename one with .with_name('...')")
            if n in RESERVED:
                raise EvalConfigError(f"eval {name!r}: scorer name {n!r} is reserved")
        self.params = dict(params or {})
        for k in self.params:
            if not isinstance(k, str) or not k:
                raise EvalConfigError(f"eval {name!r}: param names must be strings")
        self.default_threshold = Threshold(min_delta, alpha)
        try:
            self.max_error_rate = (None if max_error_rate is None
                                   else parse_fraction(max_error_rate, "max_error_rate"))
            self.max_latency_increase = (None if max_latency_increase is None
                                         else parse_fraction(max_latency_increase, "max_latency_increase"))
            self.max_cost_increase = (None if max_cost_increase is None
                                      else parse_fraction(max_cost_increase, "max_cost_increase"))
        except GateConfigError as exc:
            raise EvalConfigError(f"eval {name!r}: {exc}") from None
        if self.max_error_rate is not None and self.max_error_rate > 1:
            raise EvalConfigError(f"eval {name!r}: max_error_rate must be between 0 and 1")
        self.thresholds: dict[str, Threshold] = {}
        for scorer_name, t in (thresholds or {}).items():
            if scorer_name not in names and scorer_name not in RESERVED:
                raise EvalConfigError(f"eval {name!r}: threshold for unknown scorer {scorer_name!r} "
                                      f"(scorers: {', '.join(names) or 'none'})")
            self.thresholds[scorer_name] = t if isinstance(t, Threshold) else Threshold(**dict(t))
        if timeout is not None and timeout <= 0:
            raise EvalConfigError(f"eval {name!r}: timeout must be > 0 seconds")
        if concurrency is not None and concurrency < 1:
            raise EvalConfigError(f"eval {name!r}: concurrency must be >= 1")
        if retries < 0:
            raise EvalConfigError(f"eval {name!r}: retries must be >= 0")
        self.timeout = timeout
        self.concurrency = concurrency
        self.retries = retries
        self.retry_on = tuple(retry_on)

    def threshold(self, scorer_name: str) -> Threshold:
        """The threshold that applies to ``scorer_name``."""
        return self.thresholds.get(scorer_name, self.default_threshold)

    def gate_config(self, overrides: GateConfig | None = None) -> GateConfig:
        """The gate settings of this eval's runs: the suite's, with the ``evals run``
        options (``overrides``) winning where they are set."""
        deltas: dict[str, MinDelta] = {}
        default = self.default_threshold.min_delta_spec
        if default is not None:
            deltas["*"] = default
        for name, t in self.thresholds.items():
            spec = t.min_delta_spec
            if spec is not None:
                deltas[name] = spec
        o = overrides or GateConfig()
        if o.min_delta.get("*") is not None:
            # A run-wide --min-delta replaces the suite's run-wide and per-scorer values.
            deltas = {}
        deltas.update(o.min_delta)
        return GateConfig(
            max_error_rate=o.max_error_rate if o.max_error_rate is not None else self.max_error_rate,
            max_latency_increase=(o.max_latency_increase if o.max_latency_increase is not None
                                  else self.max_latency_increase),
            max_cost_increase=(o.max_cost_increase if o.max_cost_increase is not None
                               else self.max_cost_increase),
            min_delta=deltas)

    def param_grid(self, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One params dict per run: the product of list-valued params, after ``overrides``
        (``--param k=v``) replaced the named params with single values."""
        merged = dict(self.params)
        for k, v in (overrides or {}).items():
            if k not in merged and not _task_accepts(self.task, k):
                raise EvalConfigError(
                    f"--param {k}: eval {self.name!r} has no param {k!r} "
                    f"(params: {', '.join(sorted(self.params)) or 'none'})")
            merged[k] = v
        axes = [(k, v if isinstance(v, list) else [v]) for k, v in merged.items()]
        if any(not values for _, values in axes):
            empty = next(k for k, values in axes if not values)
            raise EvalConfigError(f"eval {self.name!r}: param {empty!r} is an empty list")
        for k, values in axes:
            for v in values:
                try:
                    canonical_json(v)
                except (TypeError, ValueError):
                    raise EvalConfigError(f"eval {self.name!r}: param {k!r} value {v!r} is not "
                                          "JSON (runs record their params)") from None
        keys = [k for k, _ in axes]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))]

    def __repr__(self) -> str:
        return f"Eval(name={self.name!r}, scorers={[s.name for s in self.scorers]})"


def _task_accepts(task: Callable[..., Any], name: str) -> bool:
    try:
        sig = inspect.signature(task)
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


def parse_param(text: str) -> tuple[str, Any]:
    """``k=v`` -> (k, v) with v parsed as JSON when it is JSON (numbers, true, lists),
    else kept as text."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise EvalConfigError(f"--param {text!r}: expected NAME=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def load_suite(path: str | Path) -> tuple[Path, list[Eval]]:
    """Import a suite file and return (its resolved path, its evals in file order)."""
    p = Path(path).resolve()
    if not p.is_file():
        raise EvalConfigError(f"suite file {path} does not exist")
    if p.suffix != ".py":
        raise EvalConfigError(f"suite file {path} is not a Python file (.py)")
    module_name = f"_evals_suite_{p.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, p)
    if spec is None or spec.loader is None:
        raise EvalConfigError(f"cannot import suite file {path}")
    module = importlib.util.module_from_spec(spec)
    # The suite's own folder comes first so it can import its helper modules.
    sys.path.insert(0, str(p.parent))
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except EvalConfigError as exc:
        raise EvalConfigError(f"{path}: {exc}") from None
    except SyntaxError as exc:
        raise EvalConfigError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        line = _suite_line(exc, p)
        raise EvalConfigError(f"{path}{line}: importing the suite raised "
                              f"{type(exc).__name__}: {exc}") from None
    evals: list[Eval] = []
    for value in vars(module).values():
        if isinstance(value, Eval) and all(value is not e for e in evals):
            evals.append(value)
    if not evals:
        raise EvalConfigError(f"{path}: no Eval(...) defined at module level")
    seen: set[str] = set()
    for ev in evals:
        if ev.name in seen:
            raise EvalConfigError(f"{path}: two evals are named {ev.name!r}")
        seen.add(ev.name)
    return p, evals


def _suite_line(exc: BaseException, path: Path) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == path:
            return f":{frame.lineno}"
    return ""


def select(evals: list[Eval], pattern: str | None) -> list[Eval]:
    """The evals named ``pattern`` (exact, or a glob such as ``qa*``)."""
    if not pattern:
        return evals
    chosen = [e for e in evals if e.name == pattern or fnmatch.fnmatchcase(e.name, pattern)]
    if not chosen:
        raise EvalConfigError(f"-k {pattern}: no eval of that name "
                              f"(have: {', '.join(e.name for e in evals)})")
    return chosen
