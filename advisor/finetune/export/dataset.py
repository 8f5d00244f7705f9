"""The user's examples in the shapes the training tools read.

Why the pilot's split matters here: when a run folder is given, its held-out test items are
left out of the exported training data, so the scaled-up model can later be scored on the
very items the pilot's arms were compared on. Its validation items become the eval set.

Shapes: OpenAI chat ``messages`` JSONL (TRL's conversational format; checked against
OpenAI's rules by :mod:`advisor.finetune.export.openai_chat`), ShareGPT JSON (Axolotl's
``chat_template`` type with ``from``/``value`` mappings) and Alpaca JSON, the last two with
the ``dataset_info.json`` that registers them for LLaMA-Factory. The system turn is the
pilot's task instruction, so the trained model sees what the prompted arms saw. A
multi-turn example keeps its turns: every earlier turn is written back as a turn (Alpaca:
``history``), never as the transcript the pilot's prompts show.
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
    turns: tuple[tuple[str, str], ...] = ()  # a conversation's input turns, if multi-turn
    system: str | None = None  # the example's own system prompt (when they differ)

    def input_turns(self) -> list[tuple[str, str]]:
        """(role, text) turns before the answer, ending with the user's."""
        return list(self.turns) or [("user", self.input)]


def _pair(example, own_system: bool) -> Pair:
    return Pair(
        example.input,
        example.output,
        example.turns,
        example.system if own_system else None,
    )


@dataclass
class TrainingData:
    train: list[Pair]
    eval: list[Pair] = field(default_factory=list)
    source: str = ""  # the examples file
    held_out: int = 0  # the pilot's test items left out
    task: str | None = None  # the system prompt the data's conversations shared, if any
    read_as: str = ""  # "read as OpenAI chat JSONL: ..." (advisor.data.formats)

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
    if not Path(path).exists():
        raise AdvisorError(f"examples file {str(path)!r} not found: pass --data FILE")
    same_file = settings.get("data") and Path(path).resolve() == Path(settings["data"]).resolve()
    columns = {
        k: settings[k]
        for k in ("input_col", "output_col", "doc_id_col")
        if same_file and k in settings
    }
    exset = load_examples(path, **columns)
    examples, own = exset.examples, exset.task is None
    split = read_json(Path(run_dir) / "split.json") if run_dir and same_file else None
    if not isinstance(split, dict):
        pairs = [_pair(e, own) for e in examples]
        return TrainingData(pairs, source=str(path), task=exset.task, read_as=exset.message)
    test, val = set(map(str, split.get("test", []))), set(map(str, split.get("validation", [])))
    train = [_pair(e, own) for e in examples if e.id not in test and e.id not in val]
    evals = [_pair(e, own) for e in examples if e.id in val]
    held = sum(1 for e in examples if e.id in test)
    if not train:
        raise AdvisorError(f"no training examples left in {path} after the pilot's split")
    return TrainingData(train, evals, str(path), held, exset.task, exset.message)


def messages(pair: Pair, system: str) -> list[dict[str, str]]:
    """OpenAI chat messages: system (the example's own or the shared one), turns, answer."""
    system = pair.system or system
    turns = [{"role": "system", "content": system}] if system.strip() else []
    turns += [{"role": role, "content": text} for role, text in pair.input_turns()]
    return [*turns, {"role": "assistant", "content": pair.output}]


def write_messages_jsonl(path: Path, pairs: list[Pair], system: str) -> Path:
    """Chat JSONL, refused before writing if any line breaks OpenAI's format rules."""
    from advisor.finetune.export.openai_chat import chat_problems

    records = [{"messages": messages(p, system)} for p in pairs]
    bad = [
        f"example {i} ({'; '.join(pr)})"
        for i, r in enumerate(records, 1)
        if (pr := chat_problems(r))
    ]
    if bad:
        from advisor.data.rows import listing

        raise AdvisorError(f"cannot write {path.name}: {listing(bad)}")
    rows = (json.dumps(r, ensure_ascii=False) for r in records)
    atomic_write_text(path, "".join(r + "\n" for r in rows))
    return path


def _alpaca_row(pair: Pair, system: str, with_history: bool) -> dict[str, Any]:
    turns = pair.input_turns()
    row: dict[str, Any] = {"instruction": turns[-1][1], "input": "", "output": pair.output}
    row["system"] = pair.system or system
    if with_history:  # every row then has the column, as datasets' JSON loader wants
        row["history"] = [[turns[i][1], turns[i + 1][1]] for i in range(0, len(turns) - 1, 2)]
    return row


def _sharegpt_row(pair: Pair, system: str) -> dict[str, Any]:
    names = {"user": "human", "assistant": "gpt"}
    system = pair.system or system
    convo = [{"from": "system", "value": system}] if system.strip() else []
    convo += [{"from": names[role], "value": text} for role, text in pair.input_turns()]
    return {"conversations": [*convo, {"from": "gpt", "value": pair.output}]}


ALPACA_COLUMNS = {
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "system": "system",
    "history": "history",
}
SHAREGPT_ENTRY = {
    "formatting": "sharegpt",
    "columns": {"messages": "conversations"},
    "tags": {
        "role_tag": "from",
        "content_tag": "value",
        "user_tag": "human",
        "assistant_tag": "gpt",
        "system_tag": "system",
    },
}


def _write_json_splits(
    folder: Path,
    data: TrainingData,
    system: str,
    kind: str,
    eval_name: str = "eval",
) -> list[Path]:
    """``train.json`` (+ the eval split) as Alpaca or ShareGPT, and the ``dataset_info.json``
    that registers them (LLaMA-Factory reads it; Axolotl reads the files directly)."""
    history = any(p.turns for p in data.train + data.eval)
    columns = (
        ALPACA_COLUMNS if history else {k: v for k, v in ALPACA_COLUMNS.items() if k != "history"}
    )
    info: dict[str, Any] = {}
    written = []
    for split, pairs in (("train", data.train), (eval_name, data.eval)):
        if not pairs:
            continue
        path = folder / f"{split}.json"
        if kind == "alpaca":
            rows = [_alpaca_row(p, system, history) for p in pairs]
        else:
            rows = [_sharegpt_row(p, system) for p in pairs]
        atomic_write_text(path, json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        name = f"{DATASET_NAME}_{'train' if split == 'train' else 'eval'}"
        if kind == "alpaca":
            info[name] = {"file_name": path.name, "formatting": "alpaca", "columns": columns}
        else:
            info[name] = {"file_name": path.name, **SHAREGPT_ENTRY}
        written.append(path)
    info_path = folder / "dataset_info.json"
    atomic_write_text(info_path, json.dumps(info, indent=2) + "\n")
    return [info_path, *written]


def write_alpaca(folder: Path, data: TrainingData, system: str, eval_name: str = "eval"):
    """Alpaca rows (earlier turns as ``history``) and their ``dataset_info.json``."""
    return _write_json_splits(folder, data, system, "alpaca", eval_name)


def write_sharegpt(folder: Path, data: TrainingData, system: str, eval_name: str = "eval"):
    """ShareGPT rows (system, human and gpt turns) and their ``dataset_info.json``."""
    return _write_json_splits(folder, data, system, "sharegpt", eval_name)
