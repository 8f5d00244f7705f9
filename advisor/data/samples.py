"""The bundled sample datasets, by name, with the settings that make each meaningful.

Why a registry: the demo, the app's "pick a sample" and the benchmarks must run a sample
the same way (its task instruction and output format belong to the data, not to the caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from advisor.errors import AdvisorError

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "experiments" / "samples"


@dataclass(frozen=True)
class Sample:
    name: str
    description: str
    data: Path
    kb: Path | None
    task: str
    format: str | None  # FormatSpec.from_user value


def _samples() -> dict[str, Sample]:
    d = SAMPLES_DIR
    form_kb = d / "form" / "kb.jsonl"
    return {
        "facts": Sample(
            "facts",
            "questions about an invented archipelago; answers only in the knowledge base "
            "(RAG should win)",
            d / "facts" / "examples.jsonl",
            d / "facts" / "kb.jsonl",
            "Answer the question about the Serrowen archipelago with a short answer "
            "(a name, year, number or place), no explanation.",
            None,
        ),
        "form": Sample(
            "form",
            "free-text supply requests to rewrite as strict one-line JSON (finetuning should win)",
            d / "form" / "examples.jsonl",
            form_kb if form_kb.exists() else None,
            "Rewrite the supply request as one line of JSON with the keys name, item, "
            "quantity, date (YYYY-MM-DD) and priority (low, normal or high).",
            str(d / "form" / "schema.json"),
        ),
        "tiny": Sample(
            "tiny",
            "40 questions over 12 documents: the fastest end-to-end check",
            d / "tiny" / "examples.jsonl",
            d / "tiny" / "kb.jsonl",
            "Answer the question with a short answer, no explanation.",
            None,
        ),
    }


SAMPLE_NAMES = ("facts", "form", "tiny")


def get_sample(name: str) -> Sample:
    samples = _samples()
    if name not in samples:
        raise AdvisorError(f"unknown sample {name!r}: choose from {', '.join(samples)}")
    sample = samples[name]
    if not sample.data.exists():
        raise AdvisorError(
            f"sample data not found at {sample.data}: the samples ship with the source "
            "checkout (pip install -e .); regenerate them with python experiments/make_samples.py"
        )
    return sample
