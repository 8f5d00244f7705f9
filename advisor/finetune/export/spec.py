"""From a finetuning plan (and a pilot that worked) to one tool-neutral training spec.

Why a neutral spec: TRL, Axolotl and LLaMA-Factory name the same knobs differently
(``lora_r`` / ``r`` / ``lora_rank``); deciding the values once and translating them three
times keeps the three exports in agreement. Where a value comes from is recorded in
``sources`` and shown in each export's README, so a user knows what is the plan's starting
point (framework §9) and what their own pilot confirmed.

Precedence: the plan decides the method, target modules, sequence length, micro batch and
gradient checkpointing (they follow its memory estimate); a pilot run whose LoRA arm
finished on a real model (not the built-in smoke model) supplies rank, alpha, dropout,
learning rate, warmup, prompt-loss choice and seed, because those were tried on this data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.pilot.rundir import read_json

METHODS = ("full", "lora", "qlora")
EFFECTIVE_BATCH = 16  # examples per optimizer step; larger is steadier (framework §9)
DEFAULT_SEQ_LEN = 512


@dataclass(frozen=True)
class TrainingSpec:
    model: str  # hub id or local folder of the model to train
    method: str  # full, lora or qlora (QLoRA = 4-bit NF4 base + 16-bit adapters)
    rank: int = 8  # LoRA rank; 4-64 is common (framework §8)
    alpha: int = 16  # update scaled by alpha / rank
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    learning_rate: float = 2e-4  # LoRA tolerates ~1e-4..5e-4; full wants ~1e-5
    epochs: int = 3  # few for millions of examples, more for thousands (framework §9)
    seq_len: int = DEFAULT_SEQ_LEN  # the plan's memory estimate assumed this length
    micro_batch_size: int = 1  # per device: what the plan found fits in memory
    grad_accum: int = EFFECTIVE_BATCH  # effective batch = micro x accum x devices
    gradient_checkpointing: bool = False  # the plan turns it on only when needed to fit
    bf16: bool = True  # the plan's estimates assume 16-bit weights
    train_on_prompt: bool = False  # pilot's prompt_loss_weight > 0 (tools take no fraction)
    warmup_ratio: float = 0.05
    seed: int = 0
    system_prompt: str = ""  # the pilot's task instruction, the system turn of every example
    sources: dict[str, str] = field(default_factory=dict)  # value -> where it came from
    notes: tuple[str, ...] = ()  # what the user should check before training

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)} (not {self.method!r})")
        if not self.model or not isinstance(self.model, str):
            raise ValueError("model must be a Hugging Face model id or a local folder")
        for name in ("rank", "alpha", "epochs", "seq_len", "micro_batch_size", "grad_accum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer (not {value!r})")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1) (not {self.learning_rate!r})")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1) (not {self.dropout!r})")
        if self.method != "full" and not self.target_modules:
            raise ValueError("LoRA needs at least one target module (e.g. q_proj, v_proj)")

    @property
    def uses_lora(self) -> bool:
        return self.method in ("lora", "qlora")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["target_modules"] = list(self.target_modules)
        d["notes"] = list(self.notes)
        return d


def load_plan(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A finetune plan from a plan dict/file or a recommendation (its ``finetune_plan``)."""
    if isinstance(source, dict):
        data, where = source, "the plan"
    else:
        path = Path(source)
        if not path.is_file():
            raise AdvisorError(
                f"plan file {str(path)!r} not found: give the JSON of `advisor recommend --json` "
                "or of a finetune plan"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise AdvisorError(f"plan file {str(path)!r} is not valid JSON ({exc})") from None
        where = repr(str(path))
    if not isinstance(data, dict):
        raise AdvisorError(f"{where} must hold a JSON object (a plan or a recommendation)")
    if "finetune_plan" in data:
        plan = data["finetune_plan"]
        if not plan:
            raise AdvisorError(
                f"{where} has no finetune plan (finetune_plan is null: no method fits the "
                "stated GPU memory); re-run `advisor recommend` with more gpu_memory_gb or a "
                "smaller model_params_b"
            )
        data = plan
    if not isinstance(data, dict) or "method" not in data:
        raise AdvisorError(
            f"{where} is neither a finetune plan (with 'method', 'rank', ...) nor a "
            "recommendation (with 'finetune_plan')"
        )
    if data.get("method") not in METHODS:
        raise AdvisorError(
            f"{where}: method must be one of {', '.join(METHODS)} (not {data.get('method')!r}); "
            "a plan with no method means nothing fits the GPU memory"
        )
    return data


def _get(plan: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = plan.get(key, default)
    if value is None:
        return default
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise AdvisorError(f"plan field {key!r} must be {kind.__name__} (not {value!r})")
    return value


def _pilot(run_dir: str | Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if run_dir is None:
        return {}, {}
    run = Path(run_dir)
    settings = read_json(run / "settings.json")
    if not isinstance(settings, dict):
        raise AdvisorError(
            f"{run} is not a pilot run folder (no settings.json): pass --run RUN_DIR"
        )
    return settings, read_json(run / "results.json") or {}


def _system_prompt(settings: dict[str, Any]) -> str:
    from advisor.pilot.prompts import system_message

    hint = None
    if settings.get("format"):
        try:
            from advisor.evaluation.metrics import FormatSpec

            hint = FormatSpec.from_user(settings["format"]).prompt_hint()
        except Exception:  # a schema file that moved: the task alone still trains fine
            hint = None
    return system_message(settings.get("task") or "", hint)


def build_spec(
    plan: dict[str, Any], run_dir: str | Path | None = None, model: str | None = None
) -> TrainingSpec:
    """The spec for ``plan`` (see :func:`load_plan`), refined by a pilot run if given."""
    from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL

    plan = load_plan(plan)
    settings, results = _pilot(run_dir)
    method = plan["method"]
    est = (plan.get("estimates") or {}).get(method) or {}
    sources = dict.fromkeys(
        (
            "method",
            "target_modules",
            "seq_len",
            "micro_batch_size",
            "gradient_checkpointing",
            "epochs",
            "rank",
            "alpha",
            "dropout",
            "learning_rate",
        ),
        "plan",
    )
    notes: list[str] = []
    pilot_model = settings.get("model") or (DEFAULT_MODEL if settings else None)
    if model:
        sources["model"] = "--model"
    elif pilot_model and pilot_model != BUILTIN_MODEL:
        model, sources["model"] = pilot_model, "pilot run"
        notes.append(
            f"The model is the pilot's ({model}); the plan was sized for about "
            f"{plan.get('params_b', '?')}B parameters. Pass --model for the model you will train."
        )
    else:
        raise AdvisorError(
            "which model should the export train? pass --model with a Hugging Face id or a "
            "local folder (the pilot, if any, ran on the built-in smoke model)"
        )
    values: dict[str, Any] = {
        "rank": _get(plan, "rank", int, 8),
        "alpha": _get(plan, "alpha", int, 2 * _get(plan, "rank", int, 8)),
        "dropout": _get(plan, "lora_dropout", float, 0.05),
        "learning_rate": _get(plan, "learning_rate", float, 2e-4),
        "epochs": _get(plan, "epochs", int, 3),
        "gradient_checkpointing": bool(
            est.get("gradient_checkpointing", plan.get("gradient_checkpointing", False))
        ),
        "seq_len": _get(est, "seq_len", int, DEFAULT_SEQ_LEN),
        "micro_batch_size": _get(est, "batch_size", int, 1),
        "bf16": str(est.get("dtype", "bf16")).lower() in ("bf16", "bfloat16"),
    }
    targets = tuple(plan.get("target_modules") or ())
    lora_ok = any(
        (results.get("arms") or {}).get(a, {}).get("status") == "ok" for a in ("lora", "lora_rag")
    )
    smoke = bool(results.get("smoke")) or settings.get("model") == BUILTIN_MODEL
    lora = settings.get("lora") or {}
    if lora and lora_ok and not smoke:
        for key, name in (
            ("rank", "rank"),
            ("alpha", "alpha"),
            ("dropout", "dropout"),
            ("learning_rate", "learning_rate"),
        ):
            if lora.get(name) is not None:
                values[key] = lora[name]
                sources[key] = "pilot run (its LoRA arm finished)"
        values["warmup_ratio"] = lora.get("warmup_ratio", 0.05)
        values["seed"] = lora.get("seed", 0)
        values["train_on_prompt"] = float(lora.get("prompt_loss_weight") or 0) > 0
        sources["train_on_prompt"] = "pilot run"
        if values["train_on_prompt"]:
            notes.append(
                f"The pilot weighted prompt tokens by {lora.get('prompt_loss_weight')}; these "
                "tools train on the prompt fully or not at all, so the export trains on it."
            )
    elif lora:
        why = "it was a smoke run on the built-in model" if smoke else "its LoRA arm did not finish"
        notes.append(f"LoRA settings come from the plan, not the pilot: {why}.")
    if settings:
        sources["system_prompt"] = "pilot run (task)"
    sources["grad_accum"] = f"effective batch {EFFECTIVE_BATCH} / micro batch"
    sources["bf16"] = "plan (dtype)"
    return TrainingSpec(
        model=model,
        method=method,
        target_modules=targets or TrainingSpec.target_modules,
        grad_accum=max(1, EFFECTIVE_BATCH // values["micro_batch_size"]),
        system_prompt=_system_prompt(settings),
        sources=sources,
        notes=tuple(notes),
        **values,
    )
