"""Pilot rules: what the team's own data measured, registered after the answer rules.

Why separate from the answer rules: these read ``Evidence`` (significant differences,
failure mixes, latency), not the questionnaire. Only significant differences move scores
(p < 0.05 and a 95% interval excluding 0); everything else is still cited, with no effect,
so the reader sees what the pilot could and could not tell. A smoke run counts zero.
"""

from __future__ import annotations

from collections.abc import Iterator

from advisor.decide.citations import cite
from advisor.decide.evidence import (
    COMBINED_ARMS,
    FINETUNE_ARMS,
    PROMPTING_ARMS,
    RAG_ARMS,
    SMOKE_NOTE,
    Comparison,
    Evidence,
)
from advisor.decide.questionnaire import Answers
from advisor.decide.rules import RF, F, R, Reason, rule


def _weighted(effects: dict[str, float], weight: float) -> dict[str, float]:
    return {k: round(v * weight, 3) for k, v in effects.items() if v * weight != 0}


def _zero_weight(ev: Evidence) -> str:
    """The note every pilot reason of a smoke run carries."""
    return f" ({SMOKE_NOTE}: zero weight)" if ev.smoke else ""


def _gain(diff: float) -> float:
    """Points for a significant pilot difference: 1.5, growing with the size, capped at 3."""
    return 1.5 + min(1.5, 5.0 * abs(diff))


def _measured(
    ev: Evidence, cmp: Comparison, direct: bool, targets: dict[str, float], meaning: str
) -> Reason:
    """One significant comparison as a reason: full points against the best prompting arm,
    half against another prompting arm, none for a smoke run."""
    weight = ev.weight * (1.0 if direct else 0.5)
    points = _gain(cmp.diff) if cmp.diff > 0 else -1.0
    verb = "beat" if cmp.diff > 0 else "did worse than"
    text = f"In the pilot, {cmp.a} {verb} {cmp.b} on {cmp.metric}"
    if not direct:
        text += " (not compared with the best prompting arm directly: half weight)"
    text += _zero_weight(ev)
    text += f": {meaning}." if cmp.diff > 0 else "."
    return Reason(text, cmp.cite(), _weighted({k: points * f for k, f in targets.items()}, weight))


