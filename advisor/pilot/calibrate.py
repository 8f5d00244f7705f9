"""Time and memory of a pilot from this machine and this data, measured in a few seconds.

Why measure instead of counting FLOPs: the constant-rate estimate (:mod:`.estimate`) was
3-4x off on the real default model (it promised 39 minutes for a 12-minute pilot), because
what a 2-core CPU sustains depends on the model, the precision it runs in, the sequence
lengths and whatever else the machine is doing. So once the model is loaded, the pilot
1. builds each arm's real prompts for a sample of test items and counts their tokens
   (retrieved passages, few-shot examples and the chat template included);
2. times one short batched generation twice (1 and 1 + ``DECODE_PROBE`` new tokens: the
   prefill and the per-token decode step) and one batch of the longest prompts;
3. runs ``TRAIN_PROBE_STEPS`` real LoRA steps on each training arm's own pairs and times
   the steps after the first (the first pays for warm-up): a token of a short sequence
   costs more than one of a RAG-length sequence (each step has fixed costs), 2.6 against
   2.0 ms on the facts sample, so one rate for both arms was 13-35% off for one of them;
and multiplies those rates by the work each arm will do. Memory: the process's resident
size once the probe has run and its freed memory went back to the OS (as each arm starts:
model, embedder, indexes, and what generating and training leave resident), plus the arm's
own peak: the resident size a generation batch added in the probe, scaled to the arm's
widest batch, and for a training arm the larger of that (beside a second copy of the
weights) and the LoRA loop's peak for its widest training batch
(:func:`advisor.memory.cpu.estimate_cpu_training_peak`, which matched the measured training
peaks within 10% on the bundled samples; experiments/README.md).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.pilot.context import PilotContext

SAMPLE = 16  # test items whose prompts are built and counted per arm
DECODE_PROBE = 16  # extra new tokens in the decode probe
TRAIN_PROBE_STEPS = 3  # LoRA steps in the training probe (the first is not timed)
VALIDATION_SHARE = 0.35  # a validation token costs about this share of a training token
ARM_OVERHEAD_S = 2.0  # scoring, file writes, adapter save
# tokens past the 90th-percentile reference before a finetuned arm's batch stops; a
# prompting arm's batch runs to the answer cap: the model was not taught where these answers
# end, and one rambling row of 16 keeps the batch going (measured on an unseen dataset:
# prompting arms took 1.9-2.4x their estimate at the taught length, 0.65-1.2x at the cap)
ANSWER_SLACK = 4


@dataclass(frozen=True)
class Rates:
    """What this machine sustains with this model (seconds)."""

    prefill_s_per_token: float  # per prompt token, batched
    decode_s_per_step: float  # one new token for a whole generation batch
    train_s_per_token: float  # forward + backward per training token (LoRA)
    model_load_s: float  # a fresh base model for a training arm
    probe_s: float  # what measuring took
    generation_mb_per_token: float = 0.0  # resident MB a generation batch adds per prompt token


@dataclass(frozen=True)
class ArmWork:
    """How much an arm will do, counted from its real prompts."""

    prompt_tokens: float  # mean test-prompt tokens
    new_tokens: int  # tokens a generation batch runs for
    train_tokens: float = 0.0  # training tokens over all epochs
    validation_tokens: float = 0.0  # validation tokens over all evaluations
    widest_train_tokens: int = 0  # the longest training example (the memory peak)
    widest_prompt_tokens: int = 0  # the longest test prompt seen (generation's memory peak)
    train_s_per_token: float = 0.0  # this arm's own measured rate; 0 = Rates.train_s_per_token


@dataclass
class Calibration:
    seconds: float
    peak_memory_mb: float
    per_arm_seconds: dict[str, float]
    per_arm_peak_mb: dict[str, float]
    rates: dict[str, float]
    work: dict[str, dict[str, float]] = field(default_factory=dict)
    probe_peak_mb: float = 0.0  # the process's peak while measuring (it trains every arm briefly)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample(items: list[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over the list (deterministic: no RNG is touched)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def count_work(ctx: PilotContext, arms: list[str]) -> dict[str, ArmWork]:
    """Each LLM arm's prompt length, answer length and training tokens, from real prompts."""
    from advisor.catalog import CATALOG
    from advisor.pilot.arms import test_prompts, training_pairs

    gen = ctx.generator()
    split, lora = ctx.split, ctx.settings.lora
    refs = sorted(gen.count_tokens(e.output) for e in split.train or split.validation)
    cap = ctx.max_new_tokens()
    p90 = refs[int(0.9 * (len(refs) - 1))] if refs else cap
    taught = cap if gen.smoke else min(cap, p90 + ANSWER_SLACK)
    sample = _sample(split.test, SAMPLE)
    work: dict[str, ArmWork] = {}
    for arm in arms:
        info = CATALOG[arm]
        if not info.needs_llm:
            continue
        counts = [gen.count_tokens(t) for t in test_prompts(ctx, arm, sample).prompts]
        prompt, widest = (statistics.fmean(counts), max(counts)) if counts else (0.0, 0)
        if not info.trains:
            work[arm] = ArmWork(prompt, cap, widest_prompt_tokens=widest)
            continue
        pairs = training_pairs(ctx, arm, _sample(split.train, SAMPLE * 2))
        lengths = [gen.count_tokens(p.prompt) + gen.count_tokens(p.response) + 1 for p in pairs]
        per_example = min(statistics.fmean(lengths), lora.max_seq_len)
        epochs = lora.epochs
        steps_per_epoch = math.ceil(len(split.train) / lora.batch_size)
        if lora.max_steps:
            epochs = min(epochs, lora.max_steps / max(1, steps_per_epoch))
        work[arm] = ArmWork(
            prompt,
            taught,
            train_tokens=epochs * len(split.train) * per_example,
            validation_tokens=(math.ceil(epochs) + 1) * len(split.validation) * per_example,
            widest_train_tokens=min(max(lengths), lora.max_seq_len),
            widest_prompt_tokens=widest,
        )
    return work


