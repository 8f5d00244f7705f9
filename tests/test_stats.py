"""Statistics against hand calculations and brute-force enumerations."""

from __future__ import annotations

import itertools
import json
import math
from statistics import NormalDist

import numpy as np
import pytest

from advisor.errors import AdvisorError
from advisor.evaluation.stats import (
    EXACT_PERMUTATION_MAX,
    TEST_MCNEMAR_CHI2,
    TEST_MCNEMAR_EXACT,
    TEST_PERMUTATION_EXACT,
    TEST_PERMUTATION_MC,
    PairedResult,
    bootstrap_ci,
    compare_arms,
    default_pairs,
    holm_adjust,
    mcnemar,
    mde_from_pairs,
    minimum_detectable_effect,
    paired_comparison,
    sign_flip_pvalue,
)

# ---------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_mean_and_narrows_with_n():
    rng = np.random.default_rng(42)
    small = rng.normal(0.5, 0.2, size=20)
    large = rng.normal(0.5, 0.2, size=2000)
    widths = {}
    for name, values in (("small", small), ("large", large)):
        lo, hi = bootstrap_ci(values, seed=1)
        assert lo < values.mean() < hi
        widths[name] = hi - lo
    # width ~ 2 * 1.96 * sd / sqrt(n): 100x the items -> about 10x narrower
    assert widths["large"] < widths["small"] / 5
    assert widths["large"] == pytest.approx(2 * 1.96 * large.std() / math.sqrt(2000), rel=0.15)


