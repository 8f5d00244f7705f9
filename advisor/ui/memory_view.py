"""Before a pilot starts: what it will cost here, and what finetuning the model costs anyway.

Two different questions, shown side by side: the pilot's own time and memory on this
machine (``advisor.pilot.estimate``), and the training memory of full / LoRA / QLoRA for the
chosen model (``advisor.memory``, the chapter's memory math), compared with the GPU the
questionnaire says the team has.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from advisor.decide.questionnaire import Answers
from advisor.errors import AdvisorError
from advisor.memory import estimate_memory, shape_from_config, shape_from_params_b
from advisor.memory.shapes import default_targets
from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL
from advisor.pilot.context import PilotSettings
from advisor.pilot.estimate import DEFAULT_PARAMS, describe_estimate, estimate_pilot
from advisor.ui.widgets import escape_md


def _tiny_config() -> dict[str, Any]:
    from advisor.models.tiny import TinySpec, tiny_config_values

    spec = TinySpec()
    return tiny_config_values(spec, spec.vocab_size)


def model_config(ref: str | None) -> tuple[Any, str] | None:
    """A config (dict or path) for the model, and where it came from; None when not on disk."""
    ref = ref or DEFAULT_MODEL
    if ref == BUILTIN_MODEL:
        return _tiny_config(), "the built-in model's shape"
    folder = Path(ref).expanduser()
    if (folder / "config.json").is_file():
        return folder / "config.json", f"{folder / 'config.json'}"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref, "config.json")
    except Exception:  # not a repo id, or no hub library: just no config
        cached = None
    if isinstance(cached, str) and Path(cached).is_file():
        return cached, f"{ref}'s config.json in the local Hugging Face cache"
    return None


def _gb(value: float) -> str:
    """Three significant digits: the built-in model needs kB, a 70B model hundreds of GB."""
    return f"{value:.3g}"


def memory_rows(settings: PilotSettings, answers: Answers) -> tuple[list[dict[str, Any]], str]:
    """Training memory per method for the chosen model, and what the shape rests on."""
    found = model_config(settings.model)
    if found is not None:
        shape, where = shape_from_config(found[0]), found[1]
    elif settings.model_ref == DEFAULT_MODEL:
        shape = shape_from_params_b(DEFAULT_PARAMS / 1e9)
        where = f"the default model's size ({DEFAULT_PARAMS / 1e6:.0f}M parameters)"
    else:
        shape = shape_from_params_b(answers.model_params_b)
        where = (
            f"no config.json on disk for {settings.model_ref}: sized from the questionnaire's "
            f"{answers.model_params_b:g}B parameters"
        )
    lora = settings.lora
    if isinstance(lora.target_modules, str) and lora.target_modules == "auto":
        targets: Any = default_targets(shape, "attention")
    else:
        targets = lora.target_modules
    gpu = answers.gpu_memory_gb
    fits_col = f"fits your {gpu:g} GB GPU" if gpu else "fits your GPU"
    rows = []
    for method in ("full", "lora", "qlora"):
        est = estimate_memory(
            shape,
            method=method,
            dtype="bf16",
            optimizer="adamw",
            batch_size=lora.batch_size,
            seq_len=lora.max_seq_len,
            lora_rank=lora.rank,
            target_modules=None if method == "full" else targets,
            optimizer_convention="mixed",
        )
        rows.append(
            {
                "method": method,
                "trainable params": f"{est.trainable_params:,}",
                "weights (GB)": _gb(est.weights_gb),
                "gradients + optimizer (GB)": _gb(est.gradients_gb + est.optimizer_gb),
                "activations (GB)": _gb(est.activations_gb),
                "total to train (GB)": _gb(est.total_train_gb),
                fits_col: ("yes" if est.fits(gpu) else "no") if gpu else "none given",
            }
        )
    return rows, where


def memory_panel(settings: PilotSettings, answers: Answers, runs: str | None = None) -> None:
    """Estimates before Start; ``runs`` is the model that will really answer (the built-in
    one when the default model cannot be had), which the time estimate is for."""
    st.markdown("**Estimates before you start**")
    est_settings = settings
    if runs is not None and runs != (settings.model or DEFAULT_MODEL):
        est_settings = replace(settings, model=runs)
    try:
        st.info(describe_estimate(estimate_pilot(est_settings)), icon=":material/timer:")
    except (AdvisorError, ValueError, OSError) as exc:
        st.caption(escape_md(f"No time estimate: {exc}"))
    try:
        rows, where = memory_rows(settings, answers)
    except AdvisorError as exc:
        st.caption(escape_md(f"No memory estimate for this model: {exc}"))
        return
    st.caption(
        f"Finetuning memory for this model (bf16, AdamW, mixed precision, batch "
        f"{settings.lora.batch_size} x {settings.lora.max_seq_len} tokens, LoRA rank "
        f"{settings.lora.rank}; GB = 1e9 bytes). Shape from {escape_md(where)}."
    )
    st.dataframe(rows, hide_index=True, width="stretch")
