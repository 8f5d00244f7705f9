"""A dataset no part of the pilot was tuned on: questions about the Python standard library.

``python experiments/make_unseen.py OUT`` writes ``OUT/examples.jsonl`` (input, output,
doc_id), ``OUT/kb.jsonl`` (one document per function: its docstring) and ``OUT/task.txt``.

Why this dataset: the estimate goals of issue 13 ask for a dataset "you have not seen".
The bundled samples have short answers (facts) and JSON fields (form); this one has
free-text answers of a sentence (the first sentence of a docstring), questions that do not
name the answer's words, a knowledge base of uneven documents, and it is built from the
Python that runs it, so anyone can rebuild it offline. The questions and the split are
deterministic; nothing in the pilot's code or settings was chosen by looking at it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from pathlib import Path

MODULES = (
    "bisect", "base64", "calendar", "colorsys", "difflib", "fnmatch", "functools", "glob",
    "gzip", "heapq", "html", "json", "keyword", "math", "operator", "os.path", "random",
    "re", "secrets", "shlex", "shutil", "statistics", "string", "textwrap", "uuid", "zlib",
)  # fmt: skip
QUESTIONS = (
    "In Python's {module} module, what does {name}() do?",
    "What is {module}.{name} for?",
    "Describe the purpose of {name} from the {module} module.",
)
_FIRST_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.S)


def _functions(module_name: str) -> list[tuple[str, str]]:
    """(name, docstring) of the module's public functions that have a real docstring."""
    module = importlib.import_module(module_name)
    found = []
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or not callable(obj) or inspect.isclass(obj):
            continue
        doc = inspect.getdoc(obj) or ""
        if len(doc) < 40 or doc.startswith(name + "("):  # a signature line, not prose
            continue
        found.append((name, " ".join(doc.split())))
    return found


def _first_sentence(doc: str) -> str | None:
    match = _FIRST_SENTENCE.match(doc)
    sentence = match.group(1).strip() if match else ""
    return sentence if 20 <= len(sentence) <= 200 else None


def build(out: Path) -> tuple[int, int]:
    out.mkdir(parents=True, exist_ok=True)
    examples, documents = [], []
    for module_name in MODULES:
        for name, doc in _functions(module_name):
            doc_id = f"{module_name}.{name}"
            documents.append({"id": doc_id, "text": f"{doc_id}: {doc[:1500]}"})
            answer = _first_sentence(doc)
            if answer is None:
                continue
            question = QUESTIONS[len(examples) % len(QUESTIONS)]
            examples.append(
                {
                    "id": f"stdlib-{len(examples):03d}",
                    "input": question.format(module=module_name, name=name),
                    "output": answer,
                    "doc_id": doc_id,
                }
            )
    for path, rows in (("examples.jsonl", examples), ("kb.jsonl", documents)):
        with open(out / path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    (out / "task.txt").write_text(
        "Answer with one sentence saying what the Python standard-library function does.\n"
    )
    return len(examples), len(documents)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python experiments/make_unseen.py OUT_FOLDER")
    n_examples, n_docs = build(Path(sys.argv[1]))
    python = sys.version.split()[0]
    print(f"{n_examples} examples, {n_docs} documents in {sys.argv[1]} (Python {python})")
