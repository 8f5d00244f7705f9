"""The user's examples in the shapes the training tools read.

Why the pilot's split matters here: when a run folder is given, its held-out test items are
left out of the exported training data, so the scaled-up model can later be scored on the
very items the pilot's arms were compared on. Its validation items become the eval set.

Shapes: chat ``messages`` JSONL (TRL's conversational format, Axolotl's ``chat_template``
type) and alpaca JSON with ``dataset_info.json`` (LLaMA-Factory). The system turn is the
pilot's task instruction, so the trained model sees what the prompted arms saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.pilot.rundir import atomic_write_text, read_json

DATASET_NAME = "advisor"  # LLaMA-Factory dataset names: advisor_train, advisor_eval


@dataclass(frozen=True)
class Pair:
    input: str
    output: str


@dataclass
class TrainingData:
    train: list[Pair]
    eval: list[Pair] = field(default_factory=list)
    source: str = ""  # the examples file
    held_out: int = 0  # the pilot's test items left out

    def describe(self) -> str:
        text = f"{len(self.train)} training examples from {Path(self.source).name}"
        if self.eval:
            text += f", {len(self.eval)} for evaluation (the pilot's validation split)"
        if self.held_out:
            text += f"; the pilot's {self.held_out} test items are held out"
        return text


def load_training_data(
    data_path: str | Path | None, run_dir: str | Path | None = None
) -> TrainingData:
    """Examples from ``data_path`` (or the pilot's data file), split as the pilot split them."""
    from advisor.data.load import load_examples

    settings = read_json(Path(run_dir) / "settings.json") if run_dir else None
    settings = settings if isinstance(settings, dict) else {}
    path = data_path or settings.get("data")
    if not path:
        raise AdvisorError(
            "no examples to export: pass --data FILE (CSV/JSONL with input,output) or a "
            "pilot --run folder whose data file still exists"
        )
    if not Path(path).is_file():
        raise AdvisorError(f"examples file {str(path)!r} not found: pass --data FILE")
    same_file = settings.get("data") and Path(path).resolve() == Path(settings["data"]).resolve()
    columns = {
        k: settings[k]
        for k in ("input_col", "output_col", "doc_id_col")
        if same_file and k in settings
    }
    examples = load_examples(path, **columns).examples
    split = read_json(Path(run_dir) / "split.json") if run_dir and same_file else None
    if not isinstance(split, dict):
        return TrainingData([Pair(e.input, e.output) for e in examples], source=str(path))
    test, val = set(map(str, split.get("test", []))), set(map(str, split.get("validation", [])))
    train = [Pair(e.input, e.output) for e in examples if e.id not in test and e.id not in val]
    evals = [Pair(e.input, e.output) for e in examples if e.id in val]
    held = sum(1 for e in examples if e.id in test)
    if not train:
        raise AdvisorError(f"no training examples left in {path} after the pilot's split")
    return TrainingData(train, evals, str(path), held)


def messages(pair: Pair, system: str) -> list[dict[str, str]]:
    turns = [{"role": "system", "content": system}] if system.strip() else []
    return [
        *turns,
        {"role": "user", "content": pair.input},
        {"role": "assistant", "content": pair.output},
    ]


def write_messages_jsonl(path: Path, pairs: list[Pair], system: str) -> Path:
    rows = (json.dumps({"messages": messages(p, system)}, ensure_ascii=False) for p in pairs)
    atomic_write_text(path, "".join(r + "\n" for r in rows))
    return path


def write_alpaca(folder: Path, data: TrainingData, system: str) -> list[Path]:
    """``train.json`` (+ ``eval.json``) and the ``dataset_info.json`` that registers them."""
    columns = {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}
    info: dict[str, Any] = {}
    written = []
    for split, pairs in (("train", data.train), ("eval", data.eval)):
        if not pairs:
            continue
        rows = [
            {"instruction": p.input, "input": "", "output": p.output, "system": system}
            for p in pairs
        ]
        path = folder / f"{split}.json"
        atomic_write_text(path, json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        info[f"{DATASET_NAME}_{split}"] = {
            "file_name": path.name,
            "formatting": "alpaca",
            "columns": columns,
        }
        written.append(path)
    info_path = folder / "dataset_info.json"
    atomic_write_text(info_path, json.dumps(info, indent=2) + "\n")
    return [info_path, *written]
