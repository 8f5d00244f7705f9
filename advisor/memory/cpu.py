"""Peak resident memory of the pilot's own LoRA training on a CPU, from a model's shape.

Why apart from :mod:`advisor.memory.gpu`: that module is the chapter's bill for
planning a GPU run (Korthikanti et al. 2022 activations with dropout masks and the s x s
attention matrix, full fp32 logits, no allocator). The pilot's loop on a CPU stores less
and its allocator keeps more, and "will the pilot fit on this laptop?" needs the figure a
process monitor will show (peak RSS), not the textbook one. Measured on SmolLM2-135M and
Qwen2.5-0.5B shapes over 12 runs (experiments/README.md, "Memory prediction"), the
chapter's total was -25% to +67% off the peak RSS; this model's was within +-10%.

What it counts, per the pilot's loop (``advisor.finetune.lora``: peft LoRA on a frozen base,
SDPA attention, bf16 autocast where the CPU has native bf16, logits only where the next
token carries loss); GB = 1e9 bytes, c = bytes per activation (2 under bf16, 4 in fp32):

- weights: every base parameter in the dtype it was loaded in;
- adapters: LoRA A and B in fp32 (peft upcasts them), their gradients and two AdamW
  states: 16 bytes per trainable parameter;
- activations: what autograd keeps for the backward pass, per layer and token, for a
  Llama-style block (RMSNorm, gated MLP, grouped-query SDPA), c = 2 under bf16 autocast:
  each norm's fp32 input (4h each); the block input the q/k/v adapters read and
  o_proj's input (3 c h + c q_dim under bf16, c h + c q_dim in fp32, where the casts are
  no-ops and SDPA's output is o_proj's input); SDPA's query and output (one storage in
  fp32) and keys and values (2 c kv_dim; in a padded batch, the usual case, transformers
  passes SDPA a mask, expands the grouped keys and values to every head, 2 c q_dim, and
  each layer keeps its b x s x s mask, c s per token); the gated MLP's gate, activation
  and up outputs (3 c I); the MLP input adapters on gate/up read (2 c h bf16, c h fp32)
  and down_proj's input (c I) when adapted; each adapter's rank-wide output. Once per
  batch: rotary cos and sin. bf16 autocast also keeps bf16 copies of the fp32 adapters
  and of fp32 frozen weights. Tested against ``torch.autograd.graph.saved_tensors_hooks``
  on Llama models of several shapes (tests/test_memory_cpu.py). GPT-2 and BERT blocks
  (LayerNorm, GELU, dropout) are not measured: they fall back to the chapter's
  Korthikanti figure. With gradient checkpointing each layer keeps its c x h input and
  one layer is recomputed at a time;
- logits: 12 bytes per kept position and vocabulary entry (the fp32 log-softmax autograd
  keeps, plus the fp32 gradients of the backward pass; measured 11.5 with bf16);
- set-up: SETUP_BYTES for what the first forward and peft's wrapping leave behind;
- allocator: glibc keeps freed heap blocks for reuse, so the forward pass's short-lived
  tensors (the norms' fp32 temporaries, residual sums, rotary products) stay resident
  after they die. Measured over 6-step runs: RETAINED_ACTIVATIONS x c x h bytes per
  layer and token, for both model sizes and both precisions (see the constant; with
  gradient checkpointing RETAINED_ACTIVATIONS_CHECKPOINTED, measured on one model). A
  process whose allocator returns freed memory (``MALLOC_MMAP_THRESHOLD_``) peaks near
  weights + adapters + activations + logits + set-up.

Not counted: the Python process, torch and the other libraries before the model loads
(``advisor.pilot.estimate`` adds them for a whole pilot), and the KV cache of generation, which
is not live during training.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from advisor.errors import AdvisorError
from advisor.memory.gpu import (
    GB,
    UNIT,
    _check_count,
    activation_bytes,
    normalize_dtype,
    rounded_gb,
)
from advisor.memory.params import (
    count_params,
    linear_layers,
    lora_trainable_params,
    resolve_targets,
)
from advisor.memory.shapes import ModelShape

__all__ = ["ADAPTER_BYTES_PER_PARAM", "LOGIT_BYTES", "RETAINED_ACTIVATIONS", "SETUP_BYTES"]
__all__ += ["CpuTrainingPeak", "estimate_cpu_training_peak", "saved_activation_bytes"]
__all__ += ["RETAINED_ACTIVATIONS_CHECKPOINTED", "weight_cast_bytes"]

ADAPTER_BYTES_PER_PARAM = 16  # fp32 weight + fp32 gradient + two fp32 AdamW states
LOGIT_BYTES = 12  # per kept position x vocabulary entry: fp32 log-softmax + fp32 grads
# Freed forward temporaries glibc keeps resident, as hidden-wide tensors of the compute
# dtype per layer and token: steady-state peak RSS minus live tensors over 6-step runs
# (experiments/README.md, "Memory prediction"): 20 (SmolLM2-135M, bf16), 21 (Qwen2.5-0.5B,
# bf16), 18-20 (SmolLM2-135M, fp32), batch x seq from 1x128 to 8x256.
RETAINED_ACTIVATIONS = 20
# With gradient checkpointing the layers run without saving, yet their temporaries still
# leave heap resident across all layers: 12 per layer and token (SmolLM2-135M, bf16,
# 4x128 and 8x232, 6 steps).
RETAINED_ACTIVATIONS_CHECKPOINTED = 12
# Set-up that does not grow with the batch: the first forward's kernel caches (23-27 MB
# over the weights after loading a checkpoint) and peft wrapping + optimizer (4-8 MB).
SETUP_BYTES = 30e6

Compute = Literal["bf16", "fp32"]


@dataclass(frozen=True)
class CpuTrainingPeak:
    """The parts of a LoRA training run's peak resident memory, in GB (1e9 bytes)."""

    weights_gb: float
    adapters_gb: float  # LoRA weights, gradients and AdamW states (fp32)
    activations_gb: float  # what autograd keeps for backward at the end of the forward
    logits_gb: float
    allocator_gb: float  # freed heap blocks glibc keeps resident
    setup_gb: float  # kernel caches of the first forward, peft and optimizer bookkeeping
    total_gb: float
    trainable_params: int
    total_params: int
    batch_size: int
    seq_len: int
    logit_positions: int
    compute: str
    weight_dtype: str
    gradient_checkpointing: bool
    measured_family: bool  # False: activations fell back to the chapter's formula
    conventions: tuple[str, ...]
    unit: str = UNIT

    def to_dict(self) -> dict[str, Any]:
        out = rounded_gb(asdict(self))
        out["conventions"] = list(self.conventions)
        return out