def measure_rates(ctx: PilotContext, work: dict[str, ArmWork]) -> Rates:
    """Time generation and a few LoRA steps with the pilot's own model and settings.

    Each training arm's own rate goes into its entry of ``work``.
    """
    from advisor.pilot.arms import test_prompts, training_pairs
    from advisor.resources import PeakMemory, release_memory

    t_start = time.perf_counter()
    gen, split, settings = ctx.generator(), ctx.split, ctx.settings
    batch = max(1, min(settings.batch_size, len(split.test)))
    short = test_prompts(ctx, "zero_shot", _sample(split.test, batch)).prompts
    short_counts = [gen.count_tokens(p) for p in short]
    short_tokens = sum(short_counts)
    gen.generate(short[:1], max_new_tokens=2, batch_size=1)  # warm-up: kernels, allocator
    t0 = time.perf_counter()
    with PeakMemory(0.005) as pm:
        gen.generate(short, max_new_tokens=1, batch_size=batch)
    t1 = time.perf_counter()
    padded = len(short) * max(short_counts, default=1)
    gen_mb = _added_per_token(pm, padded)
    gen.generate(short, max_new_tokens=1 + DECODE_PROBE, batch_size=batch)
    t2 = time.perf_counter()
    prefill = max(1e-7, (t1 - t0) / max(1, short_tokens))
    # A decode step runs one token per row: it costs at least that much prefill (two noisy
    # timings on a busy machine can otherwise make the difference 0 or negative).
    decode = max((t2 - t1) - (t1 - t0), 0.0) / DECODE_PROBE
    decode = max(decode, len(short) * prefill)
    longest = max(work, key=lambda a: work[a].prompt_tokens, default=None)
    if longest is not None and work[longest].prompt_tokens > 2 * short_tokens / len(short):
        few = min(4, batch)
        long_prompts = test_prompts(ctx, longest, _sample(split.test, few)).prompts
        release_memory()  # what the short batch left must not hide the long batch's need
        t3 = time.perf_counter()
        with PeakMemory(0.005) as pm:
            gen.generate(long_prompts, max_new_tokens=1, batch_size=few)
        counts = [gen.count_tokens(p) for p in long_prompts]
        prefill = max(prefill, (time.perf_counter() - t3 - decode) / max(1, sum(counts)))
        gen_mb = max(gen_mb, _added_per_token(pm, len(counts) * max(counts)))
    train_rate, load_s = 0.0, 0.0
    # the arm with the most training first: its rate is the default for the others
    for arm in sorted(
        (a for a in work if work[a].train_tokens > 0), key=lambda a: -work[a].train_tokens
    ):
        rate, load = _time_training(ctx, arm, training_pairs)
        work[arm] = replace(work[arm], train_s_per_token=rate)
        train_rate, load_s = train_rate or rate, load_s or load
    release_memory()  # as before every arm: what the probe freed goes back to the OS
    return Rates(prefill, decode, train_rate, load_s, time.perf_counter() - t_start, gen_mb)


