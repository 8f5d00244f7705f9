"""The data curve as the decision reads it: ``results.json``'s ``data_curve`` block, checked.

Why apart from :mod:`advisor.decide.evidence`: the curve is an opt-in block with its own
shape (points, a fit, a verdict); reading it here keeps that module about arms and
comparisons. A malformed block fails with a message naming the field, like the rest of
the evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.errors import AdvisorError

__all__ = ["RULE_EXAMPLES", "VERDICTS", "CurveEvidence", "curves_from_results"]

VERDICTS = ("rising", "saturating", "flat", "unclear", "falling")
RULE_EXAMPLES = 50  # the chapter: 50-100 good examples show whether finetuning helps at all


@dataclass(frozen=True)
class CurveEvidence:
    arm: str
    metric: str
    sizes: tuple[int, ...]  # training examples per point, ascending
    means: tuple[float, ...]
    verdict: str  # one of VERDICTS
    diff: float  # last point minus first (paired)
    diff_ci95: tuple[float, float]
    p_value: float
    doubled_to: int  # training examples after doubling the largest point
    predicted: float  # the fitted curve there
    predicted_ci95: tuple[float, float]
    gain: float  # predicted gain of that doubling
    gain_ci95: tuple[float, float]
    aim_examples: int | None  # where more data stops paying (rising curves only)
    baseline: str | None  # the best prompting arm the points were compared with
    beats_baseline_at: tuple[int, ...]  # sizes where the arm beat it significantly

    def cite(self) -> str:
        """'pilot: data curve lora, field_accuracy 0.61/0.74/0.83 at 42/84/168 examples;
        doubling to 336: 0.86 [0.81, 0.91], +0.03 [-0.01, 0.08]'."""
        lo, hi = self.predicted_ci95
        glo, ghi = self.gain_ci95
        return (
            f"pilot: data curve {self.arm}, {self.metric} "
            f"{'/'.join(f'{m:.2f}' for m in self.means)} at "
            f"{'/'.join(map(str, self.sizes))} examples; doubling to {self.doubled_to}: "
            f"{self.predicted:.2f} [{lo:.2f}, {hi:.2f}], {self.gain:+.2f} [{glo:.2f}, {ghi:.2f}]"
        )


def _fail(origin: str, where: str, problem: str) -> AdvisorError:
    return AdvisorError(f"{origin}: {where} {problem}; re-run `advisor pilot` to rewrite it")


def _num(value: Any, origin: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(origin, where, f"must be a finite number (got {str(value)[:40]!r})")
    return float(value)


def _pair(value: Any, origin: str, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _fail(origin, where, f"must be [lo, hi] (got {str(value)[:40]!r})")
    return _num(value[0], origin, where), _num(value[1], origin, where)


def _map(value: Any, origin: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(origin, where, f"must be an object (got {type(value).__name__})")
    return value


def _curve(arm: str, block: Mapping[str, Any], metric: str, base: Any, origin: str):
    where = f"data_curve.arms.{arm}"
    points = block.get("points")
    if not isinstance(points, list) or len(points) < 3:
        raise _fail(origin, f"{where}.points", "must list at least three points")
    sizes, means, beats = [], [], []
    for i, p in enumerate(points):
        p = _map(p, origin, f"{where}.points[{i}]")
        n = int(_num(p.get("n_train"), origin, f"{where}.points[{i}].n_train"))
        sizes.append(n)
        means.append(_num(p.get("mean"), origin, f"{where}.points[{i}].mean"))
        vs = p.get("vs_baseline")
        if (
            isinstance(vs, Mapping)
            and vs.get("significant") is True
            and _num(vs.get("diff"), origin, f"{where}.points[{i}].vs_baseline.diff") > 0
        ):
            beats.append(n)
    verdict = block.get("verdict")
    if verdict not in VERDICTS:
        raise _fail(origin, f"{where}.verdict", f"must be one of {', '.join(VERDICTS)}")
    ftl = _map(block.get("first_to_last"), origin, f"{where}.first_to_last")
    dbl = _map(block.get("doubling"), origin, f"{where}.doubling")
    aim = block.get("aim_examples")
    return CurveEvidence(
        arm=arm,
        metric=metric,
        sizes=tuple(sizes),
        means=tuple(means),
        verdict=verdict,
        diff=_num(ftl.get("diff"), origin, f"{where}.first_to_last.diff"),
        diff_ci95=_pair(ftl.get("ci95"), origin, f"{where}.first_to_last.ci95"),
        p_value=_num(ftl.get("p_value"), origin, f"{where}.first_to_last.p_value"),
        doubled_to=int(_num(dbl.get("n_train"), origin, f"{where}.doubling.n_train")),
        predicted=_num(dbl.get("predicted"), origin, f"{where}.doubling.predicted"),
        predicted_ci95=_pair(dbl.get("predicted_ci95"), origin, f"{where}.doubling.predicted_ci95"),
        gain=_num(dbl.get("gain"), origin, f"{where}.doubling.gain"),
        gain_ci95=_pair(dbl.get("gain_ci95"), origin, f"{where}.doubling.gain_ci95"),
        aim_examples=None if aim is None else int(_num(aim, origin, f"{where}.aim_examples")),
        baseline=str(base["arm"]) if isinstance(base, Mapping) and base.get("arm") else None,
        beats_baseline_at=tuple(beats),
    )


def curves_from_results(results: Mapping[str, Any], origin: str) -> dict[str, CurveEvidence]:
    """Finished curves by arm; an arm whose points are still missing is left out."""
    block = results.get("data_curve")
    if block is None:
        return {}
    block = _map(block, origin, "data_curve")
    metric = str(block.get("metric") or "")
    out = {}
    for arm, curve in _map(block.get("arms") or {}, origin, "data_curve.arms").items():
        curve = _map(curve, origin, f"data_curve.arms.{arm}")
        if curve.get("status") in ("ok", "partial"):
            out[str(arm)] = _curve(str(arm), curve, metric, block.get("baseline"), origin)
    return out