def _adapted(shape: ModelShape, target_modules: str | Iterable[str]) -> set[str]:
    """Short names (``q_proj``, ``down_proj``, ...) of the layers LoRA adapts."""
    return {layer.name.rsplit(".", 1)[-1] for layer in resolve_targets(shape, target_modules)}


def saved_activation_bytes(
    shape: ModelShape,
    batch_size: int,
    seq_len: int,
    compute: Compute,
    target_modules: str | Iterable[str],
    gradient_checkpointing: bool = False,
    padded: bool = True,
    lora_rank: int = 8,
) -> float:
    """Bytes autograd keeps for one batch in a LoRA-on-frozen-base run of a Llama-style
    decoder; see the module docstring for each term."""
    bf16 = compute == "bf16"
    c = 2 if bf16 else 4
    h, inter = shape.hidden_size, shape.intermediate_size
    q_dim = shape.num_heads * shape.head_dim
    kv_dim = shape.num_kv_heads * shape.head_dim
    adapted = _adapted(shape, target_modules)
    per_token = shape.norms_per_layer * 4 * h  # RMSNorm upcasts its input to fp32
    if shape.qk_norm:
        per_token += 4 * (q_dim + kv_dim)
    # in fp32 the casts are no-ops and SDPA's output is o_proj's input (one storage), so
    # fewer distinct tensors are kept than under bf16 autocast
    per_token += (3 if bf16 else 1) * c * h + c * q_dim  # block input, o_proj input
    per_token += (2 if bf16 else 1) * c * q_dim  # SDPA's query (and output, under bf16)
    per_token += 2 * c * q_dim + c * seq_len if padded else 2 * c * kv_dim
    per_token += 3 * c * inter  # gate, its activation, up
    if adapted & {"gate_proj", "up_proj"}:
        per_token += (2 if bf16 else 1) * c * h  # the MLP input the adapters read
    if "down_proj" in adapted:
        per_token += c * inter
    per_token += len(adapted) * lora_rank * c  # each adapter's rank-wide A output
    tokens = batch_size * seq_len
    rotary = tokens * 2 * c * shape.head_dim  # cos and sin, once for all layers
    if gradient_checkpointing:  # each layer's input, plus one layer recomputed at a time
        return tokens * (shape.num_layers * c * h + per_token) + rotary
    return tokens * shape.num_layers * per_token + rotary


def weight_cast_bytes(
    shape: ModelShape, weight_dtype: str, compute: Compute, trainable_params: int = 0
) -> float:
    """bf16 copies autocast makes and autograd keeps: of the fp32 adapters always, and of
    fp32 frozen weights too (2 bytes each), except the first layer's q/k/v, whose input
    comes from the frozen embedding and needs no gradient."""
    if compute != "bf16":
        return 0.0
    copies = 2.0 * trainable_params
    if normalize_dtype(weight_dtype) == "fp32":
        first = ("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj")
        first += ("model.layers.0.self_attn.v_proj",)
        copies += 2.0 * sum(
            x.in_features * x.out_features for x in linear_layers(shape) if x.name not in first
        )
    return copies


