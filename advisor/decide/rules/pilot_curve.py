"""The data-curve rule: should the team collect more data for finetuning, and how much?

Why a rule of its own: the chapter's "how much data" (framework §6) is a separate question
from "does finetuning beat prompting". Training on nested subsets answers it: a rising
curve argues for collecting more data (with the number of examples to aim at), a flat one
against, and 50-100 good examples are enough to see whether finetuning helps at all: no
gain there rarely turns into a gain with more data unless the data was bad. Registered
after the pilot rules; a smoke run counts zero, as there.
"""

from __future__ import annotations

from collections.abc import Iterator

from advisor.decide.citations import cite
from advisor.decide.curve_evidence import RULE_EXAMPLES, CurveEvidence
from advisor.decide.evidence import Evidence
from advisor.decide.questionnaire import Answers
from advisor.decide.rules.base import RF, F, Reason, rule
from advisor.models.loading import SMOKE_NOTE

__all__ = ["curve_next_step", "pilot_data_curve"]

RISING = {F: 0.5, RF: 0.25}  # more data should pay: finetuning has room to grow
HOPELESS = {F: -1.0, RF: -0.5}  # flat, and no gain over prompting at 50+ examples
FALLING = {F: -0.5, RF: -0.25}  # more data made it worse: the data needs fixing first


def _effects(targets: dict[str, float], ev: Evidence) -> dict[str, float]:
    return {k: round(v * ev.weight, 3) for k, v in targets.items() if v * ev.weight != 0}


def _range(c: CurveEvidence) -> str:
    lo, hi = c.diff_ci95
    factor = c.sizes[-1] / c.sizes[0]
    return (
        f"{factor:.0f}x the training data ({c.sizes[0]} to {c.sizes[-1]} examples) changed "
        f"{c.metric} by {c.diff:+.2f} [{lo:.2f}, {hi:.2f}]"
    )


def _doubling(c: CurveEvidence) -> str:
    lo, hi = c.predicted_ci95
    glo, ghi = c.gain_ci95
    return (
        f"doubling to {c.doubled_to} examples would likely give {c.predicted:.2f} "
        f"[{lo:.2f}, {hi:.2f}] ({c.gain:+.2f} [{glo:+.2f}, {ghi:+.2f}])"
    )


def _reason(ev: Evidence, c: CurveEvidence) -> Reason:
    note = f" ({SMOKE_NOTE}: zero weight)" if ev.smoke else ""
    source = f"{c.cite()}; {cite('data_amount')}"
    head = f"The data curve of {c.arm}{note}: {_range(c)}; {_doubling(c)}"
    enough = [n for n in c.sizes if n >= RULE_EXAMPLES]
    helps = [n for n in c.beats_baseline_at if n >= RULE_EXAMPLES] or list(c.beats_baseline_at)
    if c.verdict == "rising":
        versus = ""
        if c.baseline:
            versus = (
                f" It beat {c.baseline} from {min(c.beats_baseline_at)} examples on."
                if c.beats_baseline_at
                else f" It has not beaten {c.baseline} yet."
            )
        return Reason(
            f"{head}. The curve still rises, so collecting more data for finetuning should "
            f"pay: aim at about {c.aim_examples} training examples.{versus}",
            source,
            _effects(RISING, ev),
        )
    if c.verdict == "falling":
        return Reason(
            f"{head}. More of this data made {c.arm} worse: check the data's quality "
            "(inconsistent or wrong outputs) before collecting more of it.",
            source,
            _effects(FALLING, ev),
        )
    if c.verdict == "unclear":
        return Reason(
            f"{head}. The curve may rise, but this test set cannot tell it from noise: "
            "score more test items before deciding to collect more data.",
            source,
        )
    level = "is flat" if c.verdict == "flat" else "levels off"
    if helps:
        return Reason(
            f"{head}. The curve {level}: more of the same data adds little. Finetuning "
            f"already beat {c.baseline or 'prompting'} at {helps[0]} examples, so train on the "
            "data you have rather than collecting more.",
            source,
        )
    if enough and c.baseline:
        return Reason(
            f"{head}. The curve {level}, and at {enough[0]}-{c.sizes[-1]} examples "
            f"finetuning did not beat {c.baseline}: 50-100 good examples are enough to see "
            "whether finetuning helps at all, and no gain there rarely turns into a gain "
            "with more data unless the data was bad. Collecting more data for finetuning is "
            "unlikely to pay.",
            source,
            _effects(HOPELESS, ev),
        )
    return Reason(
        f"{head}. The curve {level}: more of the same data is unlikely to help finetuning.",
        source,
    )


@rule("pilot_data_curve")
def pilot_data_curve(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """What the data curve says about collecting more data for finetuning."""
    if ev is None:
        return
    for arm in sorted(ev.curves):
        yield _reason(ev, ev.curves[arm])


def curve_next_step(ev: Evidence | None) -> str | None:
    """The next step when a (real) data curve still rises: collect data up to its target."""
    if ev is None or ev.smoke:
        return None
    rising = [c for c in ev.curves.values() if c.verdict == "rising" and c.aim_examples]
    if not rising:
        return None
    c = max(rising, key=lambda c: c.gain)
    lo, hi = c.predicted_ci95
    return (
        f"Collect more (input, output) examples, up to about {c.aim_examples} for training: "
        f"the pilot's data curve still rises, and doubling to {c.doubled_to} is predicted "
        f"to reach {c.metric} {c.predicted:.2f} [{lo:.2f}, {hi:.2f}]. Then re-run "
        "`advisor pilot --data-curve` to check."
    )
