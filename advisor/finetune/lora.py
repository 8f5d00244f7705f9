"""LoRA finetuning with peft: the pilot's ``lora`` and ``lora_rag`` arms.

Why our own loop rather than ``transformers.Trainer``: the pilot needs a prompt-loss weight
(the chapter's "prompt loss weight", 0 = train on responses only), a validation loss per
epoch with early stopping that restores the best adapter, padding by length buckets, and
a progress callback, on a 2-core CPU where Trainer's overhead is a large share of the time.
The loop is ~80 lines and every piece of it is tested.

Framework references: chapter 7 section 8 (LoRA: W + (alpha/r) B A, q/k/v/o targets) and
section 9 (LoRA tolerates learning rates around 1e-4 to 5e-4; more epochs for small sets;
stop when validation loss rises). Hu et al. 2021, "LoRA".
"""

from __future__ import annotations

import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advisor.finetune.batches import (
    _autocast,
    _batches,
    _collate,
    _encode,
    _weighted_loss,
    resolve_precision,
)
from advisor.resources import PeakMemory

# Attention projections by family; "auto" adapts every one the model has (framework §8:
# all attention matrices beat a larger rank on fewer).
_ATTENTION_NAMES = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "qkv_proj",
    "c_attn",
    "query",
    "key",
    "value",
)

ProgressFn = Callable[[int, int, dict[str, float]], None]

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 8  # 4-16 is plenty for a pilot (framework §8)
    alpha: int = 16  # update scaled by alpha / rank; alpha = 2r is a common choice
    # 0: dropout's random masks cost ~20% of a CPU training step (experiments/README.md);
    # the pilot guards overfitting with early stopping on the validation loss instead
    dropout: float = 0.0
    target_modules: tuple[str, ...] | str = "auto"  # "auto" = every attention projection
    learning_rate: float = 2e-4  # LoRA tolerates ~1e-4..5e-4 (framework §9)
    epochs: int = 3  # small data wants several passes; early stopping guards overfit
    max_steps: int | None = None  # a hard cap on optimizer steps (benchmarks, smoke runs)
    batch_size: int = 8  # examples per forward pass
    grad_accum: int = 1  # effective batch = batch_size * grad_accum
    prompt_loss_weight: float = 0.0  # 0 = responses only; the chapter cites 0.1 as common
    early_stopping_patience: int = 1  # epochs without validation improvement before stop
    max_seq_len: int = 512  # prompt is cut from the left beyond this; response kept
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05  # linear warmup share of total steps
    gradient_checkpointing: bool = False  # trades compute for activation memory
    precision: str = "auto"  # "auto" = bf16 autocast where the CPU has native bf16, else fp32
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {
            "rank": self.rank,
            "alpha": self.alpha,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
            "max_seq_len": self.max_seq_len,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer (not {value!r})")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive or None (not {self.max_steps!r})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1) (not {self.dropout!r})")
        if not 0.0 < self.learning_rate < 1.0:
            raise ValueError(f"learning_rate must be in (0, 1) (not {self.learning_rate!r})")
        if not 0.0 <= self.prompt_loss_weight <= 1.0:
            raise ValueError(
                f"prompt_loss_weight must be in [0, 1] (not {self.prompt_loss_weight!r})"
            )
        if self.early_stopping_patience < 0:
            raise ValueError(
                f"early_stopping_patience must be >= 0 (not {self.early_stopping_patience!r})"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)} (not {self.precision!r})"
            )
        if isinstance(self.target_modules, str) and self.target_modules not in (
            "auto",
            "all-linear",
        ):
            raise ValueError(
                "target_modules must be 'auto', 'all-linear' or a tuple of module names "
                f"(not {self.target_modules!r})"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["target_modules"] = (
            list(self.target_modules)
            if not isinstance(self.target_modules, str)
            else self.target_modules
        )
        return d


@dataclass(frozen=True)
class TrainPair:
    """One training example: the exact prompt the generator will see, and the answer."""

    prompt: str
    response: str


@dataclass
class TrainResult:
    seconds: float
    trainable_params: int
    total_params: int
    final_loss: float  # last epoch's mean training loss
    train_loss: list[float] = field(default_factory=list)  # per epoch
    val_loss: list[float] = field(default_factory=list)  # per epoch (before training first)
    best_epoch: int = 0
    steps: int = 0
    tokens: int = 0  # tokens processed in training forward passes
    peak_memory_mb: float = 0.0
    adapter_dir: str | None = None
    target_modules: list[str] = field(default_factory=list)
    stopped_early: bool = False
    precision: str = "fp32"  # what "auto" resolved to on this machine

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_target_modules(model: Any, wanted: tuple[str, ...] | str) -> list[str] | str:
    """Names of the Linear (or GPT-2 Conv1D) layers LoRA will adapt in this model."""
    if wanted == "all-linear":
        return "all-linear"
    present = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if type(module).__name__ in ("Linear", "Conv1D")
    }
    if wanted == "auto":
        chosen = [n for n in _ATTENTION_NAMES if n in present]
        if not chosen:
            raise ValueError(
                "no attention projections found for LoRA; pass target_modules explicitly "
                f"(linear layers in this model: {sorted(present)})"
            )
        return chosen
    missing = [n for n in wanted if n not in present]
    if missing:
        raise ValueError(
            f"target_modules {missing} are not linear layers of this model "
            f"(available: {sorted(present)})"
        )
    return list(wanted)


