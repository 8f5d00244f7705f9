"""Rough time and memory of a pilot before it starts, so nobody waits blind.

Why FLOP counting: generation costs about 2N FLOPs per token and LoRA training about 4N
(forward 2N + backward through activations 2N; frozen weights need no weight gradients),
N = parameters. Dividing by what this kind of machine sustains gives minutes, not seconds:
the figure is for planning ("a few minutes" vs "an hour"), and the CLI and app say so.

The sustained rates are calibrated with ``experiments/bench.py`` (experiments/README.md,
SmolLM2-135M shapes on a 2-core AMD EPYC): batched fp32 generation sustained 1.1-1.5e11
FLOP/s by this module's own formula (prompt + 2 x new tokens), fp32 LoRA training 0.9e11;
with native bf16 (AVX512-BF16/AMX) generation ran 2.9x and training 2-3x faster. The
constants are rounded down from those figures: an estimate should not promise more.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.memory.gpu import INFERENCE_OVERHEAD
from advisor.memory.params import count_params

if TYPE_CHECKING:
    from advisor.memory.shapes import ModelShape

# Effective FLOP/s sustained on a 2-core CPU in fp32 (measured, rounded down; see above).
GENERATION_FLOPS = 1.0e11
TRAINING_FLOPS = 6.0e10
BF16_SPEEDUP = 2.0  # where the CPU multiplies bf16 natively (measured 2-3x); else 1
OVERHEAD_S_PER_ARM = 3.0  # prompt building, scoring, file writes
BASE_PROCESS_MB = 700.0  # python + torch + transformers + embedder loaded
TINY_PARAMS = 1_000_000  # the built-in model is about this size
DEFAULT_PARAMS = 135_000_000  # SmolLM2-135M when the model's config is not on disk
LONGEST_VS_MEAN = 1.5  # the longest batch sets the peak; only the mean length is known
RESPONSE_TOKENS = 64  # positions per row that get logits at prompt loss weight 0


@dataclass(frozen=True)
class PilotEstimate:
    seconds: float
    peak_memory_mb: float
    model_params: int
    per_arm_seconds: dict[str, float]
    assumptions: str
    # the opt-in evidence runs (data curve points, seed repeats), included in ``seconds``
    extra_seconds: dict[str, float] = field(default_factory=dict)
    per_arm_train_seconds: dict[str, float] = field(default_factory=dict)  # LoRA arms' share

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local_folder(ref: str) -> Path | None:
    """The folder ``ref`` resolves to on this machine without fetching, if any."""
    path = Path(ref).expanduser()
    if (path / "config.json").exists():
        return path
    if path.exists():
        return None
    try:
        from advisor.models.cache import find_cached
        from advisor.models.sources import hf_cache_folder

        cached = find_cached(ref)
        folder = cached.path if cached is not None else hf_cache_folder(ref)
    except Exception:  # an estimate must never stop a pilot
        return None
    return Path(folder) if folder else None


def model_shape(ref: str | None) -> ModelShape:
    """The shape of the model a pilot will load (the default model's size when unknown)."""
    return _model_shape(ref)[0]


def _model_shape(ref: str | None) -> tuple[ModelShape, bool]:
    """The shape of the model a pilot will load, and whether it is known (its config is on
    disk) or assumed (the default model's size, for a model not fetched yet)."""
    from advisor.memory import shape_from_config, shape_from_params_b
    from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL

    ref = ref or DEFAULT_MODEL
    if ref == BUILTIN_MODEL:
        from advisor.models.tiny import TinySpec, tiny_config_values

        spec = TinySpec()
        return shape_from_config(tiny_config_values(spec, spec.vocab_size)), True
    folder = _local_folder(ref)
    if folder is not None:
        try:
            return shape_from_config(folder), True
        except Exception:  # an estimate must never stop a pilot
            pass
    return shape_from_params_b(DEFAULT_PARAMS / 1e9), ref == DEFAULT_MODEL


def _training_peak_mb(
    shape: ModelShape, lora: Any, n_train: int, tokens: float, weight_dtype: str
) -> float:
    """The LoRA loop's peak (``advisor.memory.cpu``) for its longest batch, taken as
    LONGEST_VS_MEAN x the mean example, within ``max_seq_len``."""
    seq_len = max(1, min(lora.max_seq_len, math.ceil(tokens * LONGEST_VS_MEAN)))
    return lora_peak_mb(shape, lora, n_train, seq_len, weight_dtype)


def lora_peak_mb(
    shape: ModelShape, lora: Any, n_train: int, seq_len: int, weight_dtype: str
) -> float:
    """The pilot's LoRA loop's peak RSS for a batch of ``seq_len``-token rows, in MB: the
    pilot's settings read into :func:`advisor.memory.cpu.estimate_cpu_training_peak`."""
    from advisor.finetune.batches import resolve_precision
    from advisor.memory.cpu import estimate_cpu_training_peak

    targets = lora.target_modules
    peak = estimate_cpu_training_peak(
        shape,
        batch_size=max(1, min(lora.batch_size, n_train)),
        seq_len=max(1, seq_len),
        weight_dtype=weight_dtype,
        compute=resolve_precision(lora.precision),
        lora_rank=lora.rank,
        target_modules=None if targets == "auto" else targets,
        logit_positions=None if lora.prompt_loss_weight > 0 else RESPONSE_TOKENS,
        gradient_checkpointing=lora.gradient_checkpointing,
    )
    return peak.total_gb * 1000


def estimate_pilot(
    settings: Any,
    n_examples: int | None = None,
    mean_chars: float | None = None,
    *,
    arms: list[str] | None = None,
    shape: ModelShape | None = None,
    split_sizes: tuple[int, int] | None = None,
) -> PilotEstimate:
    """Estimate from the settings and the data's size (read from the file when not given).

    ``arms``: the arms that will run (default: the settings' arms, else every arm);
    ``shape``: the loaded model's shape (default: from its config on disk, when there);
    ``split_sizes``: (train, test) counts of the split made (default: from the sizes).
    """
    from advisor.pilot.arms import ARMS

    if n_examples is None or mean_chars is None:
        try:
            from advisor.data.load import load_examples

            ex = load_examples(
                settings.data,
                input_col=settings.input_col,
                output_col=settings.output_col,
                doc_id_col=settings.doc_id_col,
                max_bytes=getattr(settings, "max_bytes", 50_000_000),
                max_rows=getattr(settings, "max_rows", 100_000),
            ).examples
            n_examples = len(ex)
            mean_chars = sum(len(e.input) + len(e.output) for e in ex) / max(1, len(ex))
        except Exception:  # bad data is reported by the pilot itself, with its message
            n_examples, mean_chars = 100, 200.0
    frac_test = (
        settings.test_size if settings.test_size < 1 else settings.test_size / max(1, n_examples)
    )
    n_test = min(int(round(n_examples * frac_test)), settings.max_test or n_examples)
    n_train = max(0, int(n_examples * (1 - frac_test - settings.validation_size)))
    if split_sizes is not None:  # the split the pilot made: no guessing
        n_train, n_test = split_sizes
    known = True
    if shape is None:
        shape, known = _model_shape(settings.model)
    params = count_params(shape)
    tokens_per_example = mean_chars / 4 + 40  # ~4 characters a token, plus the template
    new_tokens = settings.max_new_tokens or 48
    from advisor.runtime import cpu_has_native_bf16

    speed = BF16_SPEEDUP if params > TINY_PARAMS and cpu_has_native_bf16() else 1.0
    per_arm: dict[str, float] = {}
    extra: dict[str, float] = {}  # evidence runs: "lora data curve (42, 84 examples)" -> s
    per_arm_train: dict[str, float] = {}
    train_tokens: dict[str, float] = {}  # arm -> tokens of a mean training example
    arms = list(arms if arms is not None else (settings.arms or ARMS))
    for arm in arms:
        spec = ARMS.get(arm)
        if spec is None:
            continue
        if not spec.needs_llm:
            per_arm[arm] = OVERHEAD_S_PER_ARM
            continue
        prompt = tokens_per_example
        if arm == "few_shot":
            prompt *= 1 + settings.few_shot_k
        if spec.needs_kb:
            prompt += settings.retrieval_k * settings.chunk_words * 1.3
        gen = n_test * 2 * params * (prompt + new_tokens * 2) / (GENERATION_FLOPS * speed)
        train = 0.0
        if spec.trains:
            train_tokens[arm] = prompt + new_tokens
            train = _train_seconds(settings, n_train, params, prompt + new_tokens, speed)
        per_arm[arm] = round(gen + train + OVERHEAD_S_PER_ARM, 1)
        if spec.trains:
            gen_s = gen + OVERHEAD_S_PER_ARM
            extra.update(
                _extra_seconds(settings, arm, n_train, gen_s, per_arm[arm], params, prompt, speed)
            )
            per_arm_train[arm] = round(train, 1)
    # the loader keeps a bf16 checkpoint in bf16 where the CPU has native bf16
    weight_dtype = "bf16" if speed > 1 else "fp32"
    model_mb = params * (2 if speed > 1 else 4) / 1e6
    memory = BASE_PROCESS_MB
    if any(ARMS[a].needs_llm for a in arms if a in ARMS):
        memory += model_mb * INFERENCE_OVERHEAD
    for arm in train_tokens:
        try:
            peak = _training_peak_mb(shape, settings.lora, n_train, train_tokens[arm], weight_dtype)
        except Exception:  # e.g. target modules this shape lacks: the pilot reports them
            peak = model_mb * 2.2  # the earlier rule of thumb: weights and as much again
        memory = max(memory, BASE_PROCESS_MB + peak)
    return PilotEstimate(
        seconds=round(sum(per_arm.values()) + sum(extra.values()), 1),
        peak_memory_mb=round(memory, 0),
        model_params=params,
        per_arm_seconds=per_arm,
        extra_seconds=extra,
        per_arm_train_seconds=per_arm_train,
        assumptions=(
            f"{n_test} test and ~{n_train} training examples, ~{int(tokens_per_example)} tokens "
            f"each, {_model_words(params, known, any(ARMS[a].needs_llm for a in per_arm))} "
            f"in {'bf16' if speed > 1 else 'fp32'} on this CPU; a planning figure, not a promise"
        ),
    )


def _model_words(params: int, known: bool, uses_model: bool) -> str:
    if not uses_model:
        return "no language model"
    if not known:
        return "a model whose size is unknown until it is fetched"
    return f"a {millions(params)}-parameter model"


def _train_seconds(settings: Any, n: int, params: int, tokens: float, speed: float) -> float:
    """LoRA training on ``n`` examples: epochs x n x 4N FLOPs per token (max_steps caps)."""
    epochs = settings.lora.epochs
    if settings.lora.max_steps:
        epochs = min(epochs, settings.lora.max_steps * settings.lora.batch_size / max(1, n))
    return epochs * n * 4 * params * tokens / (TRAINING_FLOPS * speed)


def _extra_seconds(
    settings: Any,
    arm: str,
    n_train: int,
    answer_s: float,
    arm_s: float,
    params: int,
    prompt: float,
    speed: float,
) -> dict[str, float]:
    """The data curve's smaller training runs (each also answers the test items) and the
    seed repeats (each a whole arm again)."""
    from advisor.errors import AdvisorError
    from advisor.evaluation.data_curve import curve_sizes

    out: dict[str, float] = {}
    fractions = tuple(getattr(settings, "data_curve", ()) or ())
    if fractions:
        try:
            sizes = [n for n in curve_sizes(n_train, fractions) if n != n_train]
        except AdvisorError:
            sizes = []  # the pilot refuses with the reason before any arm runs
        tokens = prompt + (settings.max_new_tokens or 48)
        seconds = sum(_train_seconds(settings, n, params, tokens, speed) + answer_s for n in sizes)
        if sizes:
            label = f"{arm} data curve ({', '.join(map(str, sizes))} examples)"
            out[label] = round(seconds, 1)
    repeats = int(getattr(settings, "seeds", 1) or 1) - 1
    if repeats > 0:
        out[f"{arm} {repeats} more seed{'s' if repeats > 1 else ''}"] = round(repeats * arm_s, 1)
    return out


def _span(seconds: float) -> str:
    return f"~{seconds:.0f} s" if seconds < 120 else f"~{seconds / 60:.0f} min"


def millions(params: int) -> str:
    """Millions with one decimal under 10M (the built-in model is 0.4M), else whole."""
    return f"{params / 1e6:.1f}M" if params < 10_000_000 else f"{params / 1e6:.0f}M"


def describe_estimate(est: PilotEstimate) -> str:
    return describe_estimate_dict(est.to_dict())


def describe_estimate_dict(est: dict[str, Any]) -> str:
    """One line for the terminal and the app, from an estimate as results.json keeps it."""
    seconds = float(est.get("seconds") or 0)
    span = f"~{seconds:.0f} s" if seconds < 120 else f"~{seconds / 60:.0f} min"
    memory_gb = float(est.get("peak_memory_mb") or 0) / 1000
    extra_seconds = est.get("extra_seconds") or {}
    extra = ""
    if extra_seconds:
        parts = "; ".join(f"{k} {_span(v)}" for k, v in extra_seconds.items())
        extra = f" Included: {parts}."
    return (
        f"Estimated time {span}, peak memory ~{memory_gb:.1f} GB "
        f"({est.get('assumptions', '')}).{extra}"
    )