def _added_per_token(pm: Any, padded_tokens: int) -> float:
    """Resident MB a generation batch added, per (padded) prompt token it held."""
    return max(0.0, pm.peak_mb - pm.start_mb) / max(1, padded_tokens)


def _time_training(ctx: PilotContext, arm: str, training_pairs: Any) -> tuple[float, float]:
    """Seconds per training token and per model load, from real LoRA steps."""
    from advisor.finetune.lora import train_lora
    from advisor.resources import release_memory

    lora = ctx.settings.lora
    t0 = time.perf_counter()
    base = ctx.fresh_base_generator()
    load_s = time.perf_counter() - t0
    pairs = training_pairs(ctx, arm, _sample(ctx.split.train, lora.batch_size * TRAIN_PROBE_STEPS))
    stamps: list[float] = []
    probe = replace(lora, epochs=1, max_steps=TRAIN_PROBE_STEPS, grad_accum=1)
    _, result = train_lora(
        base.model,
        base.tokenizer,
        pairs,
        [],
        probe,
        progress=lambda *_: stamps.append(time.perf_counter()),
    )
    del base
    release_memory()  # the probe's weights and activations must not sit under every arm
    if len(stamps) < 2 or result.tokens <= 0:
        return result.seconds / max(1, result.tokens), load_s
    timed_tokens = result.tokens * (len(stamps) - 1) / len(stamps)
    return (stamps[-1] - stamps[0]) / timed_tokens, load_s


def arm_seconds(work: ArmWork, rates: Rates, n_test: int, batch_size: int) -> float:
    """One arm's wall time from its work and the measured rates."""
    batches = math.ceil(n_test / max(1, batch_size))
    generate = (
        n_test * work.prompt_tokens * rates.prefill_s_per_token
        + batches * work.new_tokens * rates.decode_s_per_step
    )
    train = 0.0
    if work.train_tokens:
        rate = work.train_s_per_token or rates.train_s_per_token
        train = rates.model_load_s + rate * (
            work.train_tokens + VALIDATION_SHARE * work.validation_tokens
        )
    return generate + train + ARM_OVERHEAD_S


def calibrate(ctx: PilotContext, arms: list[str]) -> Calibration:
    """The pilot's estimate for these arms, measured on this machine with this data."""
    from advisor.resources import PeakMemory, current_rss_mb

    work = count_work(ctx, arms)  # builds the retrievers and loads the embedder
    with PeakMemory() as probe:
        rates = measure_rates(ctx, work)
    # after the probe and its release: what the process keeps once it has generated and
    # trained, i.e. what every arm starts from (the runner releases memory before each)
    base = current_rss_mb()
    n_test = len(ctx.split.test)
    per_arm = {
        arm: round(arm_seconds(work[arm], rates, n_test, ctx.settings.batch_size), 1)
        if arm in work
        else ARM_OVERHEAD_S
        for arm in arms
    }
    batch = max(1, min(ctx.settings.batch_size, n_test))
    weights = _weights_mb(ctx)
    peaks = {
        arm: round(
            base + arm_extra_mb(w, rates, batch, _training_extra_mb(ctx, w), weights),
            0,
        )
        for arm, w in work.items()
    }
    peaks.update({arm: round(base, 0) for arm in arms if arm not in peaks})
    return Calibration(
        seconds=round(sum(per_arm.values()), 1),
        # the run's peak may be the probe's own: it trains every arm for a few steps, and a
        # budget may then drop the arm whose training was the widest
        peak_memory_mb=max([*peaks.values(), round(probe.peak_mb, 0)]),
        per_arm_seconds=per_arm,
        per_arm_peak_mb=peaks,
        probe_peak_mb=round(probe.peak_mb, 0),
        rates={k: round(v, 9) for k, v in asdict(rates).items()},
        work={
            arm: {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in asdict(w).items()}
            for arm, w in work.items()
        },
    )