def evaluate_loss(
    model: Any, tokenizer: Any, pairs: Sequence[TrainPair], settings: LoraSettings
) -> float:
    """Response-token loss on held-out pairs (prompt weight 0: what the user cares about)."""
    import torch

    if not pairs:
        return float("nan")
    eval_settings = LoraSettings(
        **{**settings.to_dict(), "target_modules": "auto", "prompt_loss_weight": 0.0}
    )
    encoded = [_encode(tokenizer, p, eval_settings) for p in pairs]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    num = den = 0.0
    with torch.inference_mode(), _autocast(resolve_precision(settings.precision)):
        for idx in _batches(encoded, settings.batch_size, None):
            ids, mask, weights = _collate(encoded, idx, pad)
            loss, count = _weighted_loss(model, ids, mask, weights)
            num += float(loss) * count
            den += count
    if was_training:
        model.train()
    return num / den if den else float("nan")


def train_lora(
    model: Any,
    tokenizer: Any,
    train: Sequence[TrainPair],
    validation: Sequence[TrainPair],
    settings: LoraSettings,
    out_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> tuple[Any, TrainResult]:
    """Wrap ``model`` with LoRA, train it, keep the best epoch; return (peft model, result).

    The adapter is saved as safetensors in ``out_dir`` when given. The base model's weights
    are untouched (peft injects adapters; ``peft_model.unload()`` gives the base back).
    """
    import torch
    from peft import LoraConfig, get_peft_model

    from advisor.runtime import configure_threads

    if not train:
        raise ValueError("train_lora needs at least one training pair")
    configure_threads()
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)

    targets = resolve_target_modules(model, settings.target_modules)
    precision = resolve_precision(settings.precision)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft calls a transformers property deprecated in v5; nothing for the user to do
        warnings.filterwarnings("ignore", category=FutureWarning)
        peft_model = get_peft_model(model, config)
    if settings.gradient_checkpointing:
        peft_model.gradient_checkpointing_enable()
        peft_model.enable_input_require_grads()
    trainable, total = peft_model.get_nb_trainable_parameters()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=settings.learning_rate, weight_decay=settings.weight_decay
    )

    encoded = [_encode(tokenizer, p, settings) for p in train]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    steps_per_epoch = math.ceil(math.ceil(len(encoded) / settings.batch_size) / settings.grad_accum)
    total_steps = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    warmup = max(1, int(total_steps * settings.warmup_ratio))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        remaining = max(1, total_steps - warmup)
        return max(0.0, 1.0 - (step - warmup) / remaining)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    result = TrainResult(0.0, int(trainable), int(total), float("nan"))
    result.target_modules = list(targets) if not isinstance(targets, str) else [targets]
    result.precision = precision
    best_state: dict[str, Any] | None = None
    best_val = float("inf")
    bad_epochs = 0
    step = 0

    with PeakMemory() as pm:
        t0 = time.perf_counter()
        if validation:
            best_val = evaluate_loss(peft_model, tokenizer, validation, settings)
            result.val_loss.append(best_val)
            best_state = _adapter_state(peft_model)
        peft_model.train()
        for epoch in range(settings.epochs):
            epoch_num = epoch_den = 0.0
            batches = _batches(encoded, settings.batch_size, rng)
            optimizer.zero_grad(set_to_none=True)
            for b, idx in enumerate(batches):
                ids, mask, weights = _collate(encoded, idx, pad)
                with _autocast(precision):
                    loss, count = _weighted_loss(peft_model, ids, mask, weights)
                (loss / settings.grad_accum).backward()
                epoch_num += float(loss.detach()) * count
                epoch_den += count
                result.tokens += int(mask.sum())
                if (b + 1) % settings.grad_accum == 0 or b == len(batches) - 1:
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    step += 1
                    if progress:
                        progress(step, total_steps, {"loss": float(loss.detach()), "epoch": epoch})
                    if step >= total_steps:
                        break
            result.train_loss.append(epoch_num / max(epoch_den, 1e-8))
            if validation:
                val = evaluate_loss(peft_model, tokenizer, validation, settings)
                result.val_loss.append(val)
                if val < best_val - 1e-6:
                    best_val, bad_epochs = val, 0
                    best_state = _adapter_state(peft_model)
                    result.best_epoch = epoch + 1
                else:
                    bad_epochs += 1
                    if bad_epochs > settings.early_stopping_patience:
                        result.stopped_early = True
                        break
            else:
                result.best_epoch = epoch + 1
            if step >= total_steps:
                break
        if best_state is not None and validation:
            _load_adapter_state(peft_model, best_state)
        result.seconds = time.perf_counter() - t0
    peft_model.eval()
    result.steps = step
    result.final_loss = result.train_loss[-1] if result.train_loss else float("nan")
    result.peak_memory_mb = pm.peak_mb
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        peft_model.save_pretrained(str(out), safe_serialization=True)
        result.adapter_dir = str(out)
    return peft_model, result


def _adapter_state(peft_model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in peft_model.named_parameters() if v.requires_grad}


def _load_adapter_state(peft_model: Any, state: dict[str, Any]) -> None:
    import torch

    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if name in state:
                param.copy_(state[name])


def load_adapter(model: Any, adapter_dir: str | Path) -> Any:
    """Attach a saved adapter (safetensors) to a base model for generation."""
    from peft import PeftModel

    path = Path(adapter_dir)
    if not (path / "adapter_model.safetensors").exists():
        from advisor.errors import ModelLoadError

        raise ModelLoadError(f"no adapter_model.safetensors in {path}: train the adapter first")
    peft_model = PeftModel.from_pretrained(model, str(path), is_trainable=False)
    peft_model.eval()
    return peft_model
