"""The questionnaire: what the advisor needs to know about a team, with defaults and checks.

Why strict: an answer the tool silently misreads (``"yes"`` for a yes/no question, a typo in
a key) produces a confident recommendation for a team that does not exist. So every key is
known, every value is checked, and every mistake is an ``AnswersError`` that names the key
and what is allowed. A missing key takes the default documented on ``Answers``.

``QUESTIONS`` is the ordered table the app and the report render: one row per key, grouped
in the order the chapter's workflow asks them (prompting first, then failures, knowledge,
data, model, serving).
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from advisor.decide.citations import cite
from advisor.errors import AnswersError

INFORMATION_FAILURES = ("missing_knowledge", "outdated_knowledge", "hallucinated_facts")
BEHAVIOUR_FAILURES = (
    "wrong_format",
    "wrong_style",
    "ignores_instructions",
    "unsafe_output",
    "weak_domain_skill",
)
COST_FAILURES = ("too_slow_or_costly",)
FAILURES = INFORMATION_FAILURES + BEHAVIOUR_FAILURES + COST_FAILURES

FAILURE_HELP: dict[str, str] = {
    "missing_knowledge": "lacks private or domain facts (information)",
    "outdated_knowledge": "states facts that were true once (information)",
    "hallucinated_facts": "invents facts, names or numbers (information)",
    "wrong_format": "facts fine, but the output breaks the required format (behaviour)",
    "wrong_style": "facts fine, but tone or house style is off (behaviour)",
    "ignores_instructions": "does not follow the task's instructions (behaviour)",
    "unsafe_output": "produces unsafe or biased output (behaviour)",
    "weak_domain_skill": "lacks a skill, e.g. an uncommon SQL dialect (behaviour)",
    "too_slow_or_costly": "good enough, but too slow or expensive at your volume (cost)",
}

MAX_FILE_BYTES = 1_000_000  # an answers file is a few hundred bytes; more is a wrong file
MAX_TASK_CHARS = 10_000


@dataclass(frozen=True)
class Answers:
    """One team's answers. Defaults describe a typical team that has just started.

    Defaults are conservative on purpose: a missing answer never unlocks an expensive
    option (no accelerator, cannot serve a custom model, no labelled data).
    """

    task: str = ""  # free text, shown in the report; the rules do not read it
    prompting_effort: str = "none"  # nothing tried yet: the workflow starts here
    few_shot_tried: bool = False  # examples in the prompt are the second step
    failures: tuple[str, ...] = ()  # none reported: keep iterating on prompts
    knowledge_source: bool = False  # RAG needs documents; do not assume they exist
    knowledge_change: str = "static"  # most task knowledge changes slowly
    needs_citations: bool = False  # only some products must show sources
    labeled_examples: int = 0  # no curated (input, output) pairs yet
    can_distill: bool = False  # a stronger model labelling data is an explicit choice
    ml_expertise: str = "some"  # a typical engineering team can run a training script
    model_access: str = "open_weights"  # the advisor's pilot trains open-weights models
    model_params_b: float = 7.0  # the common small open model size
    gpu_memory_gb: float = 0.0  # no accelerator unless the team says so
    can_serve_custom_model: bool = True  # like open_weights: assume no hard block unless told
    queries_per_day: int = 1000  # a modest internal tool
    multi_task: bool = False  # one model, one task

    def __post_init__(self) -> None:
        for question in QUESTIONS:
            value = getattr(self, question.key)
            checked = question.check(value)
            if checked is not value:
                object.__setattr__(self, question.key, checked)

    @property
    def information_failures(self) -> tuple[str, ...]:
        return tuple(f for f in self.failures if f in INFORMATION_FAILURES)

    @property
    def behaviour_failures(self) -> tuple[str, ...]:
        return tuple(f for f in self.failures if f in BEHAVIOUR_FAILURES)


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Answers)}
_SHOW = reprlib.Repr()  # keyword arguments need Python 3.12
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlist, _SHOW.maxdict = 2, 60, 60, 5, 5


def show(value: object) -> str:
    """repr() bounded in size and depth: user values can be huge or self-referencing."""
    try:
        return _SHOW.repr(value)
    except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
        return f"a {type(value).__name__} too large to show"


def _num(x: float | None) -> str:
    return f"{int(x):,}" if x is not None and float(x).is_integer() else f"{x}"


def _closest(word: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(word, str):
        return ""
    match = difflib.get_close_matches(word, allowed, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


@dataclass(frozen=True)
class Question:
    key: str
    type: str  # "text", "bool", "int", "float", "choice" (one of), "choices" (list of)
    label: str  # the question as the app asks it
    help: str  # one line: what the answer means
    principle: str  # why the advisor asks: the framework rule it feeds
    source: str  # where that rule comes from (chapter section or paper)
    group: str  # workflow stage the question belongs to
    allowed: tuple[str, ...] = ()  # for choice / choices
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False  # model_params_b must be > 0, not >= 0

    @property
    def default(self) -> Any:
        return _DEFAULTS[self.key]

    def describe_allowed(self) -> str:
        if self.type == "choice":
            return "one of " + ", ".join(self.allowed)
        if self.type == "choices":
            return "a list of " + ", ".join(self.allowed)
        if self.type == "bool":
            return "true or false"
        if self.type == "text":
            return f"text (up to {MAX_TASK_CHARS} characters)"
        low = "> " if self.exclusive_minimum else ">= "
        kind = "a whole number" if self.type == "int" else "a number"
        return f"{kind} {low}{_num(self.minimum)} and <= {_num(self.maximum)}"

    def check(self, value: Any) -> Any:
        """Return ``value`` (normalised: list -> tuple, int -> float) or raise AnswersError."""
        if self.type == "text":
            if not isinstance(value, str):
                raise AnswersError(f"{self.key} must be text, in quotes (not {show(value)})")
            if len(value) > MAX_TASK_CHARS:
                raise AnswersError(f"{self.key} is too long: at most {MAX_TASK_CHARS} characters")
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise AnswersError(f"{self._bad(value)}; write true or false without quotes")
            return value
        if self.type == "choice":
            if not isinstance(value, str) or value not in self.allowed:
                raise AnswersError(self._bad(value) + _closest(value, self.allowed))
            return value
        if self.type == "choices":
            return self._check_choices(value)
        return self._check_number(value)

    def _check_choices(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise AnswersError(
                f"{self.key} must be a list, e.g. [{self.allowed[0]}] (not {show(value)}); "
                f"allowed items: {', '.join(self.allowed)}"
            )
        seen: list[str] = []
        for item in value:
            if not isinstance(item, str) or item not in self.allowed:
                raise AnswersError(
                    f"{self.key} has an unknown item {show(item)}{_closest(item, self.allowed)};"
                    f" allowed items: {', '.join(self.allowed)}"
                )
            if item in seen:
                raise AnswersError(f"{self.key} lists {item!r} twice; give each item once")
            seen.append(item)
        return value if isinstance(value, tuple) else tuple(value)

    def _bad(self, value: Any) -> str:
        return f"{self.key} must be {self.describe_allowed()} (not {show(value)})"

    def _check_number(self, value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswersError(self._bad(value))
        if isinstance(value, float) and not math.isfinite(value):
            raise AnswersError(self._bad(value))
        if self.type == "int":
            if isinstance(value, float):
                if not value.is_integer():
                    raise AnswersError(self._bad(value))
                value = int(value)
        elif isinstance(value, int):
            value = float(value)
        assert self.minimum is not None and self.maximum is not None
        too_low = value <= self.minimum if self.exclusive_minimum else value < self.minimum
        if too_low or value > self.maximum:
            raise AnswersError(self._bad(value))
        return value


_P, _F, _K, _D, _M, _S = (
    "Prompting so far",
    "Failures",
    "Knowledge",
    "Data and team",
    "Model and hardware",
    "Serving",
)
GROUPS: tuple[str, ...] = ("Task", _P, _F, _K, _D, _M, _S)

# fmt: off
QUESTIONS: tuple[Question, ...] = (
    Question("task", "text", "What should the model do?",
             "One sentence describing the task; shown in the report.",
             "Adaptation is judged per task: the same model can need different fixes for "
             "different tasks.", cite("approaches"), "Task"),
    Question("prompting_effort", "choice", "How much prompt engineering have you tried?",
             "systematic = versioned prompts, each evaluated on a fixed test set.",
             "Prompting is always the starting point; many 'we need finetuning' cases are "
             "fixed by better prompts.", cite("workflow", "reasons_not_to_finetune"), _P,
             allowed=("none", "basic", "systematic")),
    Question("few_shot_tried", "bool", "Have you put worked examples in the prompt?",
             "Few-shot prompting: typically 1 to 50 (input, output) examples in the prompt.",
             "Examples in the prompt are the second step of the workflow, before retrieval or "
             "training.", cite("workflow"), _P),
    Question("failures", "choices", "How does the model fail with prompting?",
             "Pick every failure you have seen; leave empty if prompting works.",
             "Information failures call for RAG, behaviour failures for finetuning: "
             "finetuning is for form, RAG is for facts.",
             cite("info_vs_behaviour", "ovadia2024"), _F, allowed=FAILURES),
    Question("knowledge_source", "bool", "Do documents or a database hold the needed facts?",
             "A knowledge base RAG could retrieve from.",
             "RAG adds information at inference time; it needs a source to retrieve from.",
             cite("approaches", "lewis2020"), _K),
    Question("knowledge_change", "choice", "How often does that information change?",
             "static, monthly or daily.",
             "RAG gives fresh knowledge without retraining; finetuned knowledge goes stale.",
             cite("info_vs_behaviour"), _K, allowed=("static", "monthly", "daily")),
    Question("needs_citations", "bool", "Must answers cite their sources?",
             "Attribution: each answer names the documents it rests on.",
             "RAG gives attribution; a finetuned model cannot say where a fact came from.",
             cite("info_vs_behaviour", "lewis2020"), _K),
    Question("labeled_examples", "int", "How many good (input, output) examples do you have?",
             "Curated pairs you would accept as correct answers.",
             "50-100 examples test whether finetuning helps; LoRA wants hundreds to "
             "thousands; full finetuning tens of thousands.", cite("data_amount"), _D,
             minimum=0, maximum=1e9),
    Question("can_distill", "bool", "Could a stronger model generate or label training data?",
             "E.g. a frontier API model writing outputs for your inputs.",
             "Distillation: the strongest model produces data to finetune a cheaper one.",
             cite("distillation", "tactics"), _D),
    Question("ml_expertise", "choice", "How strong is the team at training and evaluating models?",
             "none, some or strong.",
             "Finetuning needs ML expertise: training, evaluation, hyperparameters.",
             cite("reasons_not_to_finetune"), _D, allowed=("none", "some", "strong")),
    Question("model_access", "choice", "What can you do to the model you use?",
             "api_only (no finetuning), api_finetune (provider's finetuning API), "
             "open_weights (you hold the weights).",
             "Closed API-only models may offer no finetuning at all.",
             cite("reasons_not_to_finetune"), _M,
             allowed=("api_only", "api_finetune", "open_weights")),
    Question("model_params_b", "float", "How large is the model to adapt (billions of params)?",
             "E.g. 7 for a 7B model; for distillation, the smaller model to train.",
             "Training memory grows with parameters; PEFT and quantization shrink it.",
             cite("memory_math", "peft"), _M, minimum=0, maximum=10_000,
             exclusive_minimum=True),
    Question("gpu_memory_gb", "float", "How much accelerator memory can you train on (GB)?",
             "Total GPU memory for training; 0 = no accelerator.",
             "Whether full finetuning, LoRA or QLoRA fits is memory math.",
             cite("memory_math", "dettmers2023"), _M, minimum=0, maximum=100_000),
    Question("can_serve_custom_model", "bool", "Can you serve a finetuned model?",
             "Host it yourself, or use a provider's finetuning API that serves it.",
             "A finetuned model needs serving, monitoring and maintenance.",
             cite("reasons_not_to_finetune"), _S),
    Question("queries_per_day", "int", "How many queries a day do you expect?",
             "Traffic decides whether a smaller distilled model pays off.",
             "At volume a small finetuned model can cut latency and cost.",
             cite("distillation"), _S, minimum=0, maximum=1e12),
    Question("multi_task", "bool", "Does the same model serve several different tasks?",
             "E.g. one deployment answering questions and writing SQL.",
             "Finetuning on one task can degrade others: use one adapter per task.",
             cite("reasons_not_to_finetune", "peft"), _S),
)
# fmt: on

# How the app and the report show the choices whose keys do not read as words.
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "model_access": {
        "api_only": "API only (no finetuning)",
        "api_finetune": "API with the provider's finetuning",
        "open_weights": "open weights (we hold them)",
    },
}


def choice_label(key: str, value: object) -> str:
    """A choice or failure as words: ``open_weights`` -> 'open weights (we hold them)'."""
    text = CHOICE_LABELS.get(key, {}).get(str(value))
    return text if text is not None else str(value).replace("_", " ")


QUESTION_BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
KEYS: tuple[str, ...] = tuple(q.key for q in QUESTIONS)
assert set(KEYS) == set(_DEFAULTS), "QUESTIONS and Answers must list the same keys"


def parse_answers(mapping: object) -> Answers:
    """Validate a decoded answers document (a mapping of key -> value) into ``Answers``."""
    if not isinstance(mapping, Mapping):
        raise AnswersError(
            f"answers must be a mapping of key: value (got {type(mapping).__name__}); "
            f"allowed keys: {', '.join(KEYS)}"
        )
    for key in mapping:
        if not isinstance(key, str):
            raise AnswersError(f"answer keys must be text (not {show(key)})")
        if key not in QUESTION_BY_KEY:
            raise AnswersError(
                f"unknown key {show(key)}{_closest(key, KEYS)}; allowed keys: {', '.join(KEYS)}"
            )
    return Answers(**mapping)


def answers_to_dict(answers: Answers) -> dict[str, Any]:
    """Plain JSON-ready dict (failures as a list); ``parse_answers`` reads it back."""
    out = {key: getattr(answers, key) for key in KEYS}
    out["failures"] = list(answers.failures)
    return out
