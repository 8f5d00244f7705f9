"""Pilot charts drawn from the report data: SVG for HTML, PNG for PDF.

Why matplotlib's object API (``Figure``) and not pyplot: no global figure state, no GUI
backend, safe to call from the app's threads. Text in SVGs is drawn as paths, so the files
need no fonts and carry no text a browser could interpret. Charts only read numbers that are
already in the report data, so report.json holds every plotted value.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from advisor.catalog import CATALOG
from advisor.report.formatting import METRIC_LABELS, label

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
WIDTH_IN, HEIGHT_IN = 7.0, 3.4  # fits an A4 page's text width at a readable size
PNG_DPI = 150
COLORS = {
    "prompting": "#4C78A8",
    "rag": "#F58518",
    "finetune": "#54A24B",
    "rag+finetune": "#B279A2",
    "reference": "#9D9D9D",
}
ARM_KIND = {name: info.kind for name, info in CATALOG.items()}


@dataclass(frozen=True)
class Chart:
    id: str  # one of DRAW's keys: generated here, never from user input
    mime: str  # image/svg+xml or image/png
    payload: bytes


def _color(arm: str) -> str:
    return COLORS[ARM_KIND.get(arm, "reference")]


def _usable(pilot: dict) -> list[dict]:
    return [a for a in pilot["arms"] if a.get("usable", True)]


def _new_figure(height: float = HEIGHT_IN):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height))
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig, ax


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quality_bars(pilot: dict):
    metric = pilot["quality_metric"]
    arms = [a for a in _usable(pilot) if metric in a["metrics"]]
    if not arms:
        return None
    fig, ax = _new_figure()
    means = [a["metrics"][metric]["mean"] for a in arms]
    lower, upper = [], []
    for a, m in zip(arms, means, strict=True):
        ci = a["metrics"][metric]["ci95"] or [m, m]
        lower.append(max(m - ci[0], 0.0))
        upper.append(max(ci[1] - m, 0.0))
    x = range(len(arms))
    ax.bar(
        x,
        means,
        color=[_color(a["arm"]) for a in arms],
        yerr=[lower, upper],
        capsize=4,
        ecolor="#333333",
    )
    ax.set_xticks(list(x), [_short(a["label"]) for a in arms], rotation=25, ha="right", fontsize=8)
    ax.set_ylabel(label(metric, METRIC_LABELS))
    ax.set_ylim(0, max(1.0, max(u + m for u, m in zip(upper, means, strict=True)) * 1.05))
    fig.tight_layout()
    return fig


def _quality_latency(pilot: dict):
    metric = pilot["quality_metric"]
    arms = [a for a in _usable(pilot) if metric in a["metrics"] and "p50" in a["latency_ms"]]
    if not arms:
        return None
    fig, ax = _new_figure()
    ax.grid(axis="x", alpha=0.3)
    # A legend, not labels next to the points: arms often sit on top of each other.
    for i, a in enumerate(arms):
        x, y = a["latency_ms"]["p50"], a["metrics"][metric]["mean"]
        ax.scatter(
            [x],
            [y],
            s=55,
            color=_color(a["arm"]),
            marker=MARKERS[i % len(MARKERS)],
            edgecolors="white",
            linewidths=0.6,
            zorder=3,
            label=_short(a["label"]),
        )
    ax.set_xlabel("median latency per query (ms)")
    ax.set_ylabel(label(metric, METRIC_LABELS))
    top = max(a["metrics"][metric]["mean"] for a in arms)
    ax.set_ylim(-0.03, max(1.0, top * 1.05))  # metrics live in [0, 1]: keep the scale honest
    ax.set_xlim(left=0, right=max(a["latency_ms"]["p50"] for a in arms) * 1.1 or 1.0)
    ax.legend(fontsize=7.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
    fig.tight_layout()
    return fig


def _memory_bars(pilot: dict):
    added = all(a.get("memory_added_mb") is not None for a in _usable(pilot))
    key = "memory_added_mb" if added else "peak_memory_mb"
    arms = [a for a in _usable(pilot) if a.get(key) is not None]
    if not arms:
        return None
    fig, ax = _new_figure()
    x = range(len(arms))
    ax.bar(x, [a[key] for a in arms], color=[_color(a["arm"]) for a in arms])
    ax.set_xticks(list(x), [_short(a["label"]) for a in arms], rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("memory added by the arm (MB)" if added else "process peak memory (MB)")
    fig.tight_layout()
    return fig


def _loss_curves(pilot: dict):
    runs = [t for t in pilot["training"] if t["train_loss"] or t["val_loss"]]
    if not runs:
        return None
    fig, ax = _new_figure()
    ax.grid(axis="x", alpha=0.3)
    for run in runs:
        color = _color(run["arm"])
        if run["train_loss"]:
            xs, ys = zip(*run["train_loss"], strict=True)
            ax.plot(xs, ys, color=color, label=f"{_short(run['label'])}: train")
        if run["val_loss"]:
            xs, ys = zip(*run["val_loss"], strict=True)
            ax.plot(
                xs,
                ys,
                color=color,
                linestyle="--",
                marker="o",
                markersize=4,
                label=f"{_short(run['label'])}: validation",
            )
    ax.set_xlabel(
        "training progress (epochs; validation at 0 = before training)"
        if any(p[0] == 0 for r in runs for p in r["val_loss"])
        else "training progress"
    )
    ax.set_ylabel("loss")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


DRAW = {
    "quality": _quality_bars,
    "quality_latency": _quality_latency,
    "memory": _memory_bars,
    "loss": _loss_curves,
}


def render_charts(data: dict, image_format: str = "svg") -> dict[str, Chart]:
    """The pilot's charts by id (the ids ``pilot_sections.chart_ids`` lists); {} without a pilot."""
    if image_format not in ("svg", "png"):
        raise ValueError(f"image_format must be 'svg' or 'png' (not {image_format!r})")
    pilot = data.get("pilot")
    if not pilot:
        return {}
    import matplotlib

    charts: dict[str, Chart] = {}
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    rc = {
        "svg.fonttype": "path",
        "svg.hashsalt": "advisor-report",
        "font.size": 9,
        "font.family": "DejaVu Sans",
    }
    with matplotlib.rc_context(rc):
        for chart_id, draw in DRAW.items():
            fig = draw(pilot)
            if fig is None:
                continue
            buf = io.BytesIO()
            if image_format == "svg":
                fig.savefig(
                    buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None}
                )
            else:
                fig.savefig(
                    buf, format="png", dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None}
                )
            payload = buf.getvalue()
            if image_format == "svg":
                # matplotlib repeats every label as an XML comment; drop them so no user text
                # (arm names from results.json) rides along in the image, even inertly.
                payload = _COMMENT.sub(b"", payload)
            charts[chart_id] = Chart(chart_id, mime, payload)
    return charts
