"""A pilot that fits a time budget: what it cuts, what that costs, said before it starts.

Why plan instead of stopping at the deadline: a pilot cut off mid-arm has no evidence for
that arm, and one that silently shrank its test set has wide intervals nobody expected.
With ``--budget`` the pilot measures this machine first (:mod:`.calibrate`), then cuts, in
this order, until the plan fits:
1. LoRA epochs down to 2 (early stopping often ends there anyway);
2. the test set down to ``COMFORT_TEST`` items (every arm answers fewer);
3. LoRA epochs down to 1;
4. the test set down to ``MIN_TEST`` items;
5. whole arms, the costliest evidence first (``DROP_ORDER``): zero-shot, the baseline every
   comparison needs, and the nearest-neighbour reference, which costs nothing, stay.
The cuts move in whole steps, so what they leave unused is then given back, last cut
first: test items, then LoRA epochs, each as far as the budget allows. Each cut is named,
with the minimum detectable effect at the planned test size, so the
reader knows what the smaller pilot can and cannot show. When even zero-shot on
``MIN_TEST`` items does not fit, the plan says so and lists the arms that would fit alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from advisor.pilot.calibrate import ArmWork, Rates
    from advisor.pilot.context import PilotSettings

MIN_TEST = 30  # fewer test items make every interval too wide to separate arms
COMFORT_TEST = 60  # the first test-set cap: intervals still ~+-0.12 on a binary metric
DROP_ORDER = ("lora_rag", "faiss_rag", "few_shot", "lora", "bm25_rag")
SETUP_S = 5.0  # after planning: the final results, retrieval metrics and files
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_budget(text: str | float | None) -> float | None:
    """Seconds from ``300``, ``300s``, ``5m``, ``1.5h``; None for no budget."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.fullmatch(str(text).strip().lower())
        if not match:
            raise AdvisorError(f"--budget takes a duration such as 300s, 5m or 1h (not {text!r})")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise AdvisorError(f"--budget must be a positive duration (not {text!r})")
    return seconds


@dataclass
class BudgetPlan:
    budget_s: float
    planned_s: float
    arms: list[str]
    max_test: int
    epochs: int
    fits: bool
    cuts: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    mde: float | None = None  # smallest difference the planned test set detects (binary)
    spent_s: float = 0.0  # loading and measuring, before the arms
    fits_alone: list[str] = field(default_factory=list)  # when nothing fits: arms that would

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def describe(self) -> str:
        span = _span(self.budget_s)
        if not self.fits:
            alone = ", ".join(self.fits_alone) or "none"
            return (
                f"A budget of {span} cannot hold the smallest useful pilot (zero_shot on "
                f"{self.max_test} test items: ~{_span(self.planned_s)} here, with the "
                f"{_span(self.spent_s)} spent loading and measuring). Arms that fit alone: "
                f"{alone}. Raise --budget or choose --arms."
            )
        if not self.cuts:
            return f"Budget {span}: the whole pilot fits (~{_span(self.planned_s)})."
        mde = f"; differences under ~{self.mde:.2f} will not be detectable" if self.mde else ""
        return (
            f"Budget {span}: planned ~{_span(self.planned_s)} after cutting "
            f"{'; '.join(self.cuts)}{mde}."
        )


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def per_arm_seconds(
    work: dict[str, ArmWork], rates: Rates, arms: list[str], n_test: int, epochs: int, now: int,
    batch_size: int,
) -> dict[str, float]:  # fmt: skip
    """Each arm's seconds at ``n_test`` items and ``epochs`` (``work`` was counted at ``now``)."""
    from advisor.pilot.calibrate import ARM_OVERHEAD_S, arm_seconds

    out = {}
    for arm in arms:
        w = work.get(arm)
        if w is None:
            out[arm] = ARM_OVERHEAD_S
            continue
        if w.train_tokens:
            w = replace(
                w,
                train_tokens=w.train_tokens * epochs / now,
                validation_tokens=w.validation_tokens * (epochs + 1) / (now + 1),
            )
        out[arm] = round(arm_seconds(w, rates, n_test, batch_size), 1)
    return out


def _total(*args: Any) -> float:
    return SETUP_S + sum(per_arm_seconds(*args).values())


