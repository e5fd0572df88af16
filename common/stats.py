"""Run statistics and baseline comparison, with numpy and scipy.

Pure numpy/scipy (no tracer, no scorers): the ``evals`` runner uses it for run summaries and
the collector's ``/api/evals/compare`` route uses it for comparisons, so both report the
same numbers.

- A metric's mean (a pass rate for pass/fail scorers) gets a 95% bootstrap confidence
  interval (``scipy.stats.bootstrap``, fixed seed so the interval is reproducible; see
  :func:`bootstrap_ci` for the method by sample size).
- A comparison pairs the rows both runs scored. Pass/fail metrics use the exact McNemar
  test (``scipy.stats.binomtest`` on the discordant pairs); numeric metrics use the
  Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) with a paired bootstrap interval of
  the mean difference. The verdict is *improved* or *regressed* only when the test is
  significant at ``alpha`` and the paired delta is at least ``min_delta`` in size.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
N_RESAMPLES = 2000
SEED = 20240601
DEFAULT_ALPHA = 0.05
DEFAULT_MIN_DELTA = 0.0

BINARY = "binary"
NUMERIC = "numeric"
LABEL = "label"

IMPROVED = "improved"
REGRESSED = "regressed"
UNCHANGED = "unchanged"
NOT_COMPARABLE = "n/a"


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


#: Up to this many values the interval is BCa (its jackknife costs O(n²) memory and time)...
BCA_MAX_N = 2_000
#: ...up to this many the percentile bootstrap; beyond it, where the central limit theorem
#: holds comfortably and resampling gets slow, Student's t interval (scipy.stats.t).
BOOTSTRAP_MAX_N = 50_000
#: Values per resampling batch, so memory stays bounded (about 8 bytes each).
_BATCH_VALUES = 4_000_000


def bootstrap_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """The ``confidence`` interval of the mean of ``values``: a bootstrap interval
    (``scipy.stats.bootstrap``; BCa up to :data:`BCA_MAX_N` values, else percentile, BCa
    falling back to percentile when undefined), or Student's t interval beyond
    :data:`BOOTSTRAP_MAX_N`. Identical values give a zero-width interval; fewer than two
    values give ``(None, None)``."""
    arr = np.asarray(values, dtype=float)
    n = arr.size
    if n < 2:
        return (None, None)
    if np.all(arr == arr[0]):
        return (float(arr[0]), float(arr[0]))
    if n > BOOTSTRAP_MAX_N:
        lo, hi = sps.t.interval(confidence, n - 1, loc=float(np.mean(arr)), scale=float(sps.sem(arr)))
        return (_finite(lo), _finite(hi))
    methods = ("BCa", "percentile") if n <= BCA_MAX_N else ("percentile",)
    batch = max(1, _BATCH_VALUES // n)
    for method in methods:
        with warnings.catch_warnings():
            # Near-degenerate samples make BCa warn and return NaN; percentile then answers.
            warnings.simplefilter("ignore")
            res = sps.bootstrap((arr,), np.mean, n_resamples=N_RESAMPLES,
                                confidence_level=confidence, method=method, batch=batch,
                                rng=np.random.default_rng(SEED), vectorized=True)
        lo, hi = _finite(res.confidence_interval.low), _finite(res.confidence_interval.high)
        if lo is not None and hi is not None:
            return (lo, hi)
    return (None, None)


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95)) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ...}`` of ``values`` (None when empty)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if arr.size == 0:
        return {f"p{int(q)}": None for q in qs}
    return {f"p{int(q)}": float(np.percentile(arr, q)) for q in qs}


def metric_kind(values: Sequence[Any], passed: Sequence[bool | None] = ()) -> str:
    """``numeric`` if any value is a non-bool number, else ``binary`` if any value is a
    bool or any score has a pass/fail verdict, else ``label``."""
    present = [v for v in values if v is not None]
    if any(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return NUMERIC
    if any(isinstance(v, bool) for v in present) or any(p is not None for p in passed):
        return BINARY
    return LABEL


def summarize_values(kind: str, values: Sequence[float | None], passed: Sequence[bool | None]) -> dict[str, Any]:
    """Count, mean with its bootstrap CI, and pass rate of one metric over a run.

    For ``binary`` metrics ``values`` are the verdicts as 1.0/0.0 (a missing verdict counts
    as a fail) and the mean is the pass rate; higher is always better for them. ``numeric`` means skip missing values. Labels get neither.
    """
    out: dict[str, Any] = {"n": len(values), "mean": None, "ci_low": None, "ci_high": None,
                           "pass_rate": None, "missing": sum(v is None for v in values)}
    if kind == BINARY:
        nums = [0.0 if v is None else float(v) for v in values]
    elif kind == NUMERIC:
        nums = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    else:
        nums = []
    if nums:
        out["mean"] = float(np.mean(nums))
        out["ci_low"], out["ci_high"] = bootstrap_ci(nums)
    verdicts = [p for p in passed if p is not None]
    if kind == BINARY:
        out["pass_rate"] = out["mean"]
    elif verdicts:
        out["pass_rate"] = float(np.mean(verdicts))
    return out


@dataclass(frozen=True)
class RowValue:
    """One row's result for one metric: its number (1.0/0.0 for pass/fail) and verdict."""

    value: float | None
    passed: bool | None = None