def arm_extra_mb(
    work: ArmWork, rates: Rates, batch: int, training_mb: float = 0.0, weights_mb: float = 0.0
) -> float:
    """What an arm adds over the process it starts in, at its peak.

    Generation holds a batch of its widest prompts (the probe's MB per prompt token,
    scaled); a training arm trains first (``training_mb``: the LoRA loop's peak), then
    answers beside its own copy of the weights (``weights_mb``), so its peak is the larger of
    the two phases: the runner returns training's freed memory to the OS before the answers.
    """
    tokens = batch * (work.widest_prompt_tokens + work.new_tokens)
    generating = rates.generation_mb_per_token * tokens
    if not work.train_tokens:
        return generating
    return max(training_mb, weights_mb + generating)


def _weights_mb(ctx: PilotContext) -> float:
    model = getattr(ctx.generator(), "model", None)
    if model is None:
        return 0.0
    return sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6


def _training_extra_mb(ctx: PilotContext, work: ArmWork) -> float:
    """What a training arm adds to the loaded process: a second copy of the weights and the
    LoRA loop's peak for its widest batch (0 for an arm that does not train)."""
    if not work.train_tokens:
        return 0.0
    from advisor.pilot.estimate import lora_peak_mb, model_shape

    lora = ctx.settings.lora
    gen = ctx.generator()
    weights = next(iter(gen.model.parameters()), None) if hasattr(gen, "model") else None
    weight_dtype = "bf16" if weights is not None and "bfloat16" in str(weights.dtype) else "fp32"
    try:  # the loaded model's own shape; the reference's when the config cannot be read
        from advisor.memory import shape_from_config

        shape = shape_from_config(gen.model.config.to_dict())
    except Exception:
        shape = model_shape(ctx.settings.model)
    return lora_peak_mb(shape, lora, len(ctx.split.train), work.widest_train_tokens, weight_dtype)


FINISH_S = 5.0  # after the last arm: retrieval metrics, results and files


def pilot_estimate(
    ctx: PilotContext,
    arms: list[str],
    n_examples: int,
    mean_chars: float,
    spent_s: float = 0.0,
    shape: Any = None,
) -> dict:
    """The estimate a run records and prints: measured here when it can be, else counted.

    Arms finished in an earlier run are not measured again. A pilot whose prompting arms go
    to an endpoint, or whose measurement fails, keeps the FLOP-count estimate, and says so.
    """
    from advisor.pilot.estimate import estimate_pilot, millions
    from advisor.pilot.rundir import read_json

    split = (len(ctx.split.train), len(ctx.split.test))
    counted = estimate_pilot(
        ctx.settings, n_examples, mean_chars, arms=arms, shape=shape, split_sizes=split
    ).to_dict()
    pending = [
        a
        for a in arms
        if (read_json(ctx.run_dir / "arms" / f"{a}.json") or {}).get("status") != "ok"
    ]
    if ctx.settings.api_base or not pending or not ctx.has_llm:
        return {**counted, "calibrated": False}
    try:
        cal = calibrate(ctx, pending)
    except Exception as exc:  # an estimate must never stop a pilot
        return {**counted, "calibrated": False, "calibration_error": f"{type(exc).__name__}: {exc}"}
    return {
        **counted,
        # the whole command: what loading and measuring took, the arms, and the finish
        # (the data curve's and seed repeats' runs, when asked for, are counted, not measured)
        "seconds": round(
            spent_s
            + cal.rates["probe_s"]
            + cal.seconds
            + FINISH_S
            + sum((counted.get("extra_seconds") or {}).values()),
            1,
        ),
        "setup_s": round(spent_s + cal.rates["probe_s"], 1),
        "peak_memory_mb": cal.peak_memory_mb,
        "probe_peak_mb": cal.probe_peak_mb,
        "per_arm_seconds": cal.per_arm_seconds,
        "per_arm_peak_mb": cal.per_arm_peak_mb,
        "calibrated": True,
        "rates": cal.rates,
        "work": cal.work,
        "counted_seconds": counted["seconds"],
        "lora_epochs": ctx.settings.lora.epochs,  # what "work" was counted at (budget.py)
        "assumptions": (
            f"measured on this machine in {cal.rates['probe_s']:.0f} s: this "
            f"{millions(counted['model_params'])}-parameter model's generation and LoRA "
            f"speed, and each arm's real prompt lengths; {len(ctx.split.test)} test and "
            f"{len(ctx.split.train)} training examples"
        ),
    }