@rule("pilot_smoke")
def pilot_smoke(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if ev is not None and ev.smoke:
        yield Reason(
            f"The pilot is a {SMOKE_NOTE}; its numbers are cited below with zero weight. Run "
            "it again with your model (--model) to weigh it in.",
            f"pilot: smoke run ({ev.model})",
        )


@rule("pilot_versus_prompting")
def pilot_versus_prompting(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """Did a RAG arm or LoRA beat the best prompting arm? Significant differences only."""
    if ev is None:
        return
    candidates = (
        (ev.best_of(RAG_ARMS), {R: 1.0, RF: 0.5}, "retrieval supplies what prompting lacks"),
        (ev.best_of(FINETUNE_ARMS), {F: 1.0, RF: 0.5}, "training changed what prompting could not"),
    )
    for arm, targets, meaning in candidates:
        cmp, direct = ev.versus_prompting(arm) if arm else (None, False)
        if cmp is not None and cmp.significant:
            yield _measured(ev, cmp, direct, targets, meaning)


@rule("pilot_lora_rag")
def pilot_lora_rag(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """RAG + LoRA counts only when it beats both RAG alone and LoRA alone."""
    if ev is None or not ev.ok_arms(COMBINED_ARMS):
        return
    rivals = [x for x in (ev.best_of(RAG_ARMS), ev.best_of(FINETUNE_ARMS)) if x]
    measured = [c for c in (ev.compare("lora_rag", rival) for rival in rivals) if c]
    if not rivals or len(measured) < len(rivals):
        return
    source = "; ".join(c.cite() for c in measured)
    if all(c.significant and c.diff > 0 for c in measured):
        smallest = min(measured, key=lambda c: c.diff)
        yield Reason(
            f"In the pilot, lora_rag beat {' and '.join(rivals)}: the combination adds to "
            f"each part{_zero_weight(ev)}.",
            source,
            _weighted({RF: _gain(smallest.diff)}, ev.weight),
        )
    else:
        yield Reason(
            f"In the pilot, lora_rag did not beat {' and '.join(rivals)} significantly"
            f"{_zero_weight(ev)}: "
            "the combination costs more without a measured gain, and finetuning on top of "
            "RAG often does not help.",
            f"{source}; {cite('ovadia2024')}",
            _weighted({RF: -1.0}, ev.weight),
        )


@rule("pilot_no_difference")
def pilot_no_difference(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """Say when the pilot could not tell arms apart, and how large a gap it could have seen."""
    if ev is None:
        return
    for arm in (ev.best_of(RAG_ARMS), ev.best_of(FINETUNE_ARMS)):
        cmp = ev.versus_prompting(arm)[0] if arm else None
        if cmp is None or cmp.significant:
            continue
        mde = ev.mde.get(cmp.metric)
        size = (
            f"; with this test set it can only detect gaps of about {mde:.2f} or more"
            if mde
            else ""
        )
        yield Reason(
            f"No significant difference between {cmp.a} and {cmp.b} on {cmp.metric}{size}. "
            "No effect on the scores: a larger test set could still show one.",
            cmp.cite(),
        )


@rule("pilot_failure_mix")
def pilot_failure_mix(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """Why the best prompting arm missed: mostly information (RAG) or behaviour (finetune)."""
    arm = ev.best_of(PROMPTING_ARMS) if ev else None
    if ev is None or arm is None:
        return
    counts = ev.failure_counts(arm)
    info, behaviour = counts.get("information", 0), counts.get("behaviour", 0)
    misses = info + behaviour + counts.get("other", 0)
    if info + behaviour < 5 or info == behaviour:
        return
    kind, targets = ("information", {R: 0.75, RF: 0.25})
    if behaviour > info:
        kind, targets = ("behaviour", {F: 0.75, RF: 0.25})
    yield Reason(
        f"Most of {arm}'s misses in the pilot are {kind}-based{_zero_weight(ev)}.",
        f"pilot: {arm} misses, {info} information vs {behaviour} behaviour of {misses}",
        _weighted(targets, ev.weight),
    )


@rule("pilot_arms_missing")
def pilot_arms_missing(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """A decision leaning on an approach the pilot could not measure should say so."""
    if ev is None:
        return
    families = {"prompting": PROMPTING_ARMS, "RAG": RAG_ARMS, "LoRA": FINETUNE_ARMS}
    for family, arms in families.items():
        if ev.ok_arms(arms):
            continue
        broken = [ev.arms[x] for x in arms if x in ev.arms]
        if broken:
            what = "; ".join(
                f"{b.name} {b.status}: {b.error or 'no error recorded'}" for b in broken
            )
            text = f"No {family} arm finished in the pilot ({what[:300]})"
            text += f": {family} rests on the answers alone."
        else:
            text = f"The pilot ran no {family} arm: {family} rests on the answers alone."
        yield Reason(text, f"pilot: {ev.origin}")


@rule("pilot_costs")
def pilot_costs(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    """Measured costs: RAG latency on top of prompting, LoRA training time."""
    if ev is None:
        return
    base, rag = ev.best_of(PROMPTING_ARMS), ev.best_of(RAG_ARMS)
    p50_base = ev.arms[base].latency_p50_ms if base else None
    p50_rag = ev.arms[rag].latency_p50_ms if rag else None
    if p50_base and p50_rag is not None:
        slower = p50_rag / p50_base
        effects = {}
        if "too_slow_or_costly" in a.failures and slower > 1.5:
            effects = _weighted({R: -0.5, RF: -0.5}, ev.weight)
        yield Reason(
            f"In the pilot, {rag} answered in {p50_rag:.0f} ms (median) against "
            f"{p50_base:.0f} ms for {base}: retrieval costs {slower:.1f}x the latency.",
            f"pilot: latency_ms.p50 {rag} {p50_rag:.0f} vs {base} {p50_base:.0f}",
            effects,
            ("failures",) if effects else (),
        )
    lora = ev.arms.get("lora")
    if lora is not None and lora.ok and lora.train_seconds is not None:
        yield Reason(
            f"In the pilot, training the LoRA adapter took {lora.train_seconds:.0f} s on "
            f"{ev.model}: the development cost finetuning adds before serving.",
            f"pilot: arms.lora.train.seconds = {lora.train_seconds:.0f}",
        )