def _verdict(delta: float, p: float | None, alpha: float, min_delta: float,
             higher_is_better: bool) -> str:
    if p is None or not (p < alpha):
        return UNCHANGED
    if abs(delta) < min_delta or delta == 0:
        return UNCHANGED
    better = delta > 0 if higher_is_better else delta < 0
    return IMPROVED if better else REGRESSED


def compare_metric(
    kind: str,
    baseline: Mapping[str, RowValue],
    current: Mapping[str, RowValue],
    *,
    higher_is_better: bool = True,
    alpha: float = DEFAULT_ALPHA,
    min_delta: float = DEFAULT_MIN_DELTA,
) -> dict[str, Any]:
    """Compare one metric between a baseline and a current run, paired by row id.

    Returns the means of each run over all its rows, the paired delta (current − baseline)
    over shared rows with its bootstrap CI, the test and p-value, the verdict, and for
    pass/fail verdicts the rows that flipped (``worse``: good -> bad first).
    """

    if kind == BINARY:
        higher_is_better = True  # values are verdicts: 1.0 is a pass

    def mean_of(rows: Mapping[str, RowValue]) -> float | None:
        vals = [r.value for r in rows.values() if r.value is not None]
        return float(np.mean(vals)) if vals else None

    out: dict[str, Any] = {
        "kind": kind, "higher_is_better": higher_is_better, "alpha": alpha, "min_delta": min_delta,
        "baseline": {"mean": mean_of(baseline), "n": len(baseline)},
        "current": {"mean": mean_of(current), "n": len(current)},
        "n_shared": 0, "delta": None, "delta_ci": [None, None], "test": None, "p_value": None,
        "worse": 0, "better": 0, "verdict": NOT_COMPARABLE, "flipped": [],
    }
    shared = [rid for rid in current if rid in baseline
              and baseline[rid].value is not None and current[rid].value is not None]
    out["n_shared"] = len(shared)
    out["flipped"] = _flips(baseline, current)
    if kind not in (BINARY, NUMERIC) or not shared:
        return out
    a = np.array([baseline[r].value for r in shared], dtype=float)
    b = np.array([current[r].value for r in shared], dtype=float)
    diffs = b - a
    delta = float(np.mean(diffs))
    out["delta"] = delta
    out["delta_ci"] = list(bootstrap_ci(diffs)) if len(shared) >= 2 else [delta, delta]
    if kind == BINARY:
        good_a, good_b = a > 0.5, b > 0.5
        worse = int(np.sum(good_a & ~good_b))
        better = int(np.sum(~good_a & good_b))
        out["worse"], out["better"] = worse, better
        out["test"] = "mcnemar_exact"
        n = worse + better
        out["p_value"] = float(sps.binomtest(worse, n, 0.5).pvalue) if n else 1.0
    else:
        out["worse"] = int(np.sum(diffs < 0 if higher_is_better else diffs > 0))
        out["better"] = int(np.sum(diffs > 0 if higher_is_better else diffs < 0))
        out["test"] = "wilcoxon"
        if np.count_nonzero(diffs) == 0:
            out["p_value"] = 1.0
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = sps.wilcoxon(diffs).pvalue
            out["p_value"] = _finite(p) if _finite(p) is not None else 1.0
    out["verdict"] = _verdict(delta, out["p_value"], alpha, min_delta, higher_is_better)
    return out


def _flips(baseline: Mapping[str, RowValue], current: Mapping[str, RowValue]) -> list[dict[str, Any]]:
    """Rows whose pass/fail verdict changed, pass -> fail first."""
    worse, better = [], []
    for rid, cur in current.items():
        base = baseline.get(rid)
        if base is None or base.passed is None or cur.passed is None or base.passed == cur.passed:
            continue
        entry = {"row_id": rid, "baseline": base.passed, "current": cur.passed}
        if base.passed:
            worse.append({**entry, "direction": "pass->fail"})
        else:
            better.append({**entry, "direction": "fail->pass"})
    return worse + better
