"""Exports that continue the work elsewhere, one self-contained folder per format.

Why: the pilot answers "which approach?" on one small machine; the work goes on in the
tools teams already run. Training setups (``trl``, ``axolotl``, ``llamafactory``: the
finetune plan as a ready-to-run script or config with the data converted, for accelerate /
DeepSpeed / FSDP clusters) need a plan; the data alone (``chat_jsonl``, ``alpaca``,
``sharegpt``: the pilot's train/validation split, its test items held out) needs examples;
``promptfoo`` (the pilot's prompts, test split, metric and model as a promptfoo config)
needs a pilot run. Each folder holds a README with the command to run, so one folder can be
copied to another machine as is.

``export_training_setup(plan, "trl,axolotl", out_dir, data_path=..., run_dir=...)`` is what
``advisor export`` and the app call; it returns every file written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError, knob
from advisor.finetune.export import axolotl, llamafactory, promptfoo, trl
from advisor.finetune.export.dataset import (
    TrainingData,
    load_training_data,
    write_alpaca,
    write_messages_jsonl,
    write_sharegpt,
)
from advisor.finetune.export.openai_chat import chat_problems, check_chat_jsonl
from advisor.finetune.export.spec import METHODS, TrainingSpec, build_spec, load_plan
from advisor.pilot.rundir import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json

Writer = Callable[[TrainingSpec, TrainingData, Path], list[Path]]

# name -> (writer, main file, command to run it)
FORMATS: dict[str, tuple[Writer, str, str]] = {
    "trl": (trl.write, trl.SCRIPT, trl.RUN),
    "axolotl": (axolotl.write, axolotl.CONFIG, axolotl.RUN),
    "llamafactory": (llamafactory.write, llamafactory.CONFIG, llamafactory.RUN),
}


def _write_chat_jsonl(folder: Path, data: TrainingData, system: str) -> list[Path]:
    paths = [write_messages_jsonl(folder / "train.jsonl", data.train, system)]
    if data.eval:
        paths.append(write_messages_jsonl(folder / "validation.jsonl", data.eval, system))
    return paths


# name -> (writer, what the README says about using the files)
DATA_FORMATS: dict[str, tuple[Callable[[Path, TrainingData, str], list[Path]], str]] = {
    "chat_jsonl": (
        _write_chat_jsonl,
        "OpenAI chat JSONL (`messages` per line), checked against OpenAI's fine-tuning "
        "format rules: upload `train.jsonl` (and `validation.jsonl`) to a fine-tuning job, "
        "or load it in any tool that reads chat messages (TRL, Axolotl's chat_template).",
    ),
    "alpaca": (
        lambda folder, data, system: write_alpaca(folder, data, system, "validation"),
        "Alpaca JSON (instruction, input, output, system; earlier turns as `history`), "
        "registered in `dataset_info.json` for LLaMA-Factory (`dataset: advisor_train`, "
        "`eval_dataset: advisor_eval`, `dataset_dir:` this folder).",
    ),
    "sharegpt": (
        lambda folder, data, system: write_sharegpt(folder, data, system, "validation"),
        "ShareGPT JSON (`conversations` of `from`/`value` turns: system, human, gpt), "
        "registered in `dataset_info.json` for LLaMA-Factory; in Axolotl read it with "
        "`type: chat_template`, `field_messages: conversations` and "
        "`message_property_mappings: {role: from, content: value}`.",
    ),
}
ALL_FORMATS = (*FORMATS, *DATA_FORMATS, "promptfoo")


def parse_formats(fmt: str | Sequence[str]) -> list[str]:
    names = [f.strip().lower() for f in (fmt.split(",") if isinstance(fmt, str) else fmt)]
    names = [n for n in dict.fromkeys(names) if n]
    unknown = [n for n in names if n not in ALL_FORMATS]
    if unknown or not names:
        raise AdvisorError(
            f"unknown export format(s) {', '.join(unknown) or '(none given)'}: choose from "
            f"{', '.join(ALL_FORMATS)} (comma-separated for several)"
        )
    return names


def _readme(fmt: str, spec: TrainingSpec, data: TrainingData) -> str:
    _, main_file, command = FORMATS[fmt]
    lines = [
        f"# {fmt}: {spec.method} finetuning of {spec.model}",
        "",
        f"Written by `advisor export`. Main file: `{main_file}`. Run from this folder:",
        "",
        f"    {command}",
        "",
        f"Data: {data.describe()}.",
        "",
        "| setting | value | from |",
        "|---|---|---|",
    ]
    for key, value in spec.to_dict().items():
        if key in ("sources", "notes", "system_prompt"):
            continue
        if key in ("rank", "alpha", "dropout", "target_modules") and not spec.uses_lora:
            continue
        shown = ", ".join(value) if isinstance(value, list) else value
        lines.append(f"| {key} | {shown} | {spec.sources.get(key, 'default')} |")
    lines += ["", f"System prompt of every example: {spec.system_prompt!r}", ""]
    if fmt == "llamafactory":
        lines.append(
            f"Check `template: {llamafactory.guess_template(spec.model)}` matches your model's "
            "chat format (LLaMA-Factory's README lists the templates)."
        )
    lines += [f"- {note}" for note in spec.notes]
    lines.append(
        "\nStarting points, not tuned values: watch the loss curve (erratic: lower the learning "
        "rate; slow: raise it) and stop when the evaluation loss rises."
    )
    return "\n".join(lines) + "\n"


def _fit_batch(spec: TrainingSpec, n_train: int) -> TrainingSpec:
    """An effective batch larger than the data would leave no full optimizer step."""
    accum = max(1, min(spec.grad_accum, n_train // spec.micro_batch_size))
    return replace(spec, grad_accum=accum)


def _data_system_prompt(run_dir: str | Path | None, data: TrainingData) -> str:
    """The system turn of exported data: the pilot's task (as the training exports write
    it), else the system prompt the data shared, else none."""
    from advisor.finetune.export.spec import system_prompt

    settings = read_json(Path(run_dir) / "settings.json") if run_dir else None
    if isinstance(settings, dict):
        return system_prompt(settings)
    return data.task or ""


def _data_readme(fmt: str, data: TrainingData, files: list[Path]) -> str:
    names = ", ".join(f"`{p.name}`" for p in files)
    read = f" The examples were {data.read_as}." if data.read_as else ""
    return (
        f"# {fmt}: the pilot's training data\n\nWritten by `advisor export`: {names}.\n\n"
        f"{DATA_FORMATS[fmt][1]}\n\nData: {data.describe()}.{read}\n"
    )


def export_training_setup(
    plan: dict[str, Any] | str | Path | None,
    fmt: str | Sequence[str],
    out_dir: str | Path,
    data_path: str | Path | None = None,
    model: str | None = None,
    run_dir: str | Path | None = None,
    provider: str | None = None,
    force: bool = False,
) -> list[Path]:
    """Write each format's folder under ``out_dir``; returns the files written.

    ``plan``: a FinetunePlan dict, a recommendation dict (its ``finetune_plan``) or a JSON
    file of either; needed by the training formats only. ``run_dir``: a pilot run whose
    LoRA settings, task and split refine the plan (see :mod:`advisor.finetune.export.spec`);
    needed by ``promptfoo``. ``data_path`` defaults to the run's data file. ``provider``: the
    promptfoo provider id to evaluate with (default: the run's endpoint or model).

    Everything is written to a temporary folder first; a file already in ``out_dir`` with
    other content (a README the user edited, their own data) is never replaced unless
    ``force``: the export is refused, naming those files, and nothing is written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AdvisorError(f"{out} is a file: give the export a folder of its own")
    with tempfile.TemporaryDirectory(prefix="advisor-export-") as tmp:
        staged = _write_formats(plan, fmt, Path(tmp), data_path, model, run_dir, provider)
        relative = [path.relative_to(tmp) for path in staged]
        clashes = [r for r in relative if _replaces(out / r, Path(tmp) / r)]
        if clashes and not force:
            shown = ", ".join(str(out / r) for r in clashes[:5])
            more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
            raise AdvisorError(
                f"{out} already holds files the export would replace ({shown}{more}): export "
                f"to a new folder, or pass {knob('force') or 'force=True'} to overwrite them"
            )
        try:
            for rel in relative:
                atomic_write_bytes(out / rel, (Path(tmp) / rel).read_bytes())
        except OSError as exc:
            raise AdvisorError(f"could not write the export to {out}: {exc}") from None
    return [out / rel for rel in relative]


def _replaces(target: Path, new: Path) -> bool:
    """Writing ``new`` to ``target`` would replace something: a different file, a folder,
    or a file where a folder on the way should be."""
    if any(parent.exists() and not parent.is_dir() for parent in target.parents):
        return True
    if not target.exists() and not target.is_symlink():
        return False
    if not target.is_file() or target.is_symlink():
        return True
    return target.read_bytes() != new.read_bytes()


def _write_formats(
    plan: dict[str, Any] | str | Path | None,
    fmt: str | Sequence[str],
    out: Path,
    data_path: str | Path | None,
    model: str | None,
    run_dir: str | Path | None,
    provider: str | None,
) -> list[Path]:
    formats = parse_formats(fmt)
    training = [f for f in formats if f in FORMATS]
    if training and plan is None:
        raise AdvisorError(
            f"the {', '.join(training)} export(s) need a finetune plan: pass --plan with the "
            "JSON of `advisor recommend --json`"
        )
    if "promptfoo" in formats and run_dir is None:
        raise AdvisorError("the promptfoo export needs a pilot run: pass --run RUN_DIR")
    written: list[Path] = []
    data = None
    if training or any(f in DATA_FORMATS for f in formats):
        data = load_training_data(data_path, run_dir)
    for name in formats:
        folder = out / name
        try:
            if name in DATA_FORMATS:
                assert data is not None
                files = DATA_FORMATS[name][0](folder, data, _data_system_prompt(run_dir, data))
                readme = folder / "README.md"
                atomic_write_text(readme, _data_readme(name, data, files))
                written += [*files, readme]
            elif name == "promptfoo":
                written += promptfoo.write(run_dir, folder, provider, data_path)  # type: ignore[arg-type]
        except OSError as exc:
            raise AdvisorError(f"could not write the {name} export to {folder}: {exc}") from None
    if not training:
        return written
    assert plan is not None and data is not None
    spec = build_spec(load_plan(plan), run_dir=run_dir, model=model)
    spec = _fit_batch(spec, len(data.train))
    if run_dir is None and data.task:  # no pilot task: the conversations' own system prompt
        sources = {**spec.sources, "system_prompt": "the data's system prompt"}
        spec = replace(spec, system_prompt=data.task, sources=sources)
    for name in training:
        writer = FORMATS[name][0]
        folder = out / name
        try:
            written += writer(spec, data, folder)
            readme = folder / "README.md"
            atomic_write_text(readme, _readme(name, spec, data))
            written.append(readme)
        except OSError as exc:
            raise AdvisorError(f"could not write the {name} export to {folder}: {exc}") from None
    spec_path = out / "training_spec.json"
    atomic_write_json(spec_path, spec.to_dict())
    return [*written, spec_path]


def export_archive(
    plan: dict[str, Any] | str | Path,
    fmt: str | Sequence[str],
    data_path: str | Path | None = None,
    model: str | None = None,
    run_dir: str | Path | None = None,
) -> bytes:
    """The same export as a zip file's bytes, for a download button in the app."""
    import zipfile
    from io import BytesIO

    buffer = BytesIO()
    with tempfile.TemporaryDirectory(prefix="advisor-export-") as tmp:
        paths = export_training_setup(plan, fmt, tmp, data_path, model, run_dir)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, Path(path).relative_to(tmp).as_posix())
    return buffer.getvalue()


__all__ = [
    "ALL_FORMATS",
    "DATA_FORMATS",
    "FORMATS",
    "METHODS",
    "TrainingData",
    "TrainingSpec",
    "build_spec",
    "chat_problems",
    "check_chat_jsonl",
    "export_archive",
    "export_training_setup",
    "load_plan",
    "load_training_data",
    "parse_formats",
]
