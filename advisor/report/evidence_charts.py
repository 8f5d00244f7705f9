"""Charts of the data curve and the seed spread, registered with the report's charts.

Why apart from :mod:`advisor.report.charts`: they draw opt-in blocks with their own shape;
registering them in ``charts.DRAW`` (by id, like the others) lets the HTML and PDF
renderers draw them with no change. They read only numbers in the report data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from advisor.report.charts import ARM_KIND, COLORS, DRAW, HEIGHT_IN, MARKERS, WIDTH_IN

__all__ = ["draw_data_curve", "draw_seed_spread"]


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN))
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig, ax


def _color(arm: str) -> str:
    return COLORS[ARM_KIND.get(arm, "reference")]


def _fitted(fit: dict[str, Any], n0: int, ns: np.ndarray) -> np.ndarray:
    """The fitted curve a + b (1 - r^k) / (1 - r), k = log2(n / n0), on the scale it was
    fitted on (log-odds: back through the logistic function)."""
    k = np.log2(ns / n0)
    a, b, r = fit["a"], fit["b"], fit["r"]
    z = a + b * (k if r >= 1.0 else (1.0 - np.power(r, k)) / (1.0 - r))
    return 1.0 / (1.0 + np.exp(-z)) if fit.get("scale") == "logit" else np.clip(z, 0.0, 1.0)


def draw_data_curve(pilot: dict[str, Any]):
    curve = pilot.get("data_curve") or {}
    arms = [a for a in curve.get("arms") or [] if a.get("points")]
    if not arms:
        return None
    fig, ax = _figure()
    ax.grid(axis="x", alpha=0.3)
    base = curve.get("baseline")
    if base and base.get("ci95"):
        ax.axhspan(*base["ci95"], color="#9D9D9D", alpha=0.2, lw=0)
        ax.axhline(base["mean"], color="#6D6D6D", lw=1, label=base["label"])
    for i, arm in enumerate(arms):
        color, marker = _color(arm["arm"]), MARKERS[i % len(MARKERS)]
        ns = [p["n_train"] for p in arm["points"]]
        means = [p["mean"] for p in arm["points"]]
        err = [
            [max(m - p["ci95"][0], 0.0) for m, p in zip(means, arm["points"], strict=True)],
            [max(p["ci95"][1] - m, 0.0) for m, p in zip(means, arm["points"], strict=True)],
        ]
        ax.errorbar(ns, means, yerr=err, fmt=marker, color=color, capsize=4, label=arm["label"])
        d = arm["doubling"]
        grid = np.geomspace(ns[0], d["n_train"], 60)
        ax.plot(grid, _fitted(arm["fit"], ns[0], grid), "--", color=color, lw=1.2)
        lo, hi = d["predicted_ci95"]
        ax.errorbar(
            [d["n_train"]],
            [d["predicted"]],
            yerr=[[max(d["predicted"] - lo, 0.0)], [max(hi - d["predicted"], 0.0)]],
            fmt=marker,
            mfc="white",
            color=color,
            capsize=4,
        )
    sizes = {p["n_train"] for a in arms for p in a["points"]}
    sizes = sorted(sizes | {a["doubling"]["n_train"] for a in arms})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training examples (log scale; the last is the doubling predicted)")
    ax.set_ylabel(curve.get("metric_label") or "score")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def draw_seed_spread(pilot: dict[str, Any]):
    spread = pilot.get("seed_spread") or {}
    arms = [a for a in spread.get("arms") or [] if a.get("measured")]
    if not arms:
        return None
    fig, ax = _figure()
    for x, arm in enumerate(arms):
        color = _color(arm["arm"])
        means = [r["mean"] for r in arm["runs"] if r["mean"] is not None]
        ax.scatter(
            [x - 0.08] * len(means),
            means,
            color=color,
            s=36,
            zorder=3,
            label="each seed's run" if x == 0 else None,
        )
        if arm["ci95"] and arm["runs"] and arm["runs"][0]["mean"] is not None:
            first = arm["runs"][0]["mean"]
            lo, hi = arm["ci95"]
            ax.errorbar(
                [x + 0.08],
                [first],
                yerr=[[max(first - lo, 0.0)], [max(hi - first, 0.0)]],
                fmt="s",
                mfc="white",
                color=color,
                capsize=4,
                label="first run, CI over test items" if x == 0 else None,
            )
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_xticks(range(len(arms)), [a["label"] for a in arms], fontsize=8)
    ax.set_xlim(-0.6, len(arms) - 0.4)
    ax.set_ylabel(spread.get("metric_label") or "score")
    ax.set_ylim(-0.03, 1.03)
    fig.tight_layout()
    return fig


DRAW["data_curve"] = draw_data_curve  # drawn when the report has the block, else skipped
DRAW["seed_spread"] = draw_seed_spread