def test_bootstrap_ci_edge_cases():
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    assert bootstrap_ci([0.3, 0.3, 0.3]) == (0.3, 0.3)
    with pytest.raises(AdvisorError, match="zero items"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([0.1, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([0.1, 0.2], confidence=95)


def test_bootstrap_ci_is_seeded_and_wider_at_higher_confidence():
    values = [0.0, 0.2, 0.4, 0.9, 1.0, 0.3]
    assert bootstrap_ci(values, seed=5) == bootstrap_ci(values, seed=5)
    lo95, hi95 = bootstrap_ci(values, seed=5)
    lo99, hi99 = bootstrap_ci(values, confidence=0.99, seed=5)
    assert lo99 <= lo95 and hi95 <= hi99


# ---------------------------------------------------------------- McNemar


def _binary_pairs(only_a: int, only_b: int, both: int = 0, neither: int = 0):
    a = [1] * only_a + [0] * only_b + [1] * both + [0] * neither
    b = [0] * only_a + [1] * only_b + [1] * both + [0] * neither
    return a, b


def test_mcnemar_exact_binomial_by_hand():
    # 1 item only a gets right, 7 only b gets right: n = 8 discordant, k = min = 1
    # P(X <= 1 | Bin(8, 1/2)) = (C(8,0) + C(8,1)) / 2^8 = 9/256; two-sided p = 18/256
    stat, p = mcnemar(*_binary_pairs(1, 7))
    assert stat == 1.0
    assert p == pytest.approx(18 / 256)
    # concordant items carry no evidence
    assert mcnemar(*_binary_pairs(1, 7, both=20, neither=9)) == (stat, p)


def test_mcnemar_chi_square_by_hand():
    # 30 vs 10 discordant (n = 40 >= 25): chi2 = (|30 - 10| - 1)^2 / 40 = 361 / 40 = 9.025
    # for 1 degree of freedom P(chi2 > x) = 2 * (1 - Phi(sqrt(x)))
    stat, p = mcnemar(*_binary_pairs(30, 10, both=5))
    assert stat == pytest.approx(9.025)
    assert p == pytest.approx(2 * (1 - NormalDist().cdf(math.sqrt(9.025))), rel=1e-9)
    assert p == pytest.approx(0.002663, abs=1e-5)


def test_mcnemar_symmetric_degenerate_and_invalid():
    assert mcnemar(*_binary_pairs(3, 3)) == (3.0, 1.0)  # 2 * P(X <= 3 | Bin(6, .5)) > 1
    assert mcnemar([1, 0, 1], [1, 0, 1]) == (0.0, 1.0)
    with pytest.raises(ValueError, match="only 0 and 1"):
        mcnemar([0.5, 1], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        mcnemar([1, 0], [1])


# ---------------------------------------------------------------- permutation test


def _brute_force_sign_flip(diffs):
    observed = abs(sum(diffs))
    hits = sum(
        abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12
        for signs in itertools.product((-1, 1), repeat=len(diffs))
    )
    return hits / 2 ** len(diffs)


@pytest.mark.parametrize(
    "diffs",
    [
        [0.5, 0.25, -0.25, 0.75, 0.0, 1.0, 0.5, -0.5],
        [1.0, 1.0, 1.0, 1.0, 1.0],  # only the identity and its mirror are as extreme: 2/32
        [0.25, -0.25, 0.5, -0.5, 0.0, 0.0],
    ],
)
def test_exact_permutation_matches_brute_force(diffs):
    p, exact = sign_flip_pvalue(diffs)
    assert exact
    assert p == _brute_force_sign_flip(diffs)


def test_monte_carlo_permutation_approximates_enumeration():
    diffs = [0.1 * k * (-1) ** (k % 3 == 0) for k in range(1, EXACT_PERMUTATION_MAX + 2)]
    d = np.asarray(diffs)
    m = d.size  # one more than the exact limit, so Monte Carlo runs
    patterns = np.arange(2**m)[:, None] >> np.arange(m)
    sums = ((patterns & 1) * 2.0 - 1.0) @ d
    enumerated = float(np.mean(np.abs(sums) >= abs(d.sum()) - 1e-9))
    p, exact = sign_flip_pvalue(diffs, n_resamples=20_000, seed=0)
    assert not exact
    assert 0.01 < enumerated < 0.5  # a p-value where the approximation is tested
    assert p == pytest.approx(enumerated, abs=0.015)


# ---------------------------------------------------------------- paired comparison


@pytest.mark.parametrize("binary", [False, True])
def test_identical_arms_are_not_different(binary):
    a = [1.0, 0.0, 1.0, 1.0, 0.0] * 4
    res = paired_comparison(a, list(a), binary=binary)
    assert res.diff == 0.0
    assert res.p_value == 1.0
    assert res.ci95 == (0.0, 0.0)
    assert not res.significant
    assert res.n == 20


def test_clearly_different_continuous_arms():
    rng = np.random.default_rng(7)
    a = np.clip(0.8 + rng.normal(0, 0.1, 40), 0, 1)
    b = np.clip(0.2 + rng.normal(0, 0.1, 40), 0, 1)
    res = paired_comparison(a, b, seed=0)
    assert res.diff == pytest.approx(float(np.mean(a - b)))
    assert res.diff > 0.5
    assert res.p_value < 0.01
    assert res.test == TEST_PERMUTATION_MC
    assert res.ci95[0] > 0 and res.significant
    flipped = paired_comparison(b, a, seed=0)
    assert flipped.diff == pytest.approx(-res.diff) and flipped.ci95[1] < 0


def test_clearly_different_binary_arms_use_mcnemar():
    a, b = _binary_pairs(28, 2, both=5, neither=5)  # 30 discordant -> chi-square
    res = paired_comparison(a, b, binary=True)
    assert res.test == TEST_MCNEMAR_CHI2
    assert res.diff == pytest.approx(26 / 40)
    assert res.p_value < 0.01 and res.significant
    small = paired_comparison(*_binary_pairs(1, 7), binary=True)
    assert small.test == TEST_MCNEMAR_EXACT and small.p_value == pytest.approx(18 / 256)


def test_small_continuous_comparison_is_exact():
    res = paired_comparison([0.5, 0.75, 1.0], [0.25, 0.5, 0.5])
    assert res.test == TEST_PERMUTATION_EXACT
    assert res.p_value == pytest.approx(_brute_force_sign_flip([0.25, 0.25, 0.5]))  # 2/8


def test_paired_comparison_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        paired_comparison([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        paired_comparison([0.5, 1.0], [1.0, 1.0], binary=True)
    with pytest.raises(AdvisorError):
        paired_comparison([], [])


def test_significance_needs_both_p_and_interval():
    assert PairedResult(0.1, (0.01, 0.2), 0.01, "x", 10).significant
    assert not PairedResult(0.1, (-0.01, 0.2), 0.01, "x", 10).significant
    assert not PairedResult(0.1, (0.01, 0.2), 0.06, "x", 10).significant
    assert PairedResult(-0.1, (-0.2, -0.01), 0.01, "x", 10).significant


# ---------------------------------------------------------------- minimum detectable effect


def test_mde_matches_formula_and_shrinks_like_one_over_sqrt_n():
    # (z_0.975 + z_0.8) * sd / sqrt(n) = (1.959964 + 0.841621) * 0.3 / sqrt(40)
    #                                  = 2.801585 * 0.3 / 6.324555 = 0.132890
    assert minimum_detectable_effect(40, sd=0.3) == pytest.approx(0.132890, abs=1e-5)
    assert minimum_detectable_effect(160, sd=0.3) == pytest.approx(
        minimum_detectable_effect(40, sd=0.3) / 2
    )
    assert minimum_detectable_effect(40, sd=0.3, paired=False) == pytest.approx(
        math.sqrt(2) * minimum_detectable_effect(40, sd=0.3)
    )
    stricter = minimum_detectable_effect(40, sd=0.3, alpha=0.01, power=0.9)
    assert stricter > minimum_detectable_effect(40, sd=0.3)


def test_mde_worst_case_binary():
    # unknown sd: p = 0.5 -> paired sd = sqrt(2 * 0.25) = 0.7071; 2.801585 * 0.7071 / sqrt(40)
    assert minimum_detectable_effect(40) == pytest.approx(0.313227, abs=1e-5)
    assert minimum_detectable_effect(40, paired=False) == pytest.approx(0.313227, abs=1e-5)
    # rate 0.1: sd = sqrt(2 * 0.09) = 0.4243, smaller than the worst case
    assert minimum_detectable_effect(40, binary_rate=0.1) == pytest.approx(
        2.801585 * math.sqrt(0.18) / math.sqrt(40), abs=1e-5
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0},
        {"n": 10, "sd": -1.0},
        {"n": 10, "alpha": 0.0},
        {"n": 10, "power": 1.0},
        {"n": 10, "binary_rate": 1.5},
    ],
)
def test_mde_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        minimum_detectable_effect(**kwargs)


def test_mde_from_pairs_uses_observed_spread():
    a = [0.5, 0.75, 1.0, 0.25]
    b = [0.25, 0.25, 0.5, 0.5]
    # differences 0.25, 0.5, 0.5, -0.25: mean 0.25, squares of deviations 0 + .0625 + .0625
    # + .25 = .375, sd = sqrt(.375 / 3) = sqrt(0.125)
    expected = minimum_detectable_effect(4, sd=math.sqrt(0.125))
    assert mde_from_pairs(a, b) == pytest.approx(expected)
    assert mde_from_pairs(a, a) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        mde_from_pairs([1.0], [0.0])


# ---------------------------------------------------------------- arms


def test_holm_adjust_by_hand():
    # sorted 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> kept monotone at 0.06)
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([]) == []


def test_default_pairs_against_zero_shot_or_first_arm():
    assert default_pairs(["bm25_rag", "zero_shot", "lora"]) == [
        ("bm25_rag", "zero_shot"),
        ("lora", "zero_shot"),
    ]
    assert default_pairs(["few_shot", "lora"]) == [("lora", "few_shot")]
    assert default_pairs([]) == []


def _per_item():
    rng = np.random.default_rng(0)
    n = 30
    return {
        "zero_shot": {
            "exact_match": [0.0] * 25 + [1.0] * 5,
            "token_f1": rng.uniform(0.0, 0.4, n).tolist(),
        },
        "bm25_rag": {
            "exact_match": [1.0] * 25 + [0.0] * 5,
            "token_f1": rng.uniform(0.6, 1.0, n).tolist(),
        },
        "few_shot": {"token_f1": rng.uniform(0.0, 0.4, n).tolist()},
    }


def test_compare_arms_builds_results_json_entries():
    out = compare_arms(_per_item())
    assert [(e["a"], e["b"], e["metric"]) for e in out] == [
        ("bm25_rag", "zero_shot", "exact_match"),
        ("bm25_rag", "zero_shot", "token_f1"),
        ("few_shot", "zero_shot", "token_f1"),
    ]
    keys = {"a", "b", "metric", "diff", "ci95", "p_value", "test", "n", "significant", "p_holm"}
    for entry in out:
        assert set(entry) == keys
        lo, hi = entry["ci95"]
        assert entry["significant"] == (entry["p_value"] < 0.05 and (lo > 0 or hi < 0))
        assert entry["p_holm"] >= entry["p_value"]
        assert entry["n"] == 30
    em, f1, few = out
    assert em["test"] == TEST_MCNEMAR_CHI2 and em["diff"] == pytest.approx(20 / 30)
    assert f1["test"] == TEST_PERMUTATION_MC and f1["significant"]
    assert not few["significant"]
    json.dumps(out)  # plain Python types only


def test_compare_arms_explicit_pairs_metrics_and_missing_arms():
    out = compare_arms(
        _per_item(),
        pairs=[("bm25_rag", "few_shot"), ("lora", "zero_shot")],  # lora failed: skipped
        metrics=["token_f1", "exact_match"],  # few_shot lacks exact_match: skipped
    )
    assert [(e["a"], e["b"], e["metric"]) for e in out] == [("bm25_rag", "few_shot", "token_f1")]
    forced = compare_arms(_per_item(), binary_metrics=[], metrics=["exact_match"])
    assert forced[0]["test"].startswith("permutation")
