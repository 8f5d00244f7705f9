"""Training setup export: the finetune plan as ready-to-run TRL, Axolotl and LLaMA-Factory.

Why: the pilot answers "does finetuning help?" on one small machine; scaling up happens in
the tools teams already run on accelerate / DeepSpeed / FSDP clusters. Each format gets its
own self-contained folder (config or script, converted data, README with the command), so
one folder can be copied to a training machine as is.

``export_training_setup(plan, "trl,axolotl", out_dir, data_path=..., run_dir=...)`` is what
``advisor export`` and the app call; it returns every file written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.finetune.export import axolotl, llamafactory, trl
from advisor.finetune.export.dataset import TrainingData, load_training_data
from advisor.finetune.export.spec import METHODS, TrainingSpec, build_spec, load_plan
from advisor.pilot.rundir import atomic_write_json, atomic_write_text

Writer = Callable[[TrainingSpec, TrainingData, Path], list[Path]]

# name -> (writer, main file, command to run it)
FORMATS: dict[str, tuple[Writer, str, str]] = {
    "trl": (trl.write, trl.SCRIPT, trl.RUN),
    "axolotl": (axolotl.write, axolotl.CONFIG, axolotl.RUN),
    "llamafactory": (llamafactory.write, llamafactory.CONFIG, llamafactory.RUN),
}


def parse_formats(fmt: str | Sequence[str]) -> list[str]:
    names = [f.strip().lower() for f in (fmt.split(",") if isinstance(fmt, str) else fmt)]
    names = [n for n in dict.fromkeys(names) if n]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise AdvisorError(
            f"unknown export format(s) {', '.join(unknown) or '(none given)'}: choose from "
            f"{', '.join(FORMATS)} (comma-separated for several)"
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


def export_training_setup(
    plan: dict[str, Any] | str | Path,
    fmt: str | Sequence[str],
    out_dir: str | Path,
    data_path: str | Path | None = None,
    model: str | None = None,
    run_dir: str | Path | None = None,
) -> list[Path]:
    """Write each format's folder under ``out_dir``; returns the files written.

    ``plan``: a FinetunePlan dict, a recommendation dict (its ``finetune_plan``) or a JSON
    file of either. ``run_dir``: a pilot run whose LoRA settings, task and split refine the
    plan (see :mod:`advisor.finetune.export.spec`). ``data_path`` defaults to the run's data file.
    """
    formats = parse_formats(fmt)
    spec = build_spec(load_plan(plan), run_dir=run_dir, model=model)
    data = load_training_data(data_path, run_dir)
    spec = _fit_batch(spec, len(data.train))
    out = Path(out_dir)
    written: list[Path] = []
    for name in formats:
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
    import tempfile
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
    "FORMATS",
    "METHODS",
    "TrainingData",
    "TrainingSpec",
    "build_spec",
    "export_archive",
    "export_training_setup",
    "load_plan",
    "load_training_data",
    "parse_formats",
]