def plan_budget(
    budget_s: float,
    work: dict[str, ArmWork],
    rates: Rates,
    arms: list[str],
    n_test: int,
    epochs: int,
    batch_size: int,
    spent_s: float = 0.0,
) -> BudgetPlan:
    """The largest pilot (by the cut order above) whose measured estimate fits the budget.

    ``spent_s`` is what the pilot already used (loading, measuring): the arms get the rest.
    """
    left = budget_s - spent_s
    from advisor.evaluation.stats import minimum_detectable_effect

    arms, cuts, dropped = list(arms), [], []
    ep, n = epochs, n_test

    def cost() -> float:
        return _total(work, rates, arms, n, ep, epochs, batch_size)

    smallest = min(n_test, MIN_TEST)

    trains = any(work.get(a) is not None and work[a].train_tokens for a in arms)
    steps: list[tuple[str, Any]] = [
        ("epochs", 2),
        ("test", COMFORT_TEST),
        ("epochs", 1),
        ("test", MIN_TEST),
    ]
    for kind, value in steps:
        if cost() <= left:
            break
        if kind == "epochs" and trains and ep > value:
            cuts.append(f"LoRA epochs {ep} to {value}")
            ep = value
        elif kind == "test" and n > value:
            cuts.append(f"test items {n} to {value}")
            n = value
    for arm in DROP_ORDER:
        if cost() <= left:
            break
        if arm in arms:
            arms.remove(arm)
            dropped.append(arm)
    if not any(work.get(a) is not None and work[a].train_tokens for a in arms):
        ep = epochs  # no LoRA arm is left: nothing to cut there
    if cost() <= left:
        n, ep = _give_back(
            lambda n_, ep_: _total(work, rates, arms, n_, ep_, epochs, batch_size) <= left,
            n,
            ep,
            n_test,
            epochs,
        )
    cuts = ([f"LoRA epochs {epochs} to {ep}"] if ep < epochs else []) + (
        [f"test items {n_test} to {n}"] if n < n_test else []
    )
    if dropped:
        cuts.append(f"arms {', '.join(dropped)} (not run)")
    planned = cost()
    fits = planned <= left
    alone: list[str] = []
    if not fits:
        alone = [
            a
            for a in list(work) + [a for a in arms if a not in work]
            if _total(work, rates, [a], smallest, 1, epochs, batch_size) <= left
        ]
    return BudgetPlan(
        budget_s=budget_s,
        planned_s=round(planned + spent_s, 1),
        arms=arms,
        max_test=n,
        epochs=ep,
        fits=fits,
        cuts=cuts,
        dropped=dropped,
        mde=round(minimum_detectable_effect(n), 3) if n > 0 else None,
        fits_alone=alone,
        spent_s=round(spent_s, 1),
    )


def _give_back(fits: Any, n: int, ep: int, n_test: int, epochs: int) -> tuple[int, int]:
    """Undo cuts, last cut first, while the plan still fits.

    Why: each cut works in whole steps (test items straight to 60 or 30, a whole arm), so
    the plan that first fits can leave much of the budget unused (a 3-minute facts pilot
    planned 123 s once lora_rag was dropped). Test items come back first (every arm's
    intervals narrow), then LoRA epochs, each as far as the budget allows.
    """
    levels = [("test", min(COMFORT_TEST, n_test)), ("epochs", min(2, epochs))]
    levels += [("test", n_test), ("epochs", epochs)]
    for kind, target in levels:
        if kind == "epochs":
            while ep < target and fits(n, ep + 1):
                ep += 1
        elif n < target:
            lo, hi = n, target  # the most items that fit: fits(lo) holds
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(mid, ep) else (lo, mid - 1)
            n = lo
    return n, ep


def apply_plan(settings: PilotSettings, plan: BudgetPlan) -> PilotSettings:
    """The settings the planned pilot runs (and records) with."""
    lora = settings.lora
    if plan.epochs != lora.epochs:
        lora = replace(lora, epochs=plan.epochs)
    return replace(settings, arms=tuple(plan.arms), max_test=plan.max_test, lora=lora)


def fit_pilot(
    estimate: dict[str, Any],
    settings: PilotSettings,
    arms: list[str],
    n_test: int,
    spent_s: float = 0.0,
) -> BudgetPlan:
    """The budget plan for a pilot whose estimate was measured (:func:`.calibrate.pilot_estimate`).

    Without a measured estimate (an endpoint pilot, a failed measurement) nothing is cut:
    the plan says the budget could not be planned rather than guessing.
    """
    budget = float(settings.budget_s or 0)
    if not estimate.get("calibrated"):
        raise AdvisorError(
            "--budget needs this machine's speed, which could not be measured for this pilot "
            f"({estimate.get('calibration_error') or 'the arms answer through an endpoint'}); "
            "run without --budget, or cap the work with --max-test and --lora-epochs"
        )
    work, rates = _measured(estimate)
    epochs = settings.lora.epochs
    return plan_budget(budget, work, rates, arms, n_test, epochs, settings.batch_size, spent_s)


def _measured(estimate: dict[str, Any]) -> tuple[dict[str, ArmWork], Rates]:
    """The counted work and measured rates a calibrated estimate carries."""
    from advisor.pilot.calibrate import ArmWork, Rates

    known = set(Rates.__dataclass_fields__)
    rates = Rates(**{k: v for k, v in estimate["rates"].items() if k in known})
    return {arm: ArmWork(**w) for arm, w in (estimate.get("work") or {}).items()}, rates


def planned_estimate(
    estimate: dict[str, Any], plan: BudgetPlan, settings: PilotSettings
) -> dict[str, Any]:
    """The measured estimate redone for what the plan kept.

    The work was counted at the epochs the estimate records (``settings`` may already be
    the planned ones, whose epochs would then scale nothing).
    """
    work, rates = _measured(estimate)
    counted_epochs = estimate.get("lora_epochs") or settings.lora.epochs
    seconds = per_arm_seconds(
        work, rates, plan.arms, plan.max_test, plan.epochs, counted_epochs, settings.batch_size,
    )  # fmt: skip
    peaks = {a: p for a, p in (estimate.get("per_arm_peak_mb") or {}).items() if a in plan.arms}
    return {
        **estimate,
        "seconds": round(plan.spent_s + sum(seconds.values()) + SETUP_S, 1),
        "per_arm_seconds": seconds,
        "per_arm_peak_mb": peaks,
        # what the probe already peaked at stays: it came before any cut
        "peak_memory_mb": max(
            [*peaks.values(), estimate.get("probe_peak_mb") or 0.0],
            default=estimate.get("peak_memory_mb"),
        ),
    }
