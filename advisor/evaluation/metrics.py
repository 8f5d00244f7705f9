"""Named metrics for pilot answers, registered lm-evaluation-harness style.

Why a registry: the pilot, the report and the decision rules refer to metrics by name
(``results.json`` keys), and adding one should be a decorated function, nothing else.
Two shapes are supported because some metrics need a model:

- per-item: ``fn(prediction, reference, **needs) -> float``, called once per item;
- batch: ``fn(predictions, references, **needs) -> list[float]``, called once per list, so
  ``semantic_similarity`` encodes every text in one embedder call.

``needs`` names the extra resources a metric takes (``embedder``, ``format_spec``);
``score_predictions`` passes them in and skips, by default, metrics whose resource is absent.
Every score is in [0, 1], higher is better.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.errors import AdvisorError
from advisor.evaluation.formats import FormatSpec
from advisor.evaluation.json_fields import field_scores, parse_object, references_are_objects
from advisor.evaluation.stats import bootstrap_ci


@dataclass(frozen=True)
class MetricInfo:
    name: str  # the key used in results.json
    fn: Callable[..., Any]  # per-item -> float, or batch -> list[float]
    higher_is_better: bool  # the report colours differences by this
    binary: bool  # 0/1 per item: paired tests use McNemar instead of a permutation test
    description: str  # one line for reports and --help
    batch: bool = False  # fn takes whole lists (one model call for all items)
    needs: tuple[str, ...] = ()  # keyword resources fn requires, e.g. ("embedder",)
    # runs by default only when this holds for the references (e.g. they are JSON objects)
    applies: Callable[[Sequence[str]], bool] | None = None


METRICS: dict[str, MetricInfo] = {}
_RESOURCES = ("embedder", "format_spec")


def register_metric(
    name: str,
    higher_is_better: bool = True,
    binary: bool = False,
    batch: bool = False,
    needs: tuple[str, ...] = (),
    description: str | None = None,
    applies: Callable[[Sequence[str]], bool] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator adding ``fn`` to ``METRICS``; the description defaults to its docstring."""
    unknown = [n for n in needs if n not in _RESOURCES]
    if unknown:
        raise ValueError(f"unknown metric needs {unknown} (allowed: {', '.join(_RESOURCES)})")

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        doc = description or (fn.__doc__ or name).strip().splitlines()[0]
        METRICS[name] = MetricInfo(
            name, fn, higher_is_better, binary, doc, batch, tuple(needs), applies
        )
        return fn

    return wrap


# ---------------------------------------------------------------- text metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
_WORD = re.compile(r"\w+")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lowercase, drop ASCII punctuation and a/an/the, squash spaces.

    Kept byte-for-byte with the official script so our numbers compare with published ones.
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


@register_metric("exact_match", higher_is_better=True, binary=True)
def exact_match(prediction: str, reference: str) -> float:
    """1 if the answers are equal after SQuAD normalisation, else 0."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


@register_metric("token_f1", higher_is_better=True)
def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token-overlap F1 (partial credit for partly right answers)."""
    pred = normalize_answer(prediction).split()
    gold = normalize_answer(reference).split()
    if not pred and not gold:
        return 1.0  # both empty: the answer "nothing" was given and expected
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def _contains_run(tokens: Sequence[str], run: Sequence[str]) -> bool:
    width = len(run)
    return any(list(tokens[i : i + width]) == list(run) for i in range(len(tokens) - width + 1))


@register_metric("answer_containment", higher_is_better=True, binary=True)
def answer_containment(prediction: str, reference: str) -> float:
    """1 if the normalised reference appears, as whole words, in the normalised answer.

    Why: a real model answers "The festival is held in July." for the reference "July";
    exact match calls that a miss, token F1 half a miss. Containment asks whether the
    answer is there at all, the accuracy measure of open-domain QA with LLMs (e.g. Kandpal
    et al. 2023, Mallen et al. 2023). It is lenient by design: pair it with exact match or
    token F1 when the form matters too.
    """
    gold = normalize_answer(reference).split()
    pred = normalize_answer(prediction).split()
    if not gold:
        return float(not pred)
    return float(_contains_run(pred, gold))


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Longest common subsequence by dynamic programming, one row of memory."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


