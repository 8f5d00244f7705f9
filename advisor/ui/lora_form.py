"""The Pilot page's LoRA settings: the knobs of the finetuning arms, in one expander.

Why its own module: the Pilot page is long already, and these widgets only map onto
:class:`~advisor.finetune.settings.LoraSettings` (their help texts are that dataclass's, the
ones ``advisor pilot --help`` prints).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from advisor.finetune.settings import LoraSettings
from advisor.settings_help import help_for


def _lora_help(name: str, *, default: bool = True) -> str:
    return help_for(LoraSettings, name, default=default)


def _on_rank() -> None:
    st.session_state["p__alpha"] = 2 * int(st.session_state["p__rank"])  # alpha = 2r


def lora_choice() -> dict[str, Any]:
    with st.expander("LoRA settings (used by the finetuning arms)"):
        c1, c2, c3 = st.columns(3)
        rank = c1.selectbox(
            "Rank r", [4, 8, 16, 32, 64], key="p__rank", on_change=_on_rank, help=_lora_help("rank")
        )
        alpha = c2.number_input(
            "Alpha", 1, 1024, key="p__alpha", help=_lora_help("alpha", default=False)
        )
        epochs = c3.number_input("Epochs", 1, 50, key="p__epochs", help=_lora_help("epochs"))
        c4, c5, c6 = st.columns(3)
        lr = c4.number_input(
            "Learning rate",
            1e-6,
            0.5,
            format="%.5f",
            key="p__lr",
            help=_lora_help("learning_rate", default=False),
        )
        batch = c5.number_input(
            "Batch size", 1, 256, key="p__lbatch", help=_lora_help("batch_size")
        )
        max_steps = c6.number_input("Max steps (0 = no cap)", 0, 100_000, key="p__max_steps")
        c7, c8 = st.columns(2)
        targets = c7.selectbox(
            "Target modules",
            ["auto", "all-linear"],
            key="p__targets",
            help=_lora_help("target_modules", default=False),
        )
        plw = c8.slider(
            "Prompt loss weight",
            0.0,
            1.0,
            step=0.05,
            key="p__plw",
            help=_lora_help("prompt_loss_weight", default=False),
        )
    return {
        "rank": int(rank),
        "alpha": int(alpha),
        "epochs": int(epochs),
        "learning_rate": float(lr),
        "batch_size": int(batch),
        "max_steps": int(max_steps) or None,
        "target_modules": targets,
        "prompt_loss_weight": float(plw),
    }