def estimate_cpu_training_peak(
    shape: ModelShape,
    batch_size: int,
    seq_len: int,
    weight_dtype: str = "bf16",
    compute: Compute = "bf16",
    lora_rank: int = 8,
    target_modules: str | Iterable[str] | None = None,
    logit_positions: int | None = None,
    gradient_checkpointing: bool = False,
    padded: bool = True,
) -> CpuTrainingPeak:
    """Peak RSS the pilot's LoRA loop adds to a process, from loading the model to the end
    of training, for its largest batch (``batch_size`` rows padded to ``seq_len``).

    ``logit_positions`` is how many positions per row get logits: with the default prompt
    loss weight 0 that is the longest response + 1; None means every position (a prompt
    loss weight above 0, or a trainer that computes full logits).
    ``target_modules=None`` is the pilot's default: every attention projection.
    ``padded=False`` when every row has the same length (no attention mask).
    """
    _check_count("batch_size", batch_size)
    _check_count("seq_len", seq_len)
    _check_count("lora_rank", lora_rank)
    if compute not in ("bf16", "fp32"):
        raise AdvisorError(f"compute must be bf16 or fp32 (not {compute!r})")
    weight_dtype = normalize_dtype(weight_dtype)
    if weight_dtype not in ("fp32", "bf16", "fp16"):
        raise AdvisorError(f"weight_dtype must be fp32, bf16 or fp16 (not {weight_dtype!r})")
    positions = seq_len if logit_positions is None else logit_positions
    _check_count("logit_positions", positions)
    positions = min(positions, seq_len)
    if target_modules is None:
        from advisor.memory.shapes import ATTENTION_TARGETS

        target_modules = ATTENTION_TARGETS[shape.family]
    trainable = lora_trainable_params(shape, lora_rank, target_modules)
    total = count_params(shape)
    weight_bytes = {"fp32": 4, "bf16": 2, "fp16": 2}[weight_dtype]
    tokens = batch_size * seq_len
    c = 2 if compute == "bf16" else 4
    measured = shape.family == "llama"
    if measured:
        saved = saved_activation_bytes(
            shape,
            batch_size,
            seq_len,
            compute,
            target_modules,
            gradient_checkpointing,
            padded,
            lora_rank,
        ) + weight_cast_bytes(shape, weight_dtype, compute, trainable)
    else:  # the chapter's upper-end figure, without its full-logits term
        saved = activation_bytes(shape, batch_size, seq_len, c, gradient_checkpointing) - (
            tokens * shape.vocab_size * 4 if shape.is_causal_lm else 0
        )
    logits = batch_size * positions * shape.vocab_size * LOGIT_BYTES if shape.is_causal_lm else 0
    kept = RETAINED_ACTIVATIONS_CHECKPOINTED if gradient_checkpointing else RETAINED_ACTIVATIONS
    retained = tokens * shape.num_layers * kept * c * shape.hidden_size
    parts = {
        "weights": total * weight_bytes,
        "adapters": trainable * ADAPTER_BYTES_PER_PARAM,
        "activations": saved,
        "logits": logits,
        "allocator": retained,
        "setup": SETUP_BYTES,
    }
    notes = (
        f"Weights: {total:,} parameters in {weight_dtype}; LoRA adapters, gradients and "
        f"AdamW states in fp32 ({ADAPTER_BYTES_PER_PARAM} bytes per trainable parameter).",
        (
            f"Activations: what autograd keeps in the pilot's loop with {compute} compute "
            "(Llama-style block, measured with saved-tensor hooks)"
            if measured
            else f"Activations: Korthikanti et al. 2022 (the {shape.family} block was not "
            "measured on the pilot's loop; an upper-end figure)"
        )
        + (", with gradient checkpointing." if gradient_checkpointing else "."),
        f"Logits: {positions} position(s) per row x {shape.vocab_size:,} x {LOGIT_BYTES} bytes.",
        f"Allocator: freed forward temporaries glibc keeps resident, "
        f"{kept} hidden-wide {compute} tensors per layer and token "
        "(measured); "
        f"set-up {SETUP_BYTES / 1e6:g} MB.",
    )
    return CpuTrainingPeak(
        **{f"{k}_gb": v / GB for k, v in parts.items()},
        total_gb=sum(parts.values()) / GB,
        trainable_params=int(trainable),
        total_params=int(total),
        batch_size=batch_size,
        seq_len=seq_len,
        logit_positions=positions,
        compute=compute,
        weight_dtype=weight_dtype,
        gradient_checkpointing=bool(gradient_checkpointing),
        measured_family=measured,
        conventions=notes,
    )
