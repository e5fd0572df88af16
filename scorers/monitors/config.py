"""Monitor configuration: a filter on production spans plus the scorers to run on a sample.

From code (``Monitor(name=..., project=..., scorers=[pii()])``) or from a YAML/TOML file::

    endpoint: http://127.0.0.1:4318
    monitors:
      - name: support-pii
        project: support-bot
        filter: {name: answer, kind: chain}
        sample_rate: 0.25
        scorers:
          - pii
          - {type: regex, pattern: "(?i)internal only", must_match: false}
          - {type: llm_judge.toxicity, model: gpt-4o-mini}
          - myapp.quality:has_citation        # any importable Scorer or factory
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scorers import judges, metrics, rules
from scorers.base import Scorer, ScorerError

FILTER_KEYS = ("name", "kind", "model", "status", "user_id", "session_id", "tag")
SPAN_FIELDS = ("input", "output", "metadata", "attributes", "name", "kind", "model", "error")


class MonitorConfigError(ScorerError):
    """A monitor configuration file or value is invalid."""


def _registry() -> dict[str, Callable[..., Scorer]]:
    reg: dict[str, Callable[..., Scorer]] = {}
    for module in (rules, metrics):
        for attr in module.__all__:
            obj = getattr(module, attr)
            if callable(obj) and attr[0].islower() and attr not in (
                    "redact", "merge_spans", "shannon_entropy", "cosine", "normalize_answer"):
                reg[attr] = obj
    for attr in ("correctness", "faithfulness", "hallucination", "answer_relevance",
                 "context_relevance", "toxicity", "bias", "coherence", "fluency", "rubric"):
        reg[f"llm_judge.{attr}"] = getattr(judges, attr)
    return reg


def build_scorer(spec: Any) -> Scorer:
    """A scorer from a config entry: ``"pii"``, ``{"type": "pii", ...options}``,
    ``"llm_judge.toxicity"`` or an import path ``"package.module:name"``."""
    if isinstance(spec, Scorer):
        return spec
    if isinstance(spec, str):
        kind, options = spec, {}
    elif isinstance(spec, Mapping):
        options = dict(spec)
        kind = options.pop("type", None)
        if not isinstance(kind, str):
            raise MonitorConfigError(f"scorer entry {dict(spec)!r} needs a 'type'")
    else:
        raise MonitorConfigError(f"scorer entry must be a name or a mapping, got {spec!r}")
    registry = _registry()
    if kind in registry:
        factory: Any = registry[kind]
    elif ":" in kind:
        module_name, _, attr = kind.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise MonitorConfigError(f"scorer {kind!r} cannot be imported: {exc}") from exc
    else:
        raise MonitorConfigError(
            f"unknown scorer {kind!r}; known: {', '.join(sorted(registry))}, or 'module:name'")
    if isinstance(factory, Scorer):
        if options:
            raise MonitorConfigError(f"scorer {kind!r} is an instance and takes no options")
        return factory
    try:
        made = factory(**options)
    except TypeError as exc:
        raise MonitorConfigError(f"scorer {kind!r}: bad options {options}: {exc}") from exc
    if not isinstance(made, Scorer):
        raise MonitorConfigError(f"scorer {kind!r} did not produce a Scorer (got {type(made).__name__})")
    return made


@dataclass
class Monitor:
    """A filter on spans (project + name/kind/... + sample rate) and the scorers to run."""

    name: str
    project: str
    scorers: Sequence[Scorer]
    filter: Mapping[str, str] = field(default_factory=dict)
    sample_rate: float = 1.0
    #: scorer field -> span field path (dotted: "output.choices.0.message.content").
    fields: Mapping[str, str] = field(default_factory=lambda: {"input": "input", "output": "output"})
    #: USD the monitor's LLM-judge calls may cost per UTC day; None: no cap.
    judge_budget_usd_per_day: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise MonitorConfigError("a monitor needs a name")
        if not self.project or not isinstance(self.project, str):
            raise MonitorConfigError(f"monitor {self.name!r} needs a project")
        if not 0.0 <= float(self.sample_rate) <= 1.0:
            raise MonitorConfigError(f"monitor {self.name!r}: sample_rate must be within 0..1, "
                                     f"got {self.sample_rate}")
        self.sample_rate = float(self.sample_rate)
        budget = self.judge_budget_usd_per_day
        if budget is not None:
            if isinstance(budget, bool) or not isinstance(budget, int | float) or not budget >= 0:
                raise MonitorConfigError(f"monitor {self.name!r}: judge_budget_usd_per_day must be "
                                         f"a number of USD >= 0, got {budget!r}")
            self.judge_budget_usd_per_day = float(budget)
        unknown = sorted(set(self.filter) - set(FILTER_KEYS))
        if unknown:
            raise MonitorConfigError(f"monitor {self.name!r}: unknown filter keys {unknown}; "
                                     f"known: {list(FILTER_KEYS)}")
        if not self.scorers:
            raise MonitorConfigError(f"monitor {self.name!r} has no scorers")
        self.scorers = [build_scorer(s) for s in self.scorers]
        for target, path in self.fields.items():
            if not isinstance(path, str) or path.split(".")[0] not in SPAN_FIELDS:
                raise MonitorConfigError(f"monitor {self.name!r}: field {target!r} must name a span "
                                         f"field path starting with one of {list(SPAN_FIELDS)}")


@dataclass
class MonitorsConfig:
    """Every monitor plus how the runner reaches the collector."""

    monitors: list[Monitor]
    endpoint: str | None = None
    api_key: str | None = None
    poll_interval_s: float = 5.0
    page_size: int = 200
    queue_size: int = 1000
    workers: int = 4
    batch_size: int = 200  # scores per POST /api/feedback (the collector takes up to 1000)
    start: str = "now"  # now | beginning | a relative window like -1h | RFC 3339
    state_file: str | None = None
    trace_project: str | None = None  # trace the monitors' own scorer/judge calls here
    # Scoring is behind when the spans read arrived longer ago than this: the backlog is then
    # sampled down (max_lag_s / lag of it kept) and the rest counted as dropped_backlog.
    # None: never shed (a catch-up run scores everything).
    max_lag_s: float | None = 300.0

    def __post_init__(self) -> None:
        if not self.monitors:
            raise MonitorConfigError("no monitors configured")
        names = [m.name for m in self.monitors]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise MonitorConfigError(f"monitor names must be unique: {dupes}")
        for key in ("poll_interval_s", "page_size", "queue_size", "workers", "batch_size"):
            if not float(getattr(self, key)) > 0:
                raise MonitorConfigError(f"{key} must be positive, got {getattr(self, key)}")
        if self.max_lag_s is not None and not float(self.max_lag_s) > 0:
            raise MonitorConfigError(f"max_lag_s must be positive, got {self.max_lag_s}")
        if not 1 <= int(self.page_size) <= 1000:
            raise MonitorConfigError(f"page_size must be within 1..1000, got {self.page_size}")
        if not 1 <= int(self.batch_size) <= 1000:
            raise MonitorConfigError(f"batch_size must be within 1..1000, got {self.batch_size}")


_TOP_KEYS = {"monitors", "endpoint", "api_key", "poll_interval_s", "page_size", "queue_size",
             "workers", "batch_size", "start", "state_file", "trace_project", "max_lag_s"}
_MONITOR_KEYS = {"name", "project", "scorers", "filter", "sample_rate", "fields",
                 "judge_budget_usd_per_day", "enabled"}


def parse_entry(entry: Any, i: int, source: str = "config") -> Monitor:
    """One validated ``monitors[i]`` entry of a monitors file (its scorers built)."""
    if not isinstance(entry, Mapping):
        raise MonitorConfigError(f"{source}: monitors[{i}] must be a mapping")
    bad = sorted(set(entry) - _MONITOR_KEYS)
    if bad:
        raise MonitorConfigError(f"{source}: monitors[{i}] has unknown keys {bad}; "
                                 f"known: {sorted(_MONITOR_KEYS)}")
    if not isinstance(entry.get("enabled", True), bool):
        raise MonitorConfigError(f"{source}: monitors[{i}]: enabled must be true or false")
    try:
        return Monitor(
            name=entry.get("name") or f"monitor-{i + 1}",
            project=entry.get("project") or "",
            scorers=list(entry.get("scorers") or []),
            filter=dict(entry.get("filter") or {}),
            sample_rate=entry.get("sample_rate", 1.0),
            fields=dict(entry.get("fields") or {"input": "input", "output": "output"}),
            judge_budget_usd_per_day=entry.get("judge_budget_usd_per_day"),
        )
    except ScorerError as exc:  # MonitorConfigError included
        raise MonitorConfigError(f"{source}: monitors[{i}]: {exc}") from None


def parse_config(data: Any, source: str = "config") -> MonitorsConfig:
    """A :class:`MonitorsConfig` from parsed YAML/TOML data."""
    if not isinstance(data, Mapping):
        raise MonitorConfigError(f"{source}: top level must be a mapping with a 'monitors' list")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise MonitorConfigError(f"{source}: unknown keys {unknown}; known: {sorted(_TOP_KEYS)}")
    entries = data.get("monitors")
    if not isinstance(entries, list) or not entries:
        raise MonitorConfigError(f"{source}: 'monitors' must be a non-empty list")
    parsed = [(parse_entry(entry, i, source), entry) for i, entry in enumerate(entries)]
    # Paused entries (``enabled: false``, as `spyglass monitors export` writes them) are
    # validated but not run.
    monitors = [m for m, entry in parsed if entry.get("enabled", True)]
    if not monitors:
        raise MonitorConfigError(f"{source}: every monitor is paused (enabled: false)")
    top = {k: data[k] for k in _TOP_KEYS - {"monitors"} if k in data}
    try:
        return MonitorsConfig(monitors=monitors, **top)
    except MonitorConfigError as exc:
        raise MonitorConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path) -> MonitorsConfig:
    """Read a ``.yaml``/``.yml`` or ``.toml`` monitors file."""
    p = Path(path).expanduser()
    config = parse_config(read_config_data(p), str(p))
    if config.api_key is None:
        config.api_key = os.environ.get("SPYGLASS_API_KEY")
    return config


def read_config_data(path: str | Path) -> Any:
    """The parsed (not yet validated) data of a ``.yaml``/``.yml`` or ``.toml`` monitors file."""
    p = Path(path).expanduser()
    try:
        text = p.read_text()
    except OSError as exc:
        raise MonitorConfigError(f"cannot read monitors config {p}: {exc.strerror}") from None
    try:
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise MonitorConfigError(f"{p}: use a .yaml, .yml or .toml file")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        # One line: YAML errors span several (with a caret drawing).
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1} column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MonitorConfigError(f"{p}: not valid {p.suffix[1:].upper()}{where}: {problem}") from None
    return data
