"""Uncertainty for pilot numbers: bootstrap intervals, paired tests, detectable effects.

Why this module exists: a pilot scores each arm on a few dozen test items, so a gap of five
points between two arms is often noise. Every mean the report shows carries a percentile
bootstrap interval, and every arm-vs-arm claim rests on a *paired* test (the arms answered the
same items, so per-item differences cancel the item difficulty that dominates the variance):

- continuous metrics (token F1, ROUGE-L, similarity): paired sign-flip permutation test on the
  per-item differences, exact when at most ``EXACT_PERMUTATION_MAX`` differences are non-zero,
  Monte Carlo otherwise;
- binary metrics (exact match, format validity): McNemar's test on the discordant pairs,
  exact binomial below ``MCNEMAR_EXACT_BELOW`` discordant pairs, chi-square with continuity
  correction above.

The interval on a difference is always the paired bootstrap of the per-item differences.
``minimum_detectable_effect`` turns the test-set size into the sentence a report needs:
"with 40 items, differences under ~N points are noise".

Only numpy and the standard library: no scipy import on the CLI's path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from advisor.errors import AdvisorError

EXACT_PERMUTATION_MAX = 16  # 2**16 sign patterns: exact p-value in a few ms
MCNEMAR_EXACT_BELOW = 25  # discordant pairs; the usual cut-off for the chi-square approximation
_MAX_DRAWS_PER_CHUNK = 2_000_000  # resample matrix cells held in memory at once (~16 MB)

# ``test`` labels written into results.json comparisons.
TEST_PERMUTATION_EXACT = "permutation_exact"
TEST_PERMUTATION_MC = "permutation_monte_carlo"
TEST_MCNEMAR_EXACT = "mcnemar_exact"
TEST_MCNEMAR_CHI2 = "mcnemar_chi2"


def _as_array(values: Sequence[float] | np.ndarray, name: str = "values") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers (found NaN or infinity)")
    return arr


def _chunks(n_rows: int, row_len: int) -> list[int]:
    """Row counts per chunk so a (rows x row_len) draw never exceeds the memory budget."""
    per = max(1, _MAX_DRAWS_PER_CHUNK // max(1, row_len))
    return [min(per, n_rows - start) for start in range(0, n_rows, per)]


def bootstrap_means(
    values: Sequence[float] | np.ndarray, n_resamples: int = 2000, seed: int = 0
) -> np.ndarray:
    """The means of ``n_resamples`` resamples with replacement (vectorised, chunked)."""
    arr = _as_array(values)
    n = arr.size
    if n == 0:
        raise AdvisorError(
            "cannot compute a confidence interval over zero items: the test split is empty; "
            "give more examples or a larger test fraction"
        )
    if n_resamples <= 0:
        raise ValueError(f"n_resamples must be positive (not {n_resamples!r})")
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples, dtype=np.float64)
    start = 0
    for rows in _chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(rows, n))
        out[start : start + rows] = arr[idx].mean(axis=1)
        start += rows
    return out


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean.

    Decisions: one value gives ``(v, v)`` (no spread can be estimated; the report shows
    ``n`` beside it). Zero values raise ``AdvisorError`` rather than returning NaN, because
    NaN is not valid JSON and would silently poison results.json; an empty test split is
    something the user fixes by giving more data.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (not {confidence!r})")
    arr = _as_array(values)
    if arr.size == 1 or (arr.size > 1 and np.all(arr == arr[0])):
        return float(arr[0]), float(arr[0])
    means = bootstrap_means(arr, n_resamples=n_resamples, seed=seed)
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return float(lo), float(hi)


# ---------------------------------------------------------------- paired tests


def sign_flip_pvalue(
    diffs: Sequence[float] | np.ndarray, n_resamples: int = 5000, seed: int = 0
) -> tuple[float, bool]:
    """Two-sided paired permutation p-value for ``mean(diffs) == 0``; returns (p, exact).

    Under the null each item's difference is as likely to be +d as -d, so flipping signs
    gives the null distribution of the sum. Zero differences never change the sum, so only
    the non-zero ones are enumerated: that keeps the exact test reachable for more pilots.
    Monte Carlo uses (hits + 1) / (draws + 1) so a p-value is never exactly 0.
    """
    d = _as_array(diffs, "diffs")
    d = d[d != 0.0]
    m = d.size
    if m == 0:
        return 1.0, True
    observed = abs(float(d.sum()))
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))  # float ties count as ties
    if m <= EXACT_PERMUTATION_MAX:
        patterns = np.arange(2**m, dtype=np.int64)[:, None] >> np.arange(m, dtype=np.int64)
        signs = (patterns & 1) * 2.0 - 1.0
        sums = signs @ d
        return float(np.mean(np.abs(sums) >= observed - tol)), True
    rng = np.random.default_rng(seed)
    hits = 0
    for rows in _chunks(n_resamples, m):
        signs = rng.integers(0, 2, size=(rows, m)) * 2.0 - 1.0
        hits += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
    return (hits + 1) / (n_resamples + 1), False


def _check_binary(arr: np.ndarray, name: str) -> None:
    if not np.all((arr == 0.0) | (arr == 1.0)):
        raise ValueError(f"{name} must hold only 0 and 1 for a binary metric")


def _mcnemar(a: np.ndarray, b: np.ndarray) -> tuple[float, float, str]:
    only_a = int(np.count_nonzero((a == 1.0) & (b == 0.0)))
    only_b = int(np.count_nonzero((a == 0.0) & (b == 1.0)))
    n = only_a + only_b
    if n == 0:
        return 0.0, 1.0, TEST_MCNEMAR_EXACT
    if n < MCNEMAR_EXACT_BELOW:
        k = min(only_a, only_b)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
        return float(k), min(1.0, 2.0 * tail), TEST_MCNEMAR_EXACT
    stat = (abs(only_a - only_b) - 1.0) ** 2 / n
    # chi-square with 1 degree of freedom: P(X > x) = erfc(sqrt(x / 2))
    return float(stat), float(math.erfc(math.sqrt(stat / 2.0))), TEST_MCNEMAR_CHI2


def mcnemar(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    """McNemar's test on paired 0/1 outcomes; returns (statistic, two-sided p-value).

    Only discordant items (one arm right, the other wrong) carry evidence. Below
    ``MCNEMAR_EXACT_BELOW`` of them the p-value is the exact binomial(n, 1/2) test and the
    statistic is the smaller discordant count (the statsmodels convention); otherwise the
    statistic is the continuity-corrected chi-square ``(|b - c| - 1)^2 / (b + c)``.
    """
    x, y = _as_array(a, "a"), _as_array(b, "b")
    if x.size != y.size:
        raise ValueError(f"paired arrays must have the same length ({x.size} != {y.size})")
    _check_binary(x, "a")
    _check_binary(y, "b")
    stat, p, _ = _mcnemar(x, y)
    return stat, p


@dataclass(frozen=True)
class PairedResult:
    """One arm-vs-arm comparison on one metric."""

    diff: float  # mean(a - b): positive means arm a scored higher
    ci95: tuple[float, float]  # paired bootstrap interval of that mean difference
    p_value: float  # two-sided; see ``test`` for how it was computed
    test: str  # one of the TEST_* labels above
    n: int  # number of paired items

    @property
    def significant(self) -> bool:
        """p < 0.05 *and* the interval excludes 0: both methods must agree before we claim."""
        lo, hi = self.ci95
        return self.p_value < 0.05 and (lo > 0.0 or hi < 0.0)


def paired_comparison(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    binary: bool = False,
    n_resamples: int = 5000,
    seed: int = 0,
) -> PairedResult:
    """Compare two arms scored on the same items, in the same order."""
    x, y = _as_array(a, "a"), _as_array(b, "b")
    if x.size != y.size:
        raise ValueError(f"paired arrays must have the same length ({x.size} != {y.size})")
    if x.size == 0:
        raise AdvisorError("cannot compare arms over zero items: the test split is empty")
    if binary:
        _check_binary(x, "a")
        _check_binary(y, "b")
    d = x - y
    ci = bootstrap_ci(d, n_resamples=n_resamples, seed=seed)
    if binary:
        _, p, test = _mcnemar(x, y)
    else:
        p, exact = sign_flip_pvalue(d, n_resamples=n_resamples, seed=seed + 1)
        test = TEST_PERMUTATION_EXACT if exact else TEST_PERMUTATION_MC
    return PairedResult(diff=float(d.mean()), ci95=ci, p_value=float(p), test=test, n=x.size)


# ---------------------------------------------------------------- detectable effects


def minimum_detectable_effect(
    n: int,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = True,
    binary_rate: float | None = None,
) -> float:
    """Smallest true difference in means a two-sided test finds with the given power.

    Normal approximation: ``(z_{1-alpha/2} + z_{power}) * se`` where ``se = sd / sqrt(n)``
    when ``paired`` (``sd`` is the spread of the per-item *differences*) and
    ``se = sd * sqrt(2 / n)`` otherwise (``sd`` is one arm's spread, two groups of ``n``).

    Without ``sd``, the spread comes from ``binary_rate`` (the expected success rate ``p``,
    default 0.5, the worst case): one arm has ``sd = sqrt(p (1 - p))`` and, if the arms'
    errors were independent, a paired difference has ``sd = sqrt(2 p (1 - p))`` (discordance
    ``2 p (1 - p)``, at most 0.5, so ``sd <= 0.71``). Both give the same MDE; real arms are
    positively correlated, so measured paired spreads (``mde_from_pairs``) are usually smaller.
    The 0.5 default is also the worst case for any metric bounded in [0, 1].
    """
    if n <= 0:
        raise ValueError(f"n must be positive (not {n!r})")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (not {alpha!r})")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be between 0 and 1 (not {power!r})")
    if sd is None:
        rate = 0.5 if binary_rate is None else binary_rate
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"binary_rate must be between 0 and 1 (not {binary_rate!r})")
        arm_var = rate * (1.0 - rate)
        sd = math.sqrt(2.0 * arm_var) if paired else math.sqrt(arm_var)
    elif sd < 0 or not math.isfinite(sd):
        raise ValueError(f"sd must be a non-negative number (not {sd!r})")
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0) + NormalDist().inv_cdf(power)
    se = sd / math.sqrt(n) if paired else sd * math.sqrt(2.0 / n)
    return float(z * se)


def mde_from_pairs(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """MDE using the observed spread of the per-item differences ``a - b`` (ddof = 1).

    Returns 0.0 when the two arms agree on every item (the spread is then unknown, not
    zero); callers who need a statement anyway should use ``minimum_detectable_effect(n)``.
    """
    x, y = _as_array(a, "a"), _as_array(b, "b")
    if x.size != y.size:
        raise ValueError(f"paired arrays must have the same length ({x.size} != {y.size})")
    if x.size < 2:
        raise ValueError(f"need at least 2 pairs to estimate a spread (got {x.size})")
    sd = float(np.std(x - y, ddof=1))
    return minimum_detectable_effect(x.size, sd=sd, alpha=alpha, power=power, paired=True)


# ---------------------------------------------------------------- arms


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values: a pilot runs many comparisons at once."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def default_pairs(arms: Sequence[str], baseline: str = "zero_shot") -> list[tuple[str, str]]:
    """Every arm against the baseline (``zero_shot`` if present, else the first arm).

    Why not all pairs: 7 arms x 5 metrics would be 105 tests, most of them uninteresting;
    the question a pilot answers is "does this approach beat plain prompting?".
    """
    arms = list(arms)
    if not arms:
        return []
    base = baseline if baseline in arms else arms[0]
    return [(arm, base) for arm in arms if arm != base]


def compare_arms(
    per_item: Mapping[str, Mapping[str, Sequence[float]]],
    pairs: Sequence[tuple[str, str]] | None = None,
    metrics: Sequence[str] | None = None,
    binary_metrics: Sequence[str] | None = None,
    n_resamples: int = 5000,
    seed: int = 0,
) -> list[dict]:
    """The ``comparisons`` entries of results.json.

    ``per_item[arm][metric]`` holds per-item scores in test-set order. Pairs default to
    ``default_pairs``; metrics to those both arms have; binary metrics to the registry's
    ``binary=True`` metrics. A pair naming an arm absent from ``per_item`` (a failed arm) or
    a metric one arm lacks is skipped: a failed arm is reported in its own block, not here.
    Each entry also carries ``p_holm``, the Holm-adjusted p-value over the whole list.
    """
    if binary_metrics is None:
        from advisor.evaluation.metrics import METRICS  # lazy: metrics imports this module

        binary_metrics = [name for name, info in METRICS.items() if info.binary]
    binary_set = set(binary_metrics)
    if pairs is None:
        pairs = default_pairs(list(per_item))
    out: list[dict] = []
    for arm_a, arm_b in pairs:
        if arm_a not in per_item or arm_b not in per_item or arm_a == arm_b:
            continue
        scores_a, scores_b = per_item[arm_a], per_item[arm_b]
        names = list(metrics) if metrics is not None else list(scores_a)
        for metric in names:
            if metric not in scores_a or metric not in scores_b:
                continue
            if len(scores_a[metric]) == 0:
                continue
            res = paired_comparison(
                scores_a[metric],
                scores_b[metric],
                binary=metric in binary_set,
                n_resamples=n_resamples,
                seed=seed,
            )
            out.append(
                {
                    "a": arm_a,
                    "b": arm_b,
                    "metric": metric,
                    "diff": res.diff,
                    "ci95": [res.ci95[0], res.ci95[1]],
                    "p_value": res.p_value,
                    "test": res.test,
                    "n": res.n,
                    "significant": res.significant,
                }
            )
    for entry, p_holm in zip(out, holm_adjust([e["p_value"] for e in out]), strict=True):
        entry["p_holm"] = p_holm
    return out
