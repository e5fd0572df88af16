"""Run statistics and the paired tests of a baseline comparison, with numpy and scipy.

Pure numpy/scipy (no tracer, no scorers): the ``evals`` runner uses it for run summaries and
the collector's ``/api/evals/compare`` route uses it for comparisons, so both report the
same numbers. The verdict policy (practical thresholds, Holm, gates) is :mod:`common.gate`.

- A metric's mean (a pass rate for pass/fail scorers) gets a 95% bootstrap confidence
  interval (``scipy.stats.bootstrap``, fixed seed so the interval is reproducible; see
  :func:`bootstrap_ci` for the method by sample size).
- Paired tests: pass/fail metrics use McNemar's test, exact at every size
  (:func:`mcnemar_exact`: a binomial test on the discordant pairs); numbers use the
  Wilcoxon signed-rank test with Pratt's handling of zero differences
  (:func:`wilcoxon_signed_rank`), whose p-value is the exact permutation (sign-flip)
  probability up to :data:`EXACT_MAX_N` non-zero differences and a tie-corrected normal
  approximation with continuity correction only beyond it.
- :func:`holm` adjusts a family of p-values (Holm–Bonferroni).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.lazy import lazy_module

# Imported on first use: callers that only import this module (the collector's evals
# routes, `evals --help`) must not pay seconds for scipy.
np = lazy_module("numpy")
sps = lazy_module("scipy.stats")

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


# -- paired tests -------------------------------------------------------------------------

#: Up to this many non-zero paired differences the Wilcoxon p-value is exact (the
#: permutation distribution of the signed-rank statistic, computed by dynamic programming);
#: beyond it, the normal approximation with tie correction and continuity correction.
EXACT_MAX_N = 50

WILCOXON_EXACT = "wilcoxon-exact"
WILCOXON_NORMAL = "wilcoxon-normal"
MCNEMAR_EXACT = "mcnemar-exact"

TWO_SIDED, GREATER, LESS = "two-sided", "greater", "less"


@dataclass(frozen=True)
class TestResult:
    """One paired test: its name, p-value, statistic and how many pairs carried
    information (non-zero differences; discordant pairs for McNemar)."""

    test: str
    p_value: float
    statistic: float | None
    n: int
    alternative: str = TWO_SIDED

    @property
    def min_p(self) -> float:
        """The smallest p-value this test could have given with these ``n`` informative
        pairs, whatever their signs: an exact sign-flip or binomial test's most extreme
        outcome (all pairs one way) has probability 2^-n per side. A test whose ``min_p``
        is not below alpha can never reject (used to keep it out of a Holm family)."""
        if self.test == WILCOXON_NORMAL:
            return 0.0
        sides = 1 if self.alternative != TWO_SIDED else 2
        return min(1.0, sides * 0.5 ** self.n)


def _clean_differences(diffs: Sequence[float], scale: Sequence[float] | None = None) -> np.ndarray:
    """``diffs`` with floating-point noise removed: a difference within 1e-12 of the
    values' magnitude is zero, and magnitudes equal to 12 significant digits tie (0.801 -
    0.8 and 0.501 - 0.5 are the same difference of 0.001)."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return d
    mag = np.maximum(1.0, np.abs(np.asarray(scale, dtype=float))) if scale is not None else 1.0
    d = np.where(np.abs(d) <= 1e-12 * mag, 0.0, d)
    top = float(np.max(np.abs(d)))
    if top == 0.0:
        return d
    # Round relative to the largest difference so near-equal magnitudes share one rank.
    return np.round(d / top, 12) * top


def pratt_ranks(diffs: Sequence[float]) -> tuple[np.ndarray, np.ndarray, int]:
    """Pratt's ranking: rank ``|d|`` over every pair, zeros included (ties get midranks),
    then drop the zeros. Returns (ranks of the non-zero differences, their signs, the
    number of zeros)."""
    d = np.asarray(diffs, dtype=float)
    ranks = sps.rankdata(np.abs(d))
    nonzero = d != 0
    return ranks[nonzero], np.sign(d[nonzero]), int(np.sum(~nonzero))


