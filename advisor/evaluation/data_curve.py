"""The data curve: how a finetuned arm's score grows with its training data, and what
doubling the data would likely give.

Why: the chapter's question "how much data do we need?" (framework §6) is answered by
training on nested subsets of the data on hand (e.g. 25%, 50%, 100%) and reading the slope:
a steep curve says more data should pay, a flat one says it will not. 50-100 good examples
are enough to see whether finetuning helps at all; no gain there rarely turns into a gain
with more data unless the data was bad.

The fit is on the log-odds scale z = logit(y), with k = log2(n / n_smallest) doublings
above the smallest point::

    z(k) = a + b * (1 - r**k) / (1 - r)        (r = 1: z = a + b * k)

Each doubling adds r times what the one before it added: r < 1 saturates, r = 1 is a steady
climb. r is held in [0, 1] (an accelerating curve is read as a steady one, the conservative
reading) and fitted on a grid; a and b by least squares for each r. Three points determine
the curve, more are smoothed. Why log-odds: a score cannot pass 1, and near the top a steady
climb in log-odds is the usual learning curve (each doubling divides the remaining errors by
about the same factor), so predictions stay inside [0, 1] with honest intervals instead of
being clipped at 1. Means of exactly 0 or 1 are held half an item away (0.5 / n items).

Uncertainty: the test items are resampled (the same items for every point, so the points
stay paired), the means recomputed and the curve refitted, 2000 times; intervals are the
percentiles. They cover which test items were drawn, not training randomness (``--seeds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from advisor.errors import AdvisorError
from advisor.evaluation.stats import bootstrap_ci, paired_comparison

__all__ = [
    "CURVE_FRACTIONS",
    "FLAT_GAIN",
    "MIN_POINT_EXAMPLES",
    "RULE_EXAMPLES",
    "analyse_curve",
    "check_fractions",
    "curve_sizes",
    "describe_curve",
    "fit_curve",
]

CURVE_FRACTIONS = (0.25, 0.5, 1.0)  # the chapter's nested subsets: two doublings
MIN_POINT_EXAMPLES = 25  # a smaller training set says more about noise than about data
MIN_STEP = 1.25  # sizes closer than this ratio add a point without adding information
RULE_EXAMPLES = 50  # the chapter: 50-100 good examples show whether finetuning helps at all
FLAT_GAIN = 0.02  # per doubling: below two points of the metric, more data "adds little"
UNCLEAR_GAIN = 0.05  # a non-significant rise at least this large is "unclear", not "flat"
R_GRID = np.linspace(0.0, 1.0, 41)  # the saturation ratios tried
MAX_AIM_DOUBLINGS = 3  # advise at most 8x the data: beyond that the fit is guesswork
CEILING = 0.99  # a predicted score this close to 1 leaves nothing to gain


def check_fractions(fractions: Sequence[float]) -> None:
    """() turns the curve off; otherwise at least three distinct fractions in (0, 1]."""
    if not fractions:
        return
    bad = [f for f in fractions if isinstance(f, bool) or not 0.0 < float(f) <= 1.0]
    if bad:
        raise ValueError(
            f"data curve fractions must be in (0, 1], e.g. 0.25,0.5,1 (not {bad[0]!r})"
        )
    if len(set(fractions)) < 3:
        raise ValueError(
            "the data curve needs at least three different fractions, e.g. 0.25,0.5,1 "
            f"(got {', '.join(f'{f:g}' for f in fractions)})"
        )


def _sizes(n_train: int, fractions: Sequence[float], min_examples: int) -> list[int]:
    wanted = sorted({max(min_examples, int(round(f * n_train))) for f in fractions})
    sizes: list[int] = []
    for n in wanted:
        if n > n_train:
            continue
        if not sizes or n >= sizes[-1] * MIN_STEP:
            sizes.append(n)
        elif n == n_train:
            sizes[-1] = n  # keep the whole set: it is the arm the pilot measured
    return sizes


def curve_sizes(
    n_train: int,
    fractions: Sequence[float] = CURVE_FRACTIONS,
    min_examples: int = MIN_POINT_EXAMPLES,
) -> list[int]:
    """Training-set sizes for the curve: ``fractions`` of ``n_train``, none under
    ``min_examples``, each at least ``MIN_STEP`` times the one before. Fewer than three
    sizes is an AdvisorError that says how many examples the curve needs."""
    sizes = _sizes(n_train, fractions, min_examples)
    if len(sizes) < 3:
        need = next(
            (
                n
                for n in range(n_train + 1, 100 * min_examples)
                if len(_sizes(n, fractions, min_examples)) >= 3
            ),
            None,
        )
        shown = ", ".join(map(str, sizes)) or "none"
        raise AdvisorError(
            f"the data curve needs three training-set sizes of at least {min_examples} "
            f"examples; the training split has {n_train} (sizes {shown}): "
            + (f"give about {need} or more training examples" if need else "use other fractions")
            + ", or drop --data-curve"
        )
    return sizes


def _basis(ks: np.ndarray, r: float) -> np.ndarray:
    """(1 - r**k) / (1 - r): the gain of k doublings in units of the first one."""
    if r >= 1.0:
        return ks.astype(np.float64)
    return (1.0 - np.power(r, ks)) / (1.0 - r)


def fit_curve(ks: Sequence[float], means: np.ndarray) -> tuple[np.ndarray, ...]:
    """Least-squares fit of ``a + b * basis(k, r)`` for each row of ``means`` (rows x points).

    Returns arrays ``a, b, r`` with one value per row. Ties between ratios (a flat curve
    fits every r) go to the largest r, the log curve.
    """
    k = np.asarray(ks, dtype=np.float64)
    m = np.atleast_2d(np.asarray(means, dtype=np.float64))
    sse, coefs = [], []
    for r in R_GRID:
        x = np.column_stack([np.ones_like(k), _basis(k, r)])
        c = m @ np.linalg.pinv(x).T  # rows x 2
        sse.append(((m - c @ x.T) ** 2).sum(axis=1))
        coefs.append(c)
    sse_arr = np.round(np.array(sse), 12)  # grid x rows; rounding makes exact ties ties
    best = len(R_GRID) - 1 - np.argmin(sse_arr[::-1], axis=0)  # last minimum: largest r
    rows = np.arange(m.shape[0])
    chosen = np.array(coefs)[best, rows]  # rows x 2
    return chosen[:, 0], chosen[:, 1], R_GRID[best]


def _logit(p: np.ndarray, eps: float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p))


def _value(a, b, r, k) -> np.ndarray:
    """The fitted curve at ``k`` doublings, per row, back on the metric's scale (0 to 1)."""
    a, b, r = (np.asarray(v, dtype=np.float64) for v in (a, b, r))
    basis = np.where(r >= 1.0, k, (1.0 - np.power(r, k)) / np.where(r >= 1.0, 1.0, 1.0 - r))
    return 1.0 / (1.0 + np.exp(-(a + b * basis)))


