"""The gate's statistics against scipy and hand-computed exact values, and its policy:
practical thresholds, Holm–Bonferroni, task failures, latency and cost gates."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from common import gate, stats
from common.compare import TASK_SUCCESS, RunData, compare_runs

ALTERNATIVES = ("two-sided", "greater", "less")


def _signed_pratt_sum(d: np.ndarray):
    """The Pratt signed-rank sum of ``d`` as a scipy.stats.permutation_test statistic
    (the ranks stay with |d| while the sign flips)."""
    ranks = sps.rankdata(np.abs(d))

    def statistic(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum(np.sign(x) * ranks, axis=axis)

    return statistic


# -- Wilcoxon signed-rank ----------------------------------------------------------------

@pytest.mark.parametrize("n", range(1, 11))
def test_exact_wilcoxon_equals_scipy_exact_without_ties(n: int) -> None:
    d = np.random.default_rng(n).normal(size=n)
    for alt in ALTERNATIVES:
        mine = stats.wilcoxon_signed_rank(d, alt)
        assert mine.test == "wilcoxon-exact" and mine.n == n
        assert mine.p_value == pytest.approx(sps.wilcoxon(d, method="exact", alternative=alt).pvalue,
                                             abs=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_exact_wilcoxon_with_zeros_and_ties_is_the_exact_sign_flip_distribution(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    d = rng.choice([0.0, 0.0, 0.1, -0.1, 0.2, -0.3, 0.3], size=n)
    if not d.any():
        d[0] = 0.1
    for alt in ALTERNATIVES:
        ref = sps.permutation_test((d,), _signed_pratt_sum(d), permutation_type="samples",
                                   alternative=alt, n_resamples=10**6)  # exhaustive: 2^n <= 4096
        assert stats.wilcoxon_signed_rank(d, alt).p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_hand_computed_exact_values() -> None:
    # n = 1: T+ is 0 or 1, both as far from 1/2: p = 1.
    assert stats.wilcoxon_signed_rank([0.3]).p_value == 1.0
    # Three positive differences: T+ = 6 is the largest of 8 equally likely sums; two-sided 2/8.
    assert stats.wilcoxon_signed_rank([1.0, 2.0, 3.0]).p_value == 0.25
    assert stats.wilcoxon_signed_rank([1.0, 2.0, 3.0], "greater").p_value == 0.125
    # Ties: three equal magnitudes share rank 2, T+ = 2k with k ~ Bin(3, 1/2); T+ = 4 is 1 from
    # its mean 3, and so is every other value: p = 1.
    assert stats.wilcoxon_signed_rank([1.0, 1.0, -1.0]).p_value == 1.0
    # Pratt: two zeros take ranks 1.5, 1.5; 1, 2, 3, 4 get ranks 3..6, T+ = 18 of 16 sign
    # patterns: only all-positive and all-negative are as extreme: 2/16.
    assert stats.wilcoxon_signed_rank([0.0, 0.0, 1.0, 2.0, 3.0, 4.0]).p_value == 0.125
    # Pratt ranks of [0, 1, -2, 3] are 2, 3, 4 for the non-zero ones; T+ = 6; subset sums of
    # {2, 3, 4} are 0 2 3 4 5 6 7 9 around a mean of 4.5: six of eight are >= 1.5 away.
    assert stats.wilcoxon_signed_rank([0.0, 1.0, -2.0, 3.0]).p_value == 0.75


def test_all_zero_differences_are_no_evidence() -> None:
    for n in (1, 5, 200):
        result = stats.wilcoxon_signed_rank([0.0] * n)
        assert (result.p_value, result.n, result.test) == (1.0, 0, "wilcoxon-exact")
    # Float noise is not a difference: 0.1 + 0.2 vs 0.3.
    assert stats.wilcoxon_signed_rank(np.array([0.1 + 0.2] * 8) - 0.3,
                                      scale=[0.3] * 8).p_value == 1.0


def test_five_rows_off_by_a_thousandth_is_not_a_regression() -> None:
    """The issue's finding: 5 of 20 rows lower by 0.001, every other difference zero.
    scipy's default (normal approximation) gives p = 0.025, a regression at alpha 0.05;
    the exact test gives 2 / 2^5 = 0.0625."""
    base = [0.8, 0.5, 0.3, 0.9, 0.7] + [0.6] * 15
    cur = [b - 0.001 for b in base[:5]] + base[5:]
    diffs = np.array(cur) - np.array(base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sps.wilcoxon(diffs).pvalue < 0.05  # what the old gate used
    rows = lambda vals: {f"r{i}": stats.RowValue(v) for i, v in enumerate(vals)}  # noqa: E731
    # Even with no practical threshold at all the test alone does not call it a regression.
    result = stats.compare_metric(stats.NUMERIC, rows(base), rows(cur), min_delta=0.0)
    assert result["test"] == "wilcoxon-exact" and result["n_tested"] == 5
    assert result["p_value"] == pytest.approx(0.0625, abs=1e-12)
    assert result["verdict"] == "unchanged"
    # Through a whole comparison (default min_delta, Holm) too.
    a = _run("a", base)
    b = _run("b", cur)
    comp = compare_runs(a, b)
    score = next(s for s in comp["scorers"] if s["scorer"] == "score")
    assert score["p_value"] == pytest.approx(0.0625) and score["verdict"] == "unchanged"
    assert comp["verdict"] == "unchanged" and comp["failures"] == []


def test_normal_approximation_only_above_the_exact_limit() -> None:
    rng = np.random.default_rng(7)
    small = rng.normal(0.2, 1.0, stats.EXACT_MAX_N)
    assert stats.wilcoxon_signed_rank(small).test == "wilcoxon-exact"
    with_zeros = np.concatenate([small, np.zeros(500)])  # zeros do not count towards the limit
    assert stats.wilcoxon_signed_rank(with_zeros).test == "wilcoxon-exact"
    big = rng.choice([0.0, 1.0, -1.0, 2.0, 3.0], size=300)
    result = stats.wilcoxon_signed_rank(big)
    assert result.test == "wilcoxon-normal" and result.n == int(np.count_nonzero(big))
    for alt in ALTERNATIVES:
        ref = sps.wilcoxon(big, zero_method="pratt", correction=True, method="approx", alternative=alt)
        assert stats.wilcoxon_signed_rank(big, alt).p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # At the limit the exact p and the approximation are close (it is a sane switch-over point).
    exact = stats.wilcoxon_signed_rank(small).p_value
    approx = sps.wilcoxon(small, zero_method="pratt", correction=True, method="approx").pvalue
    assert abs(exact - approx) < 0.01


# -- McNemar, Holm ------------------------------------------------------------------------

@pytest.mark.parametrize(("worse", "better"), [(0, 0), (1, 0), (5, 0), (8, 2), (3, 3), (0, 7), (40, 21)])
def test_mcnemar_exact_is_the_binomial_test(worse: int, better: int) -> None:
    for alt in ALTERNATIVES:
        result = stats.mcnemar_exact(worse, better, alt)
        assert result.test == "mcnemar-exact"
        expected = 1.0 if worse + better == 0 else sps.binomtest(worse, worse + better, 0.5,
                                                                  alternative=alt).pvalue
        assert result.p_value == pytest.approx(expected, abs=1e-15)
    # By hand: 5 flips all one way, two-sided 2 / 2^5.
    assert stats.mcnemar_exact(5, 0).p_value == pytest.approx(0.0625)


def test_holm_by_hand() -> None:
    # Sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1, but never
    # below the previous: 0.06). None is not part of the family.
    assert stats.holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []
    assert stats.holm([0.01]) == [0.01]


# -- practical thresholds ---------------------------------------------------------------

def test_min_delta_defaults_by_kind_and_settings() -> None:
    assert gate.resolve_min_delta(None, "binary", True, 0.9)[0] == 0.02
    assert gate.resolve_min_delta(None, "numeric", True, 0.5)[0] == 0.01
    assert gate.resolve_min_delta(None, "numeric", False, -250.0)[0] == pytest.approx(2.5)
    assert gate.resolve_min_delta(gate.MinDelta.parse("5%"), "numeric", False, 40.0)[0] == pytest.approx(2.0)
    assert gate.resolve_min_delta(gate.MinDelta.parse(0.1), "binary", True, 0.9)[0] == 0.1
    assert gate.parse_fraction("20%", "x") == pytest.approx(0.2) and gate.parse_fraction(0.1, "x") == 0.1
    with pytest.raises(gate.GateConfigError):
        gate.parse_fraction("lots", "--max-latency-increase")
    with pytest.raises(gate.GateConfigError):
        gate.parse_fraction("-5%", "x")


def test_a_regression_needs_significance_and_a_practical_effect() -> None:
    assert gate.verdict(-0.05, 0.001, 0.05, 0.02, True) == "regressed"
    assert gate.verdict(-0.01, 0.001, 0.05, 0.02, True) == "unchanged"   # too small to matter
    assert gate.verdict(-0.50, 0.20, 0.05, 0.02, True) == "unchanged"    # not significant
    assert gate.verdict(-0.02, 0.001, 0.05, 0.02, True) == "regressed"   # exactly at min_delta
    assert gate.verdict(+0.30, 0.001, 0.05, 0.02, False) == "regressed"  # lower is better


# -- whole comparisons ------------------------------------------------------------------

def _run(run_id: str, values: list, *, scorer: str = "score", status: list[str] | None = None,
         latency: list[float] | None = None, cost: list[float] | None = None,
         gate_cfg: dict | None = None, kind: str | None = None) -> RunData:
    n = len(values)
    status = status or ["ok"] * n
    rows = [{"row_id": f"r{i}", "row_index": i, "status": status[i],
             "latency_ms": (latency or [10.0] * n)[i], "cost_usd": (cost or [None] * n)[i]}
            for i in range(n)]
    scores = [{"row_id": f"r{i}", "scorer": scorer, "value": v,
               "passed": v if isinstance(v, bool) else None}
              for i, v in enumerate(values) if status[i] == "ok"]
    summaries = [{"scorer": scorer, "kind": kind or stats.metric_kind(
        [s["value"] for s in scores], [s["passed"] for s in scores]), "higher_is_better": True,
        "alpha": 0.05, "min_delta": 0.0}]
    return RunData(run={"run_id": run_id, "stats": {"gate": gate_cfg} if gate_cfg else {}},
                   rows=rows, scores=scores, summaries=summaries)


def test_every_task_failing_fails_first_and_scorers_count_as_failed() -> None:
    a = _run("a", [True] * 16 + [False] * 4)
    b = _run("b", [None] * 20, status=["error"] * 20, kind="label")
    comp = compare_runs(a, b)
    assert comp["verdict"] == "regressed"
    assert comp["failures"][0] == "task failed on 20/20 rows"
    score = next(s for s in comp["scorers"] if s["scorer"] == "score")
    assert score["kind"] == "binary" and score["verdict"] == "regressed"
    assert score["current"]["mean"] == 0.0 and score["n_shared"] == 20 and score["worse"] == 16
    assert comp["failures"][1].startswith("score regressed")
    # A numeric scorer is compared with failed rows at the worst end of its [0, 1] scale.
    a = _run("a", [0.9, 0.8, 0.7, 0.95] * 5)
    b = _run("b", [None] * 20, status=["error"] * 20, kind="label")
    score = next(s for s in compare_runs(a, b)["scorers"] if s["scorer"] == "score")
    assert score["kind"] == "numeric" and score["failed_rows_count_as"] == 0.0
    assert score["current"]["mean"] == 0.0 and score["verdict"] == "regressed"


def test_task_failures_increase_is_tested_and_the_error_rate_rule() -> None:
    a = _run("a", [True] * 40)
    b = _run("b", [True] * 40, status=["ok"] * 28 + ["error"] * 12)
    comp = compare_runs(a, b)
    task = next(s for s in comp["scorers"] if s["scorer"] == TASK_SUCCESS)
    assert task["verdict"] == "regressed" and task["test"] == "mcnemar-exact"
    assert comp["failures"][0].startswith("task failed on 12/40 rows (baseline 0/40)")
    # Without a baseline: the default maximum error rate of 50%.
    assert gate.error_rate_failures(12, 40, None, has_baseline=False) == []
    assert gate.error_rate_failures(21, 40, None, has_baseline=False) == [
        "task failed on 21/40 rows (52%, above the maximum error rate of 50%)"]
    assert gate.error_rate_failures(40, 40, None, has_baseline=True) == ["task failed on 40/40 rows"]
    assert gate.error_rate_failures(5, 40, 0.1, has_baseline=True)[0].startswith("task failed on 5/40")
    assert gate.error_rate_failures(21, 40, None, has_baseline=True) == []


def test_latency_and_cost_gates_use_paired_one_sided_tests() -> None:
    n = 12
    base_lat = [100.0 + 10 * i for i in range(n)]
    cfg = {"max_latency_increase": 0.2, "max_cost_increase": "10%"}
    a = _run("a", [True] * n, latency=base_lat, cost=[0.001] * n)
    slow = _run("b", [True] * n, latency=[3 * x for x in base_lat], cost=[0.002] * n, gate_cfg=cfg)
    comp = compare_runs(a, slow)
    gates = {g["gate"]: g for g in comp["gates"]}
    lat, cost = gates["latency_ms"], gates["cost_usd"]
    assert lat["ratio"] == pytest.approx(3.0) and lat["test"] == "wilcoxon-exact"
    assert lat["p_value"] == pytest.approx(0.5 ** n)  # every row slower: one sign pattern of 2^12
    assert lat["verdict"] == "regressed" and cost["verdict"] == "regressed"
    assert cost["ratio"] == pytest.approx(2.0)
    assert comp["verdict"] == "regressed" and comp["regressed"][-2:] == ["latency_ms", "cost_usd"]
    assert any(f.startswith("latency rose 3.00x (limit +20%") for f in comp["failures"])
    # 10% slower on every row: significant, but below the 20% limit.
    mild = _run("b", [True] * n, latency=[1.1 * x for x in base_lat], cost=[0.001] * n, gate_cfg=cfg)
    comp = compare_runs(a, mild)
    assert {g["gate"]: g["verdict"] for g in comp["gates"]} == {"latency_ms": "unchanged",
                                                                "cost_usd": "unchanged"}
    assert comp["verdict"] == "unchanged"
    # Without the settings there are no gates: a slowdown alone passes.
    plain = _run("b", [True] * n, latency=[3 * x for x in base_lat])
    assert compare_runs(a, plain)["gates"] == [] and compare_runs(a, plain)["verdict"] == "unchanged"


def test_holm_family_spans_every_comparison() -> None:
    # Each comparison alone: 6 of 6 rows flipped, McNemar p = 2/64 = 0.03125 < 0.05.
    a = _run("a", [True] * 6)
    b = _run("b", [False] * 6)
    one = compare_runs(a, b)
    score = next(s for s in one["scorers"] if s["scorer"] == "score")
    assert score["p_value"] == pytest.approx(0.03125) and score["verdict"] == "regressed"
    # task_success (no task failed: no discordant pair, p = 1 by construction) is not counted.
    assert score["p_adjusted"] == pytest.approx(0.03125) and one["family_size"] == 1
    # Three such comparisons in one suite run: Holm multiplies the smallest p by 3:
    # 0.094 > 0.05, so none regressed.
    comps = [compare_runs(a, b) for _ in range(3)]
    gate.finalize(comps)
    assert comps[0]["family_size"] == 3
    for comp in comps:
        score = next(s for s in comp["scorers"] if s["scorer"] == "score")
        assert score["p_value"] == pytest.approx(0.03125)
        assert score["p_adjusted"] == pytest.approx(3 * 0.03125)
        assert score["verdict"] == "unchanged" and comp["verdict"] == "unchanged"


def test_gate_config_round_trips_and_old_runs_use_their_min_delta() -> None:
    cfg = gate.GateConfig(0.2, 0.25, None, {"*": gate.MinDelta(0.05), "x": gate.MinDelta(0.1, True)})
    back = gate.GateConfig.from_json(cfg.to_json())
    assert back == cfg and back.min_delta_for("x").relative and back.min_delta_for("y").amount == 0.05
    assert gate.GateConfig.from_json({"max_error_rate": "junk"}).max_error_rate is None
    a, b = _run("a", [True] * 40), _run("b", [True] * 37 + [False] * 3)
    b.summaries[0]["min_delta"] = 0.1  # stored by a run without stats.gate
    score = next(s for s in compare_runs(a, b)["scorers"] if s["scorer"] == "score")
    assert score["min_delta"] == 0.1 and score["min_delta_rule"] == "set: 0.1"
    assert math.isclose(score["delta"], -3 / 40)


def test_tests_that_cannot_reach_alpha_stay_out_of_the_family() -> None:
    # 5 flips all one way: the smallest possible two-sided p is 2/2^5 = 0.0625 >= 0.05.
    assert stats.mcnemar_exact(5, 0).min_p == pytest.approx(0.0625)
    assert stats.wilcoxon_signed_rank([1.0] * 6).min_p == pytest.approx(2 / 64)
    assert stats.wilcoxon_signed_rank([1.0] * 6, "greater").min_p == pytest.approx(1 / 64)
    a = _run("a", [True] * 20)
    few = _run("b", [False] * 5 + [True] * 15)
    comp = compare_runs(a, few)
    score = next(s for s in comp["scorers"] if s["scorer"] == "score")
    assert score["p_value"] == pytest.approx(0.0625) and score["p_adjusted"] is None
    assert comp["family_size"] == 0 and score["verdict"] == "unchanged"
    # Together with a real regression it does not dilute it: Holm over one test, not two.
    many = _run("b", [False] * 7 + [True] * 13)
    comps = [compare_runs(a, few), compare_runs(a, many)]
    gate.finalize(comps)
    hit = next(s for s in comps[1]["scorers"] if s["scorer"] == "score")
    assert comps[1]["family_size"] == 1 and hit["p_adjusted"] == pytest.approx(2 / 128)
    assert hit["verdict"] == "regressed"


def test_suite_settings_and_command_line_overrides() -> None:
    from evals.suite import Eval, EvalConfigError, Threshold

    def task(x: int) -> int:
        return x

    def s1(output) -> bool:
        return True

    ev = Eval("e", [{"x": 1}], task, [s1], min_delta="2%", max_latency_increase="20%",
              max_cost_increase=0.1, max_error_rate=0.3, thresholds={"s1": Threshold(min_delta=0.05)})
    cfg = ev.gate_config()
    assert (cfg.max_latency_increase, cfg.max_cost_increase, cfg.max_error_rate) == (0.2, 0.1, 0.3)
    assert cfg.min_delta_for("s1") == gate.MinDelta(0.05)
    assert cfg.min_delta_for("task_success") == gate.MinDelta(0.02, relative=True)
    # The command line wins; a run-wide --min-delta replaces the suite's per-scorer values.
    cli = gate.GateConfig(max_latency_increase=0.5, min_delta={"*": gate.MinDelta(0.1)})
    merged = ev.gate_config(cli)
    assert merged.max_latency_increase == 0.5 and merged.max_cost_increase == 0.1
    assert merged.min_delta_for("s1") == gate.MinDelta(0.1)
    for bad in ({"max_latency_increase": "fast"}, {"max_error_rate": 2}, {"min_delta": "x%"},
                {"thresholds": {"s1": {"min_delta": -1}}}):
        with pytest.raises(EvalConfigError):
            Eval("e", [{"x": 1}], task, [s1], **bad)
