"""The regression gate's policy: when a comparison with a baseline fails a run.

Pure Python over the statistics of :mod:`common.stats` (no tracer, collector or evals), so
the collector's compare route and ``evals run`` decide the same way.

A run fails (``evals run`` exits 1) when any of these holds, reported in this order:

1. **The task failed on every row** ("task failed on 200/200 rows"), with or without a
   baseline.
2. **Too many task failures**: without a baseline, an error rate above ``max_error_rate``
   (default :data:`DEFAULT_MAX_ERROR_RATE`); with a baseline, a significant increase of
   failed rows (``task_success`` regressed, below), and the error rate above
   ``max_error_rate`` when one was set explicitly.
3. **A scorer regressed**: its paired test is significant after Holm–Bonferroni adjustment
   (``p_adjusted < alpha``) *and* the paired mean difference is at least ``min_delta`` in
   the worse direction (a practical effect). Defaults of ``min_delta`` by kind:
   :data:`MIN_DELTA_BINARY` (pass rate), :data:`MIN_DELTA_BOUNDED` (numbers within [0, 1])
   and :data:`MIN_DELTA_RELATIVE` of the baseline mean's magnitude (other numbers).
4. **Latency or cost rose** beyond ``max_latency_increase`` / ``max_cost_increase`` (when
   set): a one-sided paired Wilcoxon test on per-row log ratios is significant after Holm
   *and* the ratio of the mean per-row values (current / baseline) is at least
   ``1 + limit``.

Every p-value that can fail the gate in one ``evals run`` (all scorers, ``task_success``
and the latency/cost gates of every eval and params combination) is one Holm family:
:func:`finalize` adjusts them together and recomputes the verdicts. A test that cannot
reach ``alpha`` whatever the data (an exact test with at most 5 informative pairs, two-sided
at 0.05; no pair at all) can never reject and is left out of the family.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common import stats

DEFAULT_ALPHA = 0.05
#: Without a baseline, a run fails when more than this share of its rows' tasks failed.
DEFAULT_MAX_ERROR_RATE = 0.5
#: Default practical effect of a pass/fail scorer: 2 percentage points of pass rate.
MIN_DELTA_BINARY = 0.02
#: Default practical effect of a numeric scorer whose values all lie in [0, 1].
MIN_DELTA_BOUNDED = 0.01
#: Default practical effect of any other numeric scorer: 1% of |baseline mean|.
MIN_DELTA_RELATIVE = 0.01

TASK_SUCCESS = "task_success"
LATENCY = "latency_ms"
COST = "cost_usd"
#: Relative tolerance so a limit met exactly (a ratio of 1.2 for +20%) counts as met.
_TOL = 1e-9


class GateConfigError(ValueError):
    """A threshold that cannot be understood (``--max-latency-increase abc``)."""


def parse_fraction(value: Any, what: str) -> float:
    """``"20%"`` -> 0.2; ``0.2`` or ``"0.2"`` -> 0.2. Must be >= 0."""
    if isinstance(value, bool):
        raise GateConfigError(f"{what}: expected a number or a percentage, got {value!r}")
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise GateConfigError(f"{what}: expected a number or a percentage such as 20%, "
                              f"got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise GateConfigError(f"{what}: must be a finite number >= 0, got {value!r}")
    return number


@dataclass(frozen=True)
class MinDelta:
    """A practical-effect threshold: ``amount`` absolute, or a share of |baseline mean|
    when ``relative``."""

    amount: float
    relative: bool = False

    @classmethod
    def parse(cls, value: Any, what: str = "min_delta") -> MinDelta | None:
        """``None`` (the default by kind), a number (absolute) or ``"5%"`` (relative)."""
        if value is None:
            return None
        if isinstance(value, MinDelta):
            return value
        relative = isinstance(value, str) and value.strip().endswith("%")
        return cls(parse_fraction(value, what), relative)

    def text(self) -> str:
        """How it was written: ``0.05`` or ``5%``."""
        return f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"


def resolve_min_delta(spec: MinDelta | None, kind: str, bounded: bool,
                      baseline_mean: float | None) -> tuple[float, str]:
    """The absolute ``min_delta`` of one comparison and the rule that gave it."""
    if spec is None:
        if kind == stats.BINARY:
            return MIN_DELTA_BINARY, f"default for pass/fail: {MIN_DELTA_BINARY:g}"
        if bounded:
            return MIN_DELTA_BOUNDED, f"default for scores in [0, 1]: {MIN_DELTA_BOUNDED:g}"
        spec = MinDelta(MIN_DELTA_RELATIVE, relative=True)
        rule = f"default: {MIN_DELTA_RELATIVE:.0%} of |baseline mean|"
    else:
        rule = f"set: {spec.text()}" + (" of |baseline mean|" if spec.relative else "")
    if spec.relative:
        return spec.amount * abs(baseline_mean or 0.0), rule
    return spec.amount, rule


@dataclass
class GateConfig:
    """The gate's settings of one run (from the suite and the ``evals run`` options),
    stored in the run's ``stats.gate`` so any later comparison applies them."""

    max_error_rate: float | None = None  # None: the default, only without a baseline
    max_latency_increase: float | None = None
    max_cost_increase: float | None = None
    min_delta: dict[str, MinDelta] = field(default_factory=dict)  # per scorer; "*" = all

    def to_json(self) -> dict[str, Any]:
        """The ``stats.gate`` object."""
        return {"max_error_rate": self.max_error_rate,
                "max_latency_increase": self.max_latency_increase,
                "max_cost_increase": self.max_cost_increase,
                "min_delta": {k: v.text() for k, v in self.min_delta.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> GateConfig:
        """Read ``stats.gate`` back (anything malformed is ignored: old runs have none)."""
        if not isinstance(data, Mapping):
            return cls()

        def frac(key: str) -> float | None:
            try:
                return None if data.get(key) is None else parse_fraction(data[key], key)
            except GateConfigError:
                return None

        deltas: dict[str, MinDelta] = {}
        for name, raw in (data.get("min_delta") or {}).items():
            try:
                spec = MinDelta.parse(raw)
            except GateConfigError:
                continue
            if spec is not None:
                deltas[str(name)] = spec
        return cls(frac("max_error_rate"), frac("max_latency_increase"),
                   frac("max_cost_increase"), deltas)

    @classmethod
    def of_run(cls, run: Mapping[str, Any]) -> GateConfig:
        """The settings stored with a run (``run["stats"]["gate"]``)."""
        return cls.from_json((run.get("stats") or {}).get("gate"))

    def min_delta_for(self, scorer: str) -> MinDelta | None:
        """The scorer's own ``min_delta``, else the run-wide one, else None (by kind)."""
        return self.min_delta.get(scorer) or self.min_delta.get("*")


def verdict(delta: float | None, p_adjusted: float | None, alpha: float, min_delta: float,
            higher_is_better: bool) -> str:
    """``improved`` / ``regressed`` only when ``p_adjusted < alpha`` and ``|delta| >=
    min_delta`` (and delta is not 0); else ``unchanged``."""
    if delta is None or p_adjusted is None or not p_adjusted < alpha or delta == 0:
        return stats.UNCHANGED
    if abs(delta) < min_delta * (1 - _TOL):
        return stats.UNCHANGED
    better = delta > 0 if higher_is_better else delta < 0
    return stats.IMPROVED if better else stats.REGRESSED


def gate_verdict(ratio: float | None, p_adjusted: float | None, alpha: float, limit: float) -> str:
    """A latency/cost gate: ``regressed`` when the one-sided test of an increase is
    significant and the ratio of means reaches ``1 + limit``."""
    if ratio is None or p_adjusted is None or not p_adjusted < alpha:
        return stats.UNCHANGED
    return stats.REGRESSED if ratio >= (1 + limit) * (1 - _TOL) else stats.UNCHANGED


def task_failure_message(failed: int, rows: int) -> str:
    """``task failed on 3/200 rows``."""
    return f"task failed on {failed}/{rows} rows"


def error_rate_failures(failed: int, rows: int, max_error_rate: float | None,
                        has_baseline: bool) -> list[str]:
    """The task-failure reasons that need no test: every row failed, or (without a
    baseline, or with an explicit limit) the error rate exceeds ``max_error_rate``."""
    if rows <= 0 or failed <= 0:
        return []
    if failed == rows:
        return [task_failure_message(failed, rows)]
    limit = max_error_rate
    if limit is None and not has_baseline:
        limit = DEFAULT_MAX_ERROR_RATE
    if limit is not None and failed / rows > limit:
        return [f"{task_failure_message(failed, rows)} ({failed / rows:.0%}, above the "
                f"maximum error rate of {limit:.0%})"]
    return []


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _p(p: float | None) -> str:
    """``p=0.012`` / ``p<0.001``."""
    return "p=-" if p is None else ("p<0.001" if p < 0.001 else f"p={p:.3f}")


def _tested(entry: Mapping[str, Any]) -> bool:
    """In the Holm family: a test that could reject at all. With few informative pairs an
    exact test cannot reach ``alpha`` whatever their signs (``min_p``: 2^(1-n) two-sided,
    so at most 5 pairs at alpha 0.05; no pair gives p = 1); such a test can never reject
    and counting it would only weaken the others (Tarone's argument: the number of
    informative pairs does not depend on the null's signs)."""
    alpha = float(entry.get("alpha") or DEFAULT_ALPHA)
    return (entry.get("p_value") is not None and entry.get("verdict") != stats.NOT_COMPARABLE
            and entry.get("n_tested", 1) > 0 and float(entry.get("min_p", 0.0)) < alpha)


def _decide(entry: dict[str, Any]) -> str:
    if "gate" in entry:
        return gate_verdict(entry.get("ratio"), entry.get("p_adjusted"),
                            float(entry.get("alpha") or DEFAULT_ALPHA), float(entry["limit"]))
    return verdict(entry.get("delta"), entry.get("p_adjusted"),
                   float(entry.get("alpha") or DEFAULT_ALPHA), float(entry.get("min_delta") or 0.0),
                   bool(entry.get("higher_is_better", True)))


def _failures(comp: Mapping[str, Any]) -> list[str]:
    task = comp.get("task") or {}
    failed, rows = int(task.get("failed") or 0), int(task.get("rows") or 0)
    out = error_rate_failures(failed, rows, task.get("max_error_rate"), has_baseline=True)
    for s in comp["scorers"]:
        if s["verdict"] != stats.REGRESSED:
            continue
        test = f"{s['test']} {_p(s['p_value'])}, Holm-adjusted {_p(s['p_adjusted'])}"
        if s["scorer"] == TASK_SUCCESS:
            if failed == rows and rows:
                continue  # already said, first
            out.append(f"{task_failure_message(failed, rows)} (baseline "
                                 f"{task.get('baseline_failed')}/{task.get('baseline_rows')}): a "
                                 f"significant increase ({test})")
        else:
            out.append(f"{s['scorer']} regressed: {_fmt(s['baseline']['mean'])} -> "
                       f"{_fmt(s['current']['mean'])} (delta {_fmt(s['delta'])}, min_delta "
                       f"{_fmt(s['min_delta'])}; {test})")
    for g in comp.get("gates", []):
        if g["verdict"] == stats.REGRESSED:
            out.append(f"{g['label']} rose {g['ratio']:.2f}x (limit +{g['limit']:.0%}; "
                       f"{g['test']} one-sided {_p(g['p_value'])}, Holm-adjusted "
                       f"{_p(g['p_adjusted'])})")
    # The task's own failures come before any scorer's.
    task_first = [m for m in out if m.startswith("task failed")]
    return task_first + [m for m in out if not m.startswith("task failed")]


def finalize(comparisons: Sequence[dict[str, Any]]) -> None:
    """Holm–Bonferroni over every tested p-value of ``comparisons`` (one family), then
    each entry's verdict, and each comparison's ``verdict``, ``regressed``, ``improved``,
    ``failures`` (task failures first) and ``family_size``. Mutates in place."""
    entries = [e for comp in comparisons
               for e in list(comp["scorers"]) + list(comp.get("gates", [])) if _tested(e)]
    for e, adj in zip(entries, stats.holm([e["p_value"] for e in entries]), strict=True):
        e["p_adjusted"] = adj
        e["verdict"] = _decide(e)
    for comp in comparisons:
        for e in list(comp["scorers"]) + list(comp.get("gates", [])):
            if not _tested(e):
                e["p_adjusted"] = None
        comp["family_size"] = len(entries)
        comp["regressed"] = [s["scorer"] for s in comp["scorers"] if s["verdict"] == stats.REGRESSED]
        comp["regressed"] += [g["gate"] for g in comp.get("gates", []) if g["verdict"] == stats.REGRESSED]
        comp["improved"] = [s["scorer"] for s in comp["scorers"] if s["verdict"] == stats.IMPROVED]
        comp["failures"] = _failures(comp)
        if comp["failures"]:
            comp["verdict"] = stats.REGRESSED
        else:
            comp["verdict"] = stats.IMPROVED if comp["improved"] else stats.UNCHANGED


def ratio_gate(name: str, label: str, limit: float, baseline: Mapping[str, float | None],
               current: Mapping[str, float | None], alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """A latency or cost gate over paired per-row values (row id -> value; rows whose value
    is missing or not positive in either run are left out): the ratio of the mean values
    (current / baseline) and a one-sided Wilcoxon signed-rank test (Pratt; exact up to
    ``stats.EXACT_MAX_N`` pairs) that the per-row log ratios tend to be positive. The
    verdict is set by :func:`finalize`."""
    shared = [rid for rid in current
              if _positive(current.get(rid)) and _positive(baseline.get(rid))]
    out: dict[str, Any] = {"gate": name, "label": label, "limit": limit, "alpha": alpha,
                           "n_shared": len(shared), "baseline": None, "current": None,
                           "ratio": None, "test": None, "p_value": None, "p_adjusted": None,
                           "verdict": stats.NOT_COMPARABLE}
    if not shared:
        return out
    b = [float(baseline[r]) for r in shared]  # type: ignore[arg-type]
    c = [float(current[r]) for r in shared]  # type: ignore[arg-type]
    out["baseline"], out["current"] = sum(b) / len(b), sum(c) / len(c)
    out["ratio"] = out["current"] / out["baseline"]
    logs = [math.log(ci / bi) for ci, bi in zip(c, b, strict=True)]
    result = stats.wilcoxon_signed_rank(logs, stats.GREATER)
    out.update(test=result.test, p_value=result.p_value, n_tested=result.n, min_p=result.min_p,
               statistic_of="log(current/baseline)", verdict=stats.UNCHANGED)
    return out


def _positive(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def summarize_failures(comparisons: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every failure message of ``comparisons``, in order."""
    return [m for comp in comparisons for m in comp.get("failures", [])]
