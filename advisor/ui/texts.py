"""The app's wording for things the rest of the package words for the command line.

Why a module of its own (and no Streamlit here): the decision rules, loaders and pilot
speak to CLI users (``--input-col``, ``advisor pilot ... --arms``); the app has pages and
controls instead. These pure functions turn those texts into the app's terms, so the pages
only render, and tests can check the wording without a browser.
"""

from __future__ import annotations

import re
from typing import Any

from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL

# The CLI's advice at the end of a model-loading error: the app offers buttons instead.
_CLI_MODEL_ADVICE = re.compile(r"\.?\s*(Pass a local model folder|pass --model)\b.*$", re.S)


def model_name(ref: str | None) -> str:
    if not ref or ref == DEFAULT_MODEL:
        return f"the default model ({DEFAULT_MODEL.split('/')[-1]})"
    if ref == BUILTIN_MODEL:
        return "the built-in tiny model (smoke test)"
    return ref


def model_label(ref: str | None) -> str:
    """A short model name for tables: the hub id's last part, 'built-in (smoke)'."""
    if not ref:
        return ""
    if ref == BUILTIN_MODEL:
        return "built-in tiny (smoke)"
    return ref.rstrip("/").split("/")[-1]


def without_cli_advice(reason: str) -> str:
    return _CLI_MODEL_ADVICE.sub("", str(reason)).rstrip(" .;") + "."


def fallback_text(fallback: dict[str, Any]) -> str:
    """Why a run used another model than the one asked for, said on the Pilot page."""
    wanted = model_name(fallback.get("wanted"))
    used = model_name(fallback.get("used"))
    reason = without_cli_advice(str(fallback.get("reason") or "no reason recorded"))
    return (
        f"You asked for {wanted}, but this run uses {used}: a SMOKE run whose quality numbers "
        f"test the pipeline, not the decision. Why: {reason} Fetch the default model on the "
        "Pilot page (or pick a local folder or .gguf file) and start again for real numbers."
    )


# What the library still says in CLI terms after ``knob_names(APP_KNOBS)`` (the knowledge
# base has no knob: it is a file, not a setting), and the app's controls for the same job.
_DATA_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"pass --kb FILE_OR_FOLDER or drop them from --arms"),
        "add a knowledge base on the Data page, or drop them from 'Arms to compare'",
    ),
    (re.compile(r"--doc-id-col"), "'Document id column'"),
    (re.compile(r"--input-col"), "'Input column'"),
    (re.compile(r"--output-col"), "'Output column'"),
)


def app_data_message(message: str, names: dict[Any, str] | None = None) -> str:
    """A data problem in the app's words: the uploaded file's name, not our stored copy's
    path, and the app's controls, not ``max_rows=...`` or ``--input-col``."""
    from advisor.ui.uploads import shown_as

    text = shown_as(str(message), names or {})
    for pattern, words in _DATA_WORDS:
        text = pattern.sub(words, text)
    return text


def embedder_name(setting: str | None) -> str:
    """The embedder as both the app's Pilot page and ``advisor pilot --embedder`` name it."""
    from advisor.retrieval.embeddings import DEFAULT_EMBEDDER

    if not setting:
        return DEFAULT_EMBEDDER
    return "hashing-256" if setting == "hashing" else setting


def leakage_text(summary: str, pilot_embedder: str | None) -> str:
    """The Data page's quick leakage check, saying which embedder the pilot will use."""
    return (
        f"Leakage (quick check): {summary} The pilot repeats the check with the embedder "
        f"it uses, {embedder_name(pilot_embedder)} (the Pilot page's 'Embedding model', "
        "--embedder in the CLI), and records it in results.json."
    )


def grouped_constraints(rec: dict[str, Any]) -> list[tuple[list[str], str, str]]:
    """(approaches, "ruled out" / "must wait", why), one entry per distinct reason.

    Why grouped: one rule often holds two options back (finetuning, and RAG + finetuning)
    with the same paragraph; said once per option it read as the page repeating itself.
    """
    out: list[tuple[list[str], str, str]] = []
    index: dict[tuple[str, str], int] = {}
    for verb, table in (("ruled out", rec.get("unavailable")), ("must wait", rec.get("held"))):
        for approach in rec.get("ranking") or list(table or {}):
            text = (table or {}).get(approach)
            if not text:
                continue
            if verb == "must wait" and approach in (rec.get("unavailable") or {}):
                continue
            key = (verb, str(text))
            if key in index:
                out[index[key]][0].append(approach)
            else:
                index[key] = len(out)
                out.append(([approach], verb, str(text)))
    return out


# `advisor pilot --data EXAMPLES [--kb DOCS] --out RUN_DIR --arms a,b` in a rule's text
_PILOT_CMD = re.compile(r"`advisor pilot [^`]*?--arms ([a-z0-9_,]+)`")
_ANY_CMD = re.compile(r"`(advisor [^`]*)`")


def app_next_step(text: str) -> str:
    """A next step in the app's terms: the Data and Pilot pages, not a CLI command line
    with placeholders for paths the app already knows."""
    from advisor.report.formatting import ARM_LABELS, label

    def pilot(m: re.Match[str]) -> str:
        arms = [label(a, ARM_LABELS) for a in m.group(1).split(",") if a]
        return "on the Pilot page, run a pilot with the arms " + ", ".join(arms)

    text = _PILOT_CMD.sub(pilot, text)
    text = _ANY_CMD.sub(lambda m: m.group(1), text)
    text = text.replace("(--model)", "(the Model choice on the Pilot page)")
    if "into a knowledge base" in text and "Data page" not in text:
        text = text.rstrip() + " Then add it on the Data page and compare RAG on the Pilot page."
    return text
