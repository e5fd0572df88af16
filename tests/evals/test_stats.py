"""The statistics against scipy's own tests on the same data, and the verdict rules."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from common import stats
from common.compare import TASK_SUCCESS, RunData, compare_runs


def _rows(values: list[float], passed: list[bool | None] | None = None) -> dict[str, stats.RowValue]:
    passed = passed or [None] * len(values)
    return {f"r{i}": stats.RowValue(v, p) for i, (v, p) in enumerate(zip(values, passed, strict=True))}


def test_binary_comparison_is_exact_mcnemar() -> None:
    base = [1.0] * 30 + [0.0] * 10
    cur = [1.0] * 22 + [0.0] * 8 + [1.0] * 2 + [0.0] * 8   # 8 pass->fail, 2 fail->pass
    result = stats.compare_metric(stats.BINARY, _rows(base, [v > 0 for v in base]),
                                  _rows(cur, [v > 0 for v in cur]))
    assert (result["worse"], result["better"]) == (8, 2)
    assert result["test"] == "mcnemar-exact"
    assert result["p_value"] == sps.binomtest(8, 10, 0.5).pvalue
    assert result["delta"] == np.mean(np.array(cur) - np.array(base))
    assert result["verdict"] == stats.UNCHANGED  # p = 0.109 > 0.05
    assert [f["row_id"] for f in result["flipped"][:8]] == [f"r{i}" for i in range(22, 30)]
    looser = stats.compare_metric(stats.BINARY, _rows(base, [v > 0 for v in base]),
                                  _rows(cur, [v > 0 for v in cur]), alpha=0.2)
    assert looser["verdict"] == stats.REGRESSED


def test_numeric_comparison_is_wilcoxon_with_min_delta() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.5, 0.9, 60)
    cur = base - rng.uniform(0.0, 0.1, 60)
    result = stats.compare_metric(stats.NUMERIC, _rows(list(base)), _rows(list(cur)))
    # 60 non-zero differences: above stats.EXACT_MAX_N, the tie-corrected normal approximation
    # with continuity correction, as scipy computes it.
    assert result["test"] == "wilcoxon-normal"
    assert np.isclose(result["p_value"], sps.wilcoxon(cur - base, zero_method="pratt", correction=True,
                                                      method="approx").pvalue)
    assert result["verdict"] == stats.REGRESSED
    lo, hi = result["delta_ci"]
    assert lo < result["delta"] < hi < 0
    # The same significant drop is ignored when it is smaller than min_delta...
    small = stats.compare_metric(stats.NUMERIC, _rows(list(base)), _rows(list(cur)), min_delta=0.2)
    assert small["verdict"] == stats.UNCHANGED
    # ...and for a lower-is-better metric the same drop is an improvement.
    lower = stats.compare_metric(stats.NUMERIC, _rows(list(base)), _rows(list(cur)),
                                 higher_is_better=False)
    assert lower["verdict"] == stats.IMPROVED
    same = stats.compare_metric(stats.NUMERIC, _rows(list(base)), _rows(list(base)))
    assert same["p_value"] == 1.0 and same["verdict"] == stats.UNCHANGED


def test_bootstrap_ci_matches_scipy_and_handles_degenerate_samples() -> None:
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    lo, hi = stats.bootstrap_ci(values)
    ref = sps.bootstrap((np.array(values),), np.mean, n_resamples=stats.N_RESAMPLES,
                        rng=np.random.default_rng(stats.SEED)).confidence_interval
    assert (lo, hi) == (ref.low, ref.high)
    assert stats.bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert stats.bootstrap_ci([0.5]) == (None, None)
    pct = stats.percentiles([10, 20, 30, 40, 100])
    assert pct == {"p50": np.percentile([10, 20, 30, 40, 100], 50),
                   "p95": np.percentile([10, 20, 30, 40, 100], 95)}


def test_compare_runs_pairs_by_row_id_and_counts_failed_tasks_as_fails() -> None:
    a = RunData(run={"run_id": "a"},
                rows=[{"row_id": f"r{i}", "row_index": i, "status": "ok"} for i in range(3)],
                scores=[{"row_id": f"r{i}", "scorer": "ok", "value": True, "passed": True} for i in range(3)],
                summaries=[{"scorer": "ok", "kind": "binary", "higher_is_better": True}])
    # The current run's rows come in another order and row r1's task failed.
    b = RunData(run={"run_id": "b"},
                rows=[{"row_id": "r2", "row_index": 0, "status": "ok"},
                      {"row_id": "r1", "row_index": 1, "status": "error", "error": "boom"},
                      {"row_id": "r0", "row_index": 2, "status": "ok"}],
                scores=[{"row_id": "r2", "scorer": "ok", "value": True, "passed": True},
                        {"row_id": "r0", "scorer": "ok", "value": True, "passed": True}])
    result = compare_runs(a, b)
    ok = next(s for s in result["scorers"] if s["scorer"] == "ok")
    assert ok["n_shared"] == 3 and ok["worse"] == 1 and ok["flipped"][0]["row_id"] == "r1"
    success = next(s for s in result["scorers"] if s["scorer"] == TASK_SUCCESS)
    assert success["current"]["mean"] == 2 / 3
    assert result["rows"][0]["row_id"] == "r1" and result["rows"][0]["b"]["error"] == "boom"


def test_a_scorer_in_one_run_only_is_not_compared() -> None:
    rows = [{"row_id": "r0", "row_index": 0, "status": "ok"}]
    a = RunData(run={"run_id": "a"}, rows=rows,
                scores=[{"row_id": "r0", "scorer": "old", "value": True, "passed": True}])
    b = RunData(run={"run_id": "b"}, rows=rows,
                scores=[{"row_id": "r0", "scorer": "new", "value": 0.5, "passed": None}])
    result = compare_runs(a, b)
    by_name = {s["scorer"]: s for s in result["scorers"]}
    assert by_name["old"]["verdict"] == "n/a" and by_name["old"]["note"] == "only in the baseline run"
    assert by_name["new"]["verdict"] == "n/a" and by_name["new"]["note"] == "only in the current run"
    assert result["verdict"] == "unchanged"


def test_large_samples_stay_cheap_and_agree_with_the_t_interval() -> None:
    rng = np.random.default_rng(3)
    big = rng.normal(0.6, 0.2, stats.BOOTSTRAP_MAX_N + 1)
    lo, hi = stats.bootstrap_ci(big)
    ref = sps.t.interval(0.95, big.size - 1, loc=big.mean(), scale=sps.sem(big))
    assert (lo, hi) == (ref[0], ref[1])
    mid = rng.normal(0.6, 0.2, stats.BCA_MAX_N * 5)
    mlo, mhi = stats.bootstrap_ci(mid)
    tlo, thi = sps.t.interval(0.95, mid.size - 1, loc=mid.mean(), scale=sps.sem(mid))
    # The percentile bootstrap and the t interval agree closely at this size.
    assert abs(mlo - tlo) < 0.003 and abs(mhi - thi) < 0.003