def _exact_signed_rank_p(ranks: np.ndarray, zeros: int, t_plus: float, alternative: str) -> float:
    """P-value of ``T+ = t_plus`` under the exact sign-flip distribution of Pratt ranks.

    Under H0 each non-zero difference is positive or negative with probability 1/2,
    independently. Doubled midranks are integers; a non-zero difference's doubled rank is
    ``2·zeros + v`` with ``v`` its doubled rank among the non-zero ones, so
    ``2·T+ = 2·zeros·k + V`` for ``k`` positives with rank sum ``V``, and the joint law of
    ``(k, V)`` is built one difference at a time (O(m⁴) for m differences; m is at most
    :data:`EXACT_MAX_N`)."""
    m = ranks.size
    v = np.rint(2 * (ranks - zeros)).astype(int)
    total_v = int(v.sum())
    prob = np.zeros((m + 1, total_v + 1))
    prob[0, 0] = 1.0
    for vi in v:
        shifted = np.zeros_like(prob)
        shifted[1:, vi:] = prob[:-1, : total_v + 1 - vi]
        prob = 0.5 * (prob + shifted)
    k = np.arange(m + 1)[:, None]
    values = 2 * zeros * k + np.arange(total_v + 1)[None, :]  # 2·T+ for each cell
    observed = 2 * t_plus
    center = (2 * zeros * m + total_v) / 2.0  # E[2·T+] = sum of doubled ranks / 2
    eps = 1e-7
    if alternative == GREATER:
        mask = values >= observed - eps
    elif alternative == LESS:
        mask = values <= observed + eps
    else:
        mask = np.abs(values - center) >= abs(observed - center) - eps
    return float(min(1.0, prob[mask].sum()))


def wilcoxon_signed_rank(diffs: Sequence[float], alternative: str = TWO_SIDED, *,
                         scale: Sequence[float] | None = None) -> TestResult:
    """Wilcoxon signed-rank test of paired differences (current − baseline) with Pratt's
    zero handling.

    ``alternative``: ``two-sided``, ``greater`` (the differences tend to be positive) or
    ``less``. Exact (``wilcoxon-exact``) up to :data:`EXACT_MAX_N` non-zero differences,
    ties and zeros included; beyond that ``wilcoxon-normal``: ``(T+ − E) / sd`` with
    ``E = Σr/2``, ``sd² = Σr²/4`` over the non-zero differences' Pratt ranks (exact
    moments under ties and zeros) and a continuity correction of 1/2. No non-zero
    difference gives p = 1. ``scale``: the paired values' magnitudes, to tell float noise
    from a difference (see :func:`_clean_differences`).
    """
    d = _clean_differences(diffs, scale)
    ranks, signs, zeros = pratt_ranks(d)
    m = ranks.size
    if m == 0:
        return TestResult(WILCOXON_EXACT, 1.0, 0.0, 0, alternative)
    t_plus = float(ranks[signs > 0].sum())
    if m <= EXACT_MAX_N:
        return TestResult(WILCOXON_EXACT, _exact_signed_rank_p(ranks, zeros, t_plus, alternative),
                          t_plus, m, alternative)
    mean = float(ranks.sum()) / 2.0
    sd = math.sqrt(float(np.sum(ranks ** 2)) / 4.0)
    if alternative == GREATER:
        p = sps.norm.sf((t_plus - mean - 0.5) / sd)
    elif alternative == LESS:
        p = sps.norm.cdf((t_plus - mean + 0.5) / sd)
    else:
        z = max(0.0, abs(t_plus - mean) - 0.5) / sd
        p = 2.0 * sps.norm.sf(z)
    return TestResult(WILCOXON_NORMAL, float(min(1.0, p)), t_plus, m, alternative)


def mcnemar_exact(worse: int, better: int, alternative: str = TWO_SIDED) -> TestResult:
    """McNemar's test of paired pass/fail verdicts, exact: the discordant pairs (``worse``
    pass → fail, ``better`` fail → pass) are Binomial(worse + better, 1/2) under H0
    (``scipy.stats.binomtest``). ``greater``: more pass → fail flips than fail → pass."""
    n = worse + better
    if n == 0:
        return TestResult(MCNEMAR_EXACT, 1.0, 0.0, 0, alternative)
    p = float(sps.binomtest(worse, n, 0.5, alternative=alternative).pvalue)
    return TestResult(MCNEMAR_EXACT, min(1.0, p), float(worse), n, alternative)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values, in the input order (None stays None and does not
    count towards the family). ``adjusted_(i) = max_{j≤i} min(1, (m − j + 1)·p_(j))`` over
    the p-values sorted ascending; rejecting where ``adjusted < alpha`` controls the
    family-wise error rate at ``alpha``."""
    indexed = [(p, i) for i, p in enumerate(p_values) if p is not None]
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (m - rank) * float(p)))
        out[i] = running
    return out


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
        "n_tested": 0, "worse": 0, "better": 0, "verdict": NOT_COMPARABLE, "flipped": [],
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
        result = mcnemar_exact(worse, better)
    else:
        out["worse"] = int(np.sum(diffs < 0 if higher_is_better else diffs > 0))
        out["better"] = int(np.sum(diffs > 0 if higher_is_better else diffs < 0))
        result = wilcoxon_signed_rank(diffs, scale=np.maximum(np.abs(a), np.abs(b)))
    out["test"], out["p_value"], out["n_tested"] = result.test, result.p_value, result.n
    out["min_p"] = result.min_p
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
