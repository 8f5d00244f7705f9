"""Settings and shared, lazily built parts of one pilot run.

Why lazy and shared: loading the generator, embedding the knowledge base and building the
indexes are the slow parts of a pilot; several arms need each, and an arm that is skipped
(resume) or not chosen must not pay for them. ``PilotContext`` builds each part on first use
and hands the same instance to every arm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advisor.data.types import Document, Example, Split
from advisor.errors import knob
from advisor.finetune.settings import LoraSettings
from advisor.models.hf import DEFAULT_MODEL
from advisor.settings_help import documented


def _named(name: str) -> str:
    """The caller's name for a setting (a CLI flag, an app label), else the field's."""
    return knob(name) or name


@dataclass(frozen=True)
class PilotSettings:
    data: str  # examples file (CSV/JSONL)
    out: str  # run folder
    kb: str | None = None  # knowledge base file or folder
    model: str | None = None  # hub id, local folder or builtin:tiny; None = DEFAULT_MODEL
    arms: tuple[str, ...] = ()  # empty = every arm the data allows
    task: str = documented("", "the instruction every arm gets (empty = a generic answer task)")
    format: str | None = None  # "json", "regex:<pattern>" or a JSON Schema file path
    input_col: str = documented("input", "column holding the model's input")
    output_col: str = documented("output", "column holding the expected output")
    doc_id_col: str = documented(
        "doc_id", "column naming the knowledge-base document that holds the answer (recall@k)"
    )
    test_size: float = documented(
        0.2, "fraction (0.2) or count (40) of examples held out; every arm answers them"
    )
    validation_size: float = documented(
        0.1, "fraction or count of examples for LoRA early stopping (0 = none)"
    )
    max_test: int | None = documented(
        200, "cap on test items, so a large file does not make the pilot take hours"
    )
    budget_s: float | None = None  # plan the pilot to finish in this many seconds (budget.py)
    seed: int = documented(0, "seed of the split, the sampling and training: 0 to 2**32-1")
    few_shot_k: int = documented(
        4, "examples in a few-shot prompt (the chapter: 1 to 50; 4 fits a small context)"
    )
    retrieval_k: int = documented(3, "passages in a RAG prompt")
    chunk_words: int = 150  # ~200 word pieces: inside MiniLM's 256-token window
    chunk_overlap: int = 30
    lora_rag_retriever: str = "bm25"  # retriever the lora_rag arm trains and answers with
    # retrieved words a lora_rag *training* prompt keeps: the sentences nearest the question
    # and answer (prompts.trim_contexts); None = whole passages. Test prompts keep them all.
    train_context_words: int | None = 60
    embedder: str | None = None  # sentence-transformers id/folder; None = all-MiniLM-L6-v2
    batch_size: int = documented(16, "prompts generated together in one batch")
    max_new_tokens: int | None = None  # None = bounded from the training references
    primary_metric: str | None = None  # the metric to lead with; None = by the task's kind
    trust_remote_code: bool = documented(
        False, "allow the model repository to run its own code (off by default)"
    )
    # OpenAI-compatible endpoint for the prompting/RAG arms (advisor.models.openai_api); the key
    # stays in the environment variable named here and is never saved
    api_base: str | None = None  # e.g. http://localhost:8000/v1; None = local model only
    api_model: str | None = None  # None = the first model the endpoint lists
    api_key_env: str = "OPENAI_API_KEY"  # NAME of the variable holding the key
    api_concurrency: int = documented(4, "requests in flight at once")
    api_timeout_s: float = documented(60, "seconds per request")
    mlflow: str | None = None  # tracking URI the CLI logs the finished run to
    # Input limits: a pilot needs hundreds of examples, and a huge file should fail fast
    max_rows: int = documented(100_000, "row limit of the examples file")
    max_documents: int = documented(100_000, "document limit of the knowledge base")
    max_bytes: int = 50_000_000  # bytes of one input file (or of a knowledge-base folder)
    lora: LoraSettings = field(default_factory=LoraSettings)
    # Evidence beyond the arms (advisor.pilot.extra_runs); none of it changes an arm's numbers
    data_curve: tuple[float, ...] = ()  # training fractions for the data curve; () = none
    seeds: int = 1  # runs of each LoRA arm with seeds seed, seed+1, ...: the seed spread
    seed_split: bool = False  # the repeats also redraw train/validation (the test set stays)

    def __post_init__(self) -> None:
        if not (isinstance(self.test_size, int | float) and 0 < self.test_size < math.inf):
            raise ValueError(f"{_named('test_size')} must be positive (not {self.test_size!r})")
        if not (
            isinstance(self.validation_size, int | float) and 0 <= self.validation_size < math.inf
        ):
            raise ValueError(
                f"{_named('validation_size')} must be >= 0 (not {self.validation_size!r})"
            )
        if self.train_context_words is not None and self.train_context_words <= 0:
            raise ValueError(
                f"{_named('train_context_words')} must be positive or None for whole passages "
                f"(not {self.train_context_words!r})"
            )
        for name in ("few_shot_k", "retrieval_k", "batch_size", "chunk_words"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{_named(name)} must be positive (not {getattr(self, name)!r})")
        for name in ("max_rows", "max_documents", "max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{_named(name)} must be a positive whole number (not {value!r})")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ValueError(
                f"{_named('seed')} must be a whole number from 0 to {2**32 - 1} (not {seed!r})"
            )
        if self.max_new_tokens is not None and self.max_new_tokens <= 0:
            raise ValueError(
                f"{_named('max_new_tokens')} must be positive (not {self.max_new_tokens!r}); "
                "leave it out to bound answers by the longest training output"
            )
        if self.primary_metric is not None:
            from advisor.evaluation.metrics import METRICS

            if self.primary_metric not in METRICS:
                raise ValueError(
                    f"primary_metric must be one of {', '.join(sorted(METRICS))} "
                    f"(not {self.primary_metric!r})"
                )
        if self.max_test is not None and self.max_test <= 0:
            raise ValueError(f"{_named('max_test')} must be positive (not {self.max_test!r})")
        if self.lora_rag_retriever not in ("bm25", "faiss", "hybrid"):
            raise ValueError(
                "lora_rag_retriever must be one of bm25, faiss, hybrid "
                f"(not {self.lora_rag_retriever!r})"
            )
        from advisor.models.openai_api import APISettings, check_key_env

        check_key_env(self.api_key_env)  # always: a key pasted here would be saved
        if self.api_base is not None or self.api_model is not None:
            if self.api_base is None:
                raise ValueError("api_model needs api_base: pass --api-base URL as well")
            APISettings(
                self.api_base,
                self.api_model,
                self.api_key_env,
                self.api_concurrency,
                float(self.api_timeout_s),
            )  # validates; the key is never read here
        if self.mlflow is not None:
            from advisor.pilot.tracking import check_tracking_uri

            check_tracking_uri(self.mlflow)
        from advisor.evaluation.data_curve import check_fractions
        from advisor.evaluation.seed_spread import check_seeds

        check_fractions(self.data_curve)
        check_seeds(self.seeds)

    @property
    def model_ref(self) -> str:
        return self.model or DEFAULT_MODEL

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arms"] = list(self.arms)
        d["data_curve"] = list(self.data_curve)
        d["lora"] = self.lora.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PilotSettings:
        d = dict(d)
        lora = d.pop("lora", None) or {}
        if isinstance(lora.get("target_modules"), list):
            lora["target_modules"] = tuple(lora["target_modules"])
        d["arms"] = tuple(d.get("arms") or ())
        d["data_curve"] = tuple(d.get("data_curve") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known}, lora=LoraSettings(**lora))


@dataclass
class Prediction:
    arm: str
    example_id: str
    input: str
    reference: str
    output: str
    retrieved_ids: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    output_tokens: int = 0
    doc_id: str | None = None
    error: str | None = None
    shot_ids: list[str] = field(default_factory=list)  # few_shot: the examples in its prompt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressFn = Callable[[dict[str, Any]], None]


class PilotContext:
    """What the arms share. Constructed by ``advisor.pilot.runner``; arms only read from it."""

    def __init__(
        self,
        settings: PilotSettings,
        split: Split,
        documents: list[Document],
        run_dir: Path,
        embedder: Any,
        progress: ProgressFn | None = None,
        generator_loader: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.split = split
        self.documents = documents
        self.run_dir = run_dir
        self.embedder = embedder
        self._progress = progress
        self._generator_loader = generator_loader
        self._generator: Any = None
        self._retrievers: dict[str, Any] = {}
        self._chunks: list[Any] | None = None
        self._train_vectors: Any = None
        self._format_spec: Any = None
        self._max_new: int | None = None
        self._primary: Any = None
        self._style: tuple[str | None] | None = None  # (hint,) once computed

    def replan(self, settings: PilotSettings, split: Split) -> None:
        """Take a budget plan's settings and test set; models and indexes stay loaded."""
        self.settings, self.split = settings, split

    # -- generator -------------------------------------------------------------------------
    def generator(self) -> Any:
        if self._generator is None:
            if self._generator_loader is None:
                raise RuntimeError("this pilot has no generator (no LLM arm was chosen)")
            self._generator = self._generator_loader()
        return self._generator

    @property
    def has_llm(self) -> bool:
        """Some arm of this pilot needs the language model."""
        return self._generator_loader is not None

    def fresh_base_generator(self) -> Any:
        """A new copy of the base model for training (peft wraps the model in place)."""
        if self._generator_loader is None:
            raise RuntimeError("this pilot has no generator (no LLM arm was chosen)")
        return self._generator_loader()

    def max_new_tokens(self) -> int:
        if self._max_new is None:
            if self.settings.max_new_tokens:
                self._max_new = self.settings.max_new_tokens
            else:
                from advisor.models.hf import max_new_tokens_for

                # bounded by the training references: the test outputs stay unseen
                refs = [e.output for e in self.split.train] or [e.output for e in self.split.test]
                self._max_new = max_new_tokens_for(refs, self.generator().count_tokens)
        return self._max_new

    def prompt_budget(self) -> int:
        return max(32, self.generator().context_length - self.max_new_tokens())

    # -- what a good answer is -------------------------------------------------------------
    def reference_outputs(self) -> list[str]:
        """The outputs the pilot may learn the task's shape from: training, never test."""
        return [e.output for e in self.split.train] or [e.output for e in self.split.validation]

    def primary_metric(self) -> Any:
        """The metric the pilot leads with (advisor.evaluation.primary_metric.PrimaryMetric)."""
        if self._primary is None:
            from advisor.evaluation.primary_metric import choose_primary_metric

            refs = self.reference_outputs() or [e.output for e in self.split.test]
            self._primary = choose_primary_metric(refs, override=self.settings.primary_metric)
        return self._primary

    def style_hint(self) -> str | None:
        """How a good answer looks (length, form), from the training outputs (once a pilot:
        every prompt of every arm asks for it)."""
        if self._style is None:
            from advisor.evaluation.primary_metric import answer_style_hint

            self._style = (answer_style_hint(self.reference_outputs()),)
        return self._style[0]

    def system_message(self) -> str:
        from advisor.pilot.prompts import system_message

        return system_message(self.settings.task, self.format_hint(), self.style_hint())

    # -- format ----------------------------------------------------------------------------
    def format_spec(self) -> Any:
        if self._format_spec is None and self.settings.format:
            from advisor.evaluation.metrics import FormatSpec

            self._format_spec = FormatSpec.from_user(self.settings.format)
        return self._format_spec

    def format_hint(self) -> str | None:
        spec = self.format_spec()
        return spec.prompt_hint() if spec is not None else None

    # -- retrieval -------------------------------------------------------------------------
    def chunks(self) -> list[Any]:
        if self._chunks is None:
            from advisor.retrieval import chunk_documents

            self._chunks = chunk_documents(
                self.documents, self.settings.chunk_words, self.settings.chunk_overlap
            )
        return self._chunks

    def retriever(self, kind: str) -> Any:
        if not self.documents:
            raise ValueError(f"the {kind} retriever needs a knowledge base: pass --kb")
        if kind not in self._retrievers:
            from advisor.retrieval import build_retriever

            self._retrievers[kind] = build_retriever(kind, self.chunks(), embedder=self.embedder)
        return self._retrievers[kind]

    def similar_train_examples(self, texts: list[str], k: int) -> list[list[Example]]:
        """The k training examples whose inputs are most similar to each text (cosine)."""
        import numpy as np

        pool = self.split.train
        if not pool:
            raise ValueError("no training examples to draw from: use a larger data file")
        if self._train_vectors is None:
            self._train_vectors = self.embedder.encode([e.input for e in pool])
        queries = self.embedder.encode(texts)
        sims = queries @ self._train_vectors.T
        k = min(k, len(pool))
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return [[pool[j] for j in row] for row in top]

    # -- progress --------------------------------------------------------------------------
    def emit(self, **event: Any) -> None:
        if self._progress:
            self._progress(event)

    def progress_for(self, arm: str) -> Callable[[float, int], None]:
        def cb(done: float, total: int) -> None:
            # ``done`` counts finished items; ``fraction`` also counts the token steps of
            # the batch being generated, so a bar moves while a batch is in flight
            fraction = round(min(1.0, done / total), 4) if total else 0.0
            self.emit(arm=arm, stage="generate", done=int(done), total=total, fraction=fraction)

        return cb

    def train_progress_for(self, arm: str) -> Callable[[int, int, dict[str, float]], None]:
        def cb(step: int, total: int, info: dict[str, float]) -> None:
            self.emit(arm=arm, stage="train", done=step, total=total, **info)

        return cb