def _interval(values: np.ndarray) -> list[float]:
    lo, hi = np.quantile(values, [0.025, 0.975])
    return [float(lo), float(hi)]


def _verdict(first_to_last: dict[str, Any], next_gain: float) -> str:
    diff, significant = first_to_last["diff"], first_to_last["significant"]
    if significant and diff > 0:
        return "rising" if next_gain >= FLAT_GAIN else "saturating"
    if significant:
        return "falling"
    return "unclear" if diff >= UNCLEAR_GAIN else "flat"


def _aim(a: float, b: float, r: float, k_last: float, n_last: int) -> tuple[int, bool]:
    """Training examples to aim at: the first doubling after which the next would add less
    than FLAT_GAIN or the score would be at the ceiling; (size, still rising at the cap)."""
    for j in range(1, MAX_AIM_DOUBLINGS + 1):
        k = k_last + j
        after = float(_value(a, b, r, k + 1) - _value(a, b, r, k))
        if after < FLAT_GAIN or float(_value(a, b, r, k)) >= CEILING:
            return n_last * 2**j, False
    return n_last * 2**MAX_AIM_DOUBLINGS, True


def analyse_curve(
    sizes: Sequence[int],
    scores: Sequence[Sequence[float]],
    *,
    binary: bool = False,
    baseline: Sequence[float] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Points with CIs, the fitted curve, what doubling would give, and a verdict.

    ``scores[i]`` holds the per-item scores (one metric, same test items in the same order)
    of the arm trained on ``sizes[i]`` examples. ``baseline``, the best prompting arm's
    per-item scores on the same items, adds a paired comparison to every point.
    """
    if len(sizes) != len(scores) or len(sizes) < 3:
        raise ValueError(f"need at least three (size, scores) points (got {len(sizes)})")
    order = np.argsort(sizes, kind="stable")
    ns = [int(sizes[i]) for i in order]
    mat = np.array([np.asarray(scores[i], dtype=np.float64) for i in order])  # points x items
    if len(set(ns)) != len(ns) or ns[0] <= 0:
        raise ValueError(f"sizes must be distinct and positive (got {ns})")
    n_items = mat.shape[1]
    if n_items == 0:
        raise AdvisorError("the data curve has no test items to score: the test split is empty")
    ks = np.log2(np.array(ns, dtype=np.float64) / ns[0])
    means = mat.mean(axis=1)
    eps = 0.5 / n_items
    a, b, r = (float(v[0]) for v in fit_curve(ks, _logit(means, eps)[None, :]))
    k_last, k_next = float(ks[-1]), float(ks[-1]) + 1.0
    predicted = float(_value(a, b, r, k_next))
    next_gain = predicted - float(_value(a, b, r, k_last))

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_items, size=(n_resamples, n_items))
    boot = mat[:, idx].mean(axis=2).T  # resamples x points, the same items for every point
    ba, bb, br = fit_curve(ks, _logit(boot, eps))
    boot_pred = _value(ba, bb, br, k_next)
    boot_gain = boot_pred - _value(ba, bb, br, k_last)

    points = []
    for n, row in zip(ns, mat, strict=True):
        lo, hi = bootstrap_ci(row, n_resamples=n_resamples, seed=seed)
        point: dict[str, Any] = {"n_train": n, "mean": float(row.mean()), "ci95": [lo, hi]}
        if baseline is not None:
            res = paired_comparison(row, baseline, binary=binary, seed=seed)
            point["vs_baseline"] = {
                "diff": res.diff,
                "ci95": list(res.ci95),
                "p_value": res.p_value,
                "significant": res.significant,
            }
        points.append(point)
    res = paired_comparison(mat[-1], mat[0], binary=binary, seed=seed)
    first_to_last = {
        "from": ns[0],
        "to": ns[-1],
        "diff": res.diff,
        "ci95": list(res.ci95),
        "p_value": res.p_value,
        "test": res.test,
        "significant": res.significant,
    }
    verdict = _verdict(first_to_last, next_gain)
    aim, capped = _aim(a, b, r, k_last, ns[-1]) if verdict == "rising" else (None, False)
    return {
        "points": points,
        "n_test": n_items,
        "fit": {
            "model": "logit(y) = a + b * (1 - r^k) / (1 - r), k = log2(n / n_smallest)",
            "scale": "logit",
            "a": a,
            "b": b,
            "r": r,
            "meaning": f"in log-odds, each doubling adds {r:.0%} of what the one before added",
        },
        "first_to_last": first_to_last,
        "doubling": {
            "n_train": 2 * ns[-1],
            "predicted": predicted,
            "predicted_ci95": _interval(boot_pred),
            "gain": next_gain,
            "gain_ci95": _interval(boot_gain),
        },
        "verdict": verdict,
        "aim_examples": aim,
        "aim_capped": capped,
        "n_resamples": n_resamples,
    }


VERDICT_TEXT = {
    "rising": "more data should still pay",
    "saturating": "the curve rose but levels off: more data adds little",
    "flat": "no measurable gain from more of this data",
    "unclear": "the curve may rise, but the test set cannot tell it from noise",
    "falling": "more of this data made the arm worse: check the data's quality",
}


def _f(x: float) -> str:
    return f"{x:.2f}"


def _signed(x: float) -> str:
    return f"{x:+.2f}"


def _ci(ci: Sequence[float]) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def describe_curve(curve: dict[str, Any], metric: str, arm: str) -> list[str]:
    """The curve in sentences (CLI, report, app): points, range gain, extrapolation, verdict."""
    pts = curve["points"]
    sizes = ", ".join(str(p["n_train"]) for p in pts)
    values = ", ".join(f"{_f(p['mean'])} {_ci(p['ci95'])}" for p in pts)
    ftl, dbl = curve["first_to_last"], curve["doubling"]
    factor = ftl["to"] / ftl["from"]
    out = [
        f"{arm} trained on {sizes} examples scored {metric} {values} on the same "
        f"{curve['n_test']} test items.",
        f"{factor:.1f}x the data changed it by {_signed(ftl['diff'])} {_ci(ftl['ci95'])} "
        f"(paired, p={ftl['p_value']:.2g}"
        + (", significant)." if ftl["significant"] else ", not significant)."),
        f"The fitted curve ({curve['fit']['meaning']}) says doubling to {dbl['n_train']} "
        f"examples would likely give {_f(dbl['predicted'])} {_ci(dbl['predicted_ci95'])}, "
        f"{_signed(dbl['gain'])} {_ci(dbl['gain_ci95'])} over the fitted value now (an "
        "extrapolation: the interval covers the test items drawn, not the curve's form).",
        f"Verdict: {curve['verdict']}: {VERDICT_TEXT[curve['verdict']]}"
        + (
            f"; aim at about {curve['aim_examples']} training examples"
            + (" (still rising there: measure again on the way)" if curve["aim_capped"] else "")
            if curve.get("aim_examples")
            else ""
        )
        + ".",
    ]
    return out
