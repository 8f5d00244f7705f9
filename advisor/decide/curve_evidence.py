"""The data curve as the decision reads it: ``results.json``'s ``data_curve`` block, checked.

Why apart from :mod:`advisor.decide.evidence`: the curve is an opt-in block with its own
shape (points, a fit, a verdict); reading it here keeps that module about arms and
comparisons. A malformed block fails with a message naming the field, through the same
field checks as the rest of results.json (:class:`advisor.fields.FieldReader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.fields import FieldReader

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


def _curve(arm: str, block: Mapping[str, Any], metric: str, base: Any, r: FieldReader):
    where = f"data_curve.arms.{arm}"
    points = block.get("points")
    if not isinstance(points, list) or len(points) < 3:
        raise r.fail(f"{where}.points", "must list at least three points")
    sizes, means, beats = [], [], []
    for i, p in enumerate(points):
        at = f"{where}.points[{i}]"
        p = r.mapping(p, at)
        n = r.count(p.get("n_train"), f"{at}.n_train")
        if n is None:
            raise r.fail(f"{at}.n_train", "must be a whole number >= 0 (got None)")
        sizes.append(n)
        means.append(r.number(p.get("mean"), f"{at}.mean"))
        vs = p.get("vs_baseline")
        if (
            isinstance(vs, Mapping)
            and vs.get("significant") is True
            and r.number(vs.get("diff"), f"{at}.vs_baseline.diff") > 0
        ):
            beats.append(n)
    verdict = block.get("verdict")
    if verdict not in VERDICTS:
        raise r.fail(f"{where}.verdict", f"must be one of {', '.join(VERDICTS)}")
    ftl = r.mapping(block.get("first_to_last"), f"{where}.first_to_last")
    dbl = r.mapping(block.get("doubling"), f"{where}.doubling")
    doubled_to = r.count(dbl.get("n_train"), f"{where}.doubling.n_train")
    if doubled_to is None:
        raise r.fail(f"{where}.doubling.n_train", "must be a whole number >= 0 (got None)")
    return CurveEvidence(
        arm=arm,
        metric=metric,
        sizes=tuple(sizes),
        means=tuple(means),
        verdict=verdict,
        diff=r.number(ftl.get("diff"), f"{where}.first_to_last.diff"),
        diff_ci95=r.interval(ftl.get("ci95"), f"{where}.first_to_last.ci95"),
        p_value=r.number(ftl.get("p_value"), f"{where}.first_to_last.p_value"),
        doubled_to=doubled_to,
        predicted=r.number(dbl.get("predicted"), f"{where}.doubling.predicted"),
        predicted_ci95=r.interval(dbl.get("predicted_ci95"), f"{where}.doubling.predicted_ci95"),
        gain=r.number(dbl.get("gain"), f"{where}.doubling.gain"),
        gain_ci95=r.interval(dbl.get("gain_ci95"), f"{where}.doubling.gain_ci95"),
        aim_examples=r.count(block.get("aim_examples"), f"{where}.aim_examples"),
        baseline=str(base["arm"]) if isinstance(base, Mapping) and base.get("arm") else None,
        beats_baseline_at=tuple(beats),
    )


def curves_from_results(results: Mapping[str, Any], origin: str) -> dict[str, CurveEvidence]:
    """Finished curves by arm; an arm whose points are still missing is left out."""
    block = results.get("data_curve")
    if block is None:
        return {}
    r = FieldReader(origin)
    block = r.mapping(block, "data_curve")
    metric = str(block.get("metric") or "")
    out = {}
    for arm, curve in r.optional_mapping(block.get("arms"), "data_curve.arms").items():
        curve = r.mapping(curve, f"data_curve.arms.{arm}")
        if curve.get("status") in ("ok", "partial"):
            out[str(arm)] = _curve(str(arm), curve, metric, block.get("baseline"), r)
    return out
