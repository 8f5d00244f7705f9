"""Everything a pilot checks before it writes a byte, and what it writes once accepted.

Why apart from the runner: "validate everything first, write nothing until the run is
accepted" is what keeps a refused or failed run from costing the user anything (their
answers, their folder, their finished arms). So the data, the knowledge base, the arms,
the split, the format, the primary metric and the run folder (:mod:`advisor.pilot.runfolder`)
are all checked here, in that order, without touching the disk; :func:`accept` then writes
the settings first (which marks the folder as ours), the answers and the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.data.types import Split
from advisor.errors import AdvisorError, DataError
from advisor.pilot.context import PilotSettings
from advisor.pilot.rundir import atomic_write_json
from advisor.pilot.runfolder import (
    ResumePlan,
    check_out_folder,
    input_fingerprints,
    plan_resume,
    start_over,
)

# Words for a family of arms a user may type for --arms: named in the error, never guessed.
ARM_FAMILIES = {
    "prompting": "zero_shot, few_shot",
    "rag": "bm25_rag, faiss_rag",
    "finetune": "lora, lora_rag",
    "finetuning": "lora, lora_rag",
    "rag+finetune": "lora_rag",
}


def choose_arms(settings: PilotSettings, has_kb: bool) -> list[str]:
    """The arms to run, in workflow order; RAG arms need a knowledge base."""
    from advisor.pilot.arms import ARMS

    wanted = list(settings.arms) or list(ARMS)
    unknown = [a for a in wanted if a not in ARMS]
    if unknown:
        hints = [f"{a} -> {ARM_FAMILIES[a.lower()]}" for a in unknown if a.lower() in ARM_FAMILIES]
        raise AdvisorError(
            f"unknown arm(s) {', '.join(unknown)}: choose from {', '.join(ARMS)}"
            + (f" ({'; '.join(hints)})" if hints else "")
        )
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
        max_bytes=settings.max_bytes,
        max_rows=settings.max_rows,
    )
    documents = (
        load_knowledge_base(
            settings.kb, max_bytes=settings.max_bytes, max_documents=settings.max_documents
        )
        if settings.kb
        else []
    )
    if documents:
        check_doc_ids(exset.examples, documents)
    return exset, documents


def make_split(settings: PilotSettings, exset) -> Split:
    from advisor.data.load import split_examples

    try:
        s = split_examples(
            exset.examples,
            test_size=settings.test_size,
            validation_size=settings.validation_size,
            seed=settings.seed,
        )
    except DataError as exc:
        removed = getattr(exset, "removed_duplicates", 0)
        if not removed:
            raise
        raise DataError(
            f"{exc} Note: {removed} duplicate row(s) of {Path(settings.data).name} were "
            f"removed on loading (same input and output as an earlier row), leaving "
            f"{len(exset.examples)}."
        ) from None
    test = list(s.test)
    if settings.max_test is not None and len(test) > settings.max_test:
        test = test[: settings.max_test]
    return Split(list(s.train), list(s.validation), test, s.seed)


def _task_from_data(settings: PilotSettings, exset) -> PilotSettings:
    """A system prompt every conversation shares is the pilot's task, unless --task is given.

    Why in the settings: settings.json then records the task the arms were given, so a
    resume compares like with like and the exports write the same system turn.
    """
    from dataclasses import replace

    if not exset.task:
        return settings
    if not settings.task.strip():
        return replace(settings, task=exset.task)
    if settings.task.strip() != exset.task.strip():
        exset.warnings.append(
            "the data's system prompt was replaced by the task you gave (--task); leave the "
            "task empty to use the system prompt"
        )
    return settings


@dataclass
class PreparedPilot:
    """Everything checked before a pilot writes a byte: inputs, arms, split, run folder."""

    settings: PilotSettings  # as given, with the data's shared system prompt as the task
    exset: Any
    documents: list[Any]
    arms: list[str]
    split: Split
    format_spec: Any
    inputs: dict[str, Any]  # content hashes of the data, knowledge base and format file
    plan: ResumePlan


def prepare_pilot(settings: PilotSettings, force: bool = False) -> PreparedPilot:
    """Validate a pilot without writing anything: data, knowledge base, arms, split,
    format, primary metric and what may be done with the run folder (resume, start over
    or refuse; see :mod:`advisor.pilot.runfolder`). Raises AdvisorError saying what to fix."""
    from advisor.evaluation.formats import FormatSpec
    from advisor.retrieval.embeddings import check_embedder

    check_out_folder(settings.out)
    check_embedder(settings.embedder)
    exset, documents = _load_inputs(settings)
    settings = _task_from_data(settings, exset)
    arms = choose_arms(settings, bool(documents))
    split = make_split(settings, exset)
    if not split.test:
        raise DataError("no test examples after the split: add examples or raise --test-size")
    fmt = FormatSpec.from_user(settings.format) if settings.format else None
    _check_primary_metric(settings, split, fmt)
    try:
        inputs = input_fingerprints(settings, documents)
    except OSError as exc:
        raise DataError(f"cannot read {exc.filename}: {exc.strerror}") from None
    plan = plan_resume(settings.out, settings.to_dict(), inputs, force=force)
    return PreparedPilot(settings, exset, documents, arms, split, fmt, inputs, plan)


def _check_primary_metric(settings: PilotSettings, split: Split, fmt: Any) -> None:
    """A --primary-metric the pilot would not measure is refused before any arm runs."""
    from advisor.evaluation.metrics import METRICS

    name = settings.primary_metric
    if name is None:
        return
    info = METRICS[name]
    refs = [e.output for e in split.train + split.test]
    if "format_spec" in info.needs and fmt is None:
        raise AdvisorError(f"--primary-metric {name} needs --format; give one or pick another")
    if info.applies is not None and not info.applies(refs):
        raise AdvisorError(
            f"--primary-metric {name} does not apply to these outputs ({info.description}); "
            "pick another metric or leave it out to choose by the task's kind"
        )


def accept(
    prepared: PreparedPilot, settings: PilotSettings, answers: dict[str, Any] | None
) -> None:
    """The run is accepted: clear what a start-over discards, then write its settings
    (first, so a folder killed from here on is recognisably ours), answers and split."""
    plan = prepared.plan
    run_dir = plan.run_dir
    split = prepared.split
    try:
        if plan.restart:
            start_over(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        saved = {**settings.to_dict(), "inputs": prepared.inputs}
        atomic_write_json(run_dir / "settings.json", saved)
        if answers is not None:
            atomic_write_json(run_dir / "answers.json", answers)
        atomic_write_json(run_dir / "split.json", split.to_dict())
    except OSError as exc:
        where = exc.filename or run_dir
        raise AdvisorError(
            f"cannot write the run folder {run_dir} ({where}: {exc.strerror}); give a folder "
            "you can write to"
        ) from None
