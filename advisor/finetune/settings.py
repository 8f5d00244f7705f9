"""What a LoRA run is asked to do: its settings and its training pairs.

Why apart from the loop: the pilot's settings, the CLI's flags, the app's widgets and the
batching code all need these types, and none of them should import the training loop (and,
through it, torch) to get them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from advisor.settings_help import documented

__all__ = ["PRECISIONS", "LoraSettings", "TrainPair"]

PRECISIONS = ("auto", "fp32", "bf16")
# The built-in tiny model starts from random weights: it needs a bigger step to move at all
# in a few epochs (a real model keeps LoraSettings.learning_rate).
SMOKE_LEARNING_RATE = 3e-3


@dataclass(frozen=True)
class LoraSettings:
    rank: int = documented(8, "LoRA rank r: 4-16 is plenty for a pilot (framework §8)")
    alpha: int = documented(16, "updates are scaled by alpha / r; 2r is usual")
    # 0: dropout's random masks cost ~20% of a CPU training step (experiments/README.md);
    # the pilot guards overfitting with early stopping on the validation loss instead
    dropout: float = 0.0
    target_modules: tuple[str, ...] | str = documented(
        "auto",
        "auto = every attention projection (q, k, v, o), which tends to beat a larger rank "
        "on fewer matrices; all-linear adds the MLP",
    )
    learning_rate: float = documented(
        2e-4, "LoRA tolerates ~1e-4 to 5e-4 (framework §9); the built-in model needs more"
    )
    epochs: int = documented(
        3, "passes over the training data; early stopping on validation loss guards overfit"
    )
    max_steps: int | None = documented(None, "a hard cap on optimizer steps (none by default)")
    batch_size: int = documented(8, "training examples per forward pass")
    grad_accum: int = 1  # effective batch = batch_size * grad_accum
    prompt_loss_weight: float = documented(
        0.0, "0 = learn from the responses only; the chapter cites 0.1 as common"
    )
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