@register_metric("rouge_l", higher_is_better=True)
def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1: longest common token subsequence, rewarding order-preserving overlap.

    Tokens are lowercased ``\\w+`` runs (Unicode-aware, unlike rouge-score's ASCII-only
    default), no stemming. Both empty scores 1.0, one empty 0.0, as in ``token_f1``.
    """
    pred = _WORD.findall(prediction.lower())
    gold = _WORD.findall(reference.lower())
    if not pred and not gold:
        return 1.0
    lcs = _lcs_length(pred, gold)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(gold)
    return 2 * precision * recall / (precision + recall)


@register_metric("semantic_similarity", higher_is_better=True, batch=True, needs=("embedder",))
def semantic_similarity(
    predictions: Sequence[str], references: Sequence[str], embedder: Any
) -> list[float]:
    """Cosine similarity of sentence embeddings, clipped to [0, 1] (meaning, not wording)."""
    if len(predictions) == 0:
        return []
    vectors = np.asarray(embedder.encode(list(predictions) + list(references)), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)  # protocol says normalised; be sure
    pred, ref = vectors[: len(predictions)], vectors[len(predictions) :]
    return np.clip(np.sum(pred * ref, axis=1), 0.0, 1.0).tolist()


@register_metric("field_accuracy", higher_is_better=True, applies=references_are_objects)
def field_accuracy(prediction: str, reference: str) -> float:
    """Share of the reference JSON object's fields whose values the answer gets right.

    Values are compared with their type normalised (``"3"`` equals ``3``); an answer with
    no JSON object scores 0; see :mod:`advisor.evaluation.json_fields`. Runs only when every
    reference is a JSON object.
    """
    right, total = field_scores(prediction, reference)
    if total == 0:
        return float(parse_object(prediction) == {})
    return right / total


# ---------------------------------------------------------------- format validity


@register_metric("format_valid", higher_is_better=True, binary=True, needs=("format_spec",))
def format_valid(prediction: str, reference: str, format_spec: FormatSpec) -> float:
    """1 if the answer has the required format (JSON, JSON schema or regex), else 0."""
    return float(format_spec.matches(prediction))


# ---------------------------------------------------------------- scoring


def score_predictions(
    predictions: Sequence[str | None],
    references: Sequence[str],
    metrics: Sequence[str] | None = None,
    embedder: Any = None,
    format_spec: FormatSpec | str | Mapping[str, Any] | None = None,
) -> dict[str, list[float]]:
    """Per-item scores, ``{metric: [score per item]}``, in the order of ``predictions``.

    With ``metrics=None`` every registered metric runs whose resource is available
    (``semantic_similarity`` only with an embedder, ``format_valid`` only with a format) and
    that applies to the references (``field_accuracy`` only when they are JSON objects).
    Naming a metric whose resource is missing is an error rather than a silent gap. A
    ``None`` prediction (generation failed) scores as an empty answer: a failure is a miss.
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length ({len(predictions)} != {len(references)})"
        )
    resources: dict[str, Any] = {"embedder": embedder}
    resources["format_spec"] = None if format_spec is None else FormatSpec.from_user(format_spec)
    if metrics is None:
        refs_text = [str(r) for r in references]
        names = [
            n
            for n, info in METRICS.items()
            if all(resources[r] is not None for r in info.needs)
            and (info.applies is None or info.applies(refs_text))
        ]
    else:
        names = list(dict.fromkeys(metrics))
        unknown = [n for n in names if n not in METRICS]
        if unknown:
            raise AdvisorError(
                f"unknown metric(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(METRICS))}"
            )
        for n in names:
            missing = [r for r in METRICS[n].needs if resources[r] is None]
            if missing:
                hint = "a format (--format)" if "format_spec" in missing else "an embedder"
                raise AdvisorError(f"metric {n!r} needs {hint}; give one or drop the metric")
    preds = ["" if p is None else str(p) for p in predictions]
    refs = [str(r) for r in references]
    scores: dict[str, list[float]] = {}
    for name in names:
        info = METRICS[name]
        kwargs = {r: resources[r] for r in info.needs}
        if info.batch:
            values = [float(v) for v in info.fn(preds, refs, **kwargs)]
            if len(values) != len(preds):
                raise ValueError(f"batch metric {name!r} returned {len(values)} scores")
        else:
            values = [float(info.fn(p, r, **kwargs)) for p, r in zip(preds, refs, strict=True)]
        scores[name] = values
    return scores


def summarize(
    scores: Mapping[str, Sequence[float]],
    seed: int = 0,
    n_resamples: int = 2000,
) -> dict[str, dict[str, Any]]:
    """``{metric: {"mean", "ci95": [lo, hi], "n"}}`` with a 95% percentile bootstrap CI.

    Every metric gets the same seed, so re-running a pilot reproduces its intervals.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, values in scores.items():
        if len(values) == 0:
            raise AdvisorError(f"no scores for metric {name!r}: the test split is empty")
        lo, hi = bootstrap_ci(values, confidence=0.95, n_resamples=n_resamples, seed=seed)
        out[name] = {"mean": float(np.mean(values)), "ci95": [lo, hi], "n": len(values)}
    return out
