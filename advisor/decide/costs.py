"""What each option costs to run, and when finetuning pays for itself.

Why this exists: the chapter's case for finetuning at volume (framework §2, distillation) is
an economic one. Few-shot examples and retrieved context make every prompt longer; a
finetuned model needs neither, and a smaller finetuned model is cheaper per token, but
finetuning costs money up front (and a dedicated endpoint may cost a fixed fee per month).
The break-even point says after how many days, at the team's traffic, the one-off cost is
paid back -- or that it never is.

Token counts come from the pilot (``arms.<arm>.tokens.prompt_mean/output_mean``) when it
measured them, else from ``TokenEstimates``. Prices are the user's: the defaults are
*examples* of the order of magnitude of hosted-API prices, not quotes. Edit them with
``advisor report --prices FILE`` (JSON or YAML with any of the ``Prices`` fields).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError

DAYS_PER_MONTH = 30  # a billing month, for "per month" figures
PER_QUERIES = 1000  # "cost per 1k queries"
DEFAULT_QUERIES_PER_DAY = 1000  # used (and flagged as assumed) when the answers give none
DEFAULT_EPOCHS = 3  # when no finetuning plan says otherwise
DEFAULT_TRAIN_EXAMPLES = 1000  # when neither the answers nor the pilot say how many


class PricesError(AdvisorError, ValueError):
    """Prices are user input (a file or app widgets): an AdvisorError the CLI reports."""


@dataclass(frozen=True)
class Prices:
    """Money per 1M tokens (and per GPU hour). Every default is an illustrative example.

    Why two model prices: the prompted base model is usually a large hosted model; the
    finetuned model is usually a smaller one (or a provider's finetuned variant) with its own
    serving price. Set them equal if you would finetune the same model you prompt.
    """

    currency: str = "USD"  # label only; no conversion is done
    base_input_per_1m: float = 0.50  # prompted base model, input tokens (example price)
    base_output_per_1m: float = 1.50  # prompted base model, output tokens (example price)
    finetuned_input_per_1m: float = 0.30  # serving the finetuned model, input (example)
    finetuned_output_per_1m: float = 1.20  # serving the finetuned model, output (example)
    finetuned_hosting_per_month: float = 0.0  # fixed fee of a dedicated endpoint; 0 = per-token
    training_per_1m: float = 3.0  # finetuning API price per 1M training tokens (example)
    training_tokens: float | None = None  # None = examples x tokens per example x epochs
    gpu_hours: float | None = None  # set to price self-hosted training by GPU time instead
    gpu_hour_rate: float = 2.0  # money per GPU hour (example cloud rate)
    one_off_extra: float = 0.0  # labelling, engineering time... 0 = not counted

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or not self.currency.strip():
            raise PricesError(f"currency must be a non-empty text (not {self.currency!r})")
        for f in fields(self):
            if f.name == "currency":
                continue
            value = getattr(self, f.name)
            if value is None and f.name in ("training_tokens", "gpu_hours"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise PricesError(f"{f.name} must be a number >= 0 (not {value!r})")


@dataclass(frozen=True)
class TokenEstimates:
    """Token counts used when the pilot did not measure an option."""

    prompt_tokens: float = 200.0  # instructions + the user's input, no examples or context
    output_tokens: float = 60.0  # a short answer
    few_shot_examples: int = 5  # examples put in a few-shot prompt
    tokens_per_example: float = 150.0  # one (input, output) pair in the prompt
    retrieved_passages: int = 5  # passages put in a RAG prompt
    tokens_per_passage: float = 120.0  # one retrieved chunk

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise PricesError(f"{f.name} must be a number >= 0 (not {value!r})")


@dataclass(frozen=True)
class CostOption:
    name: str
    label: str
    approach: str  # the recommendation's approach this option implements
    arms: tuple[str, ...]  # pilot arms whose measured tokens stand for this option
    finetuned: bool
    few_shot: bool = False
    retrieval: bool = False


OPTIONS: tuple[CostOption, ...] = (
    CostOption("zero_shot", "Zero-shot prompting", "prompting", ("zero_shot",), False),
    CostOption("few_shot", "Few-shot prompting", "prompting", ("few_shot",), False, few_shot=True),
    CostOption("rag", "RAG", "rag", ("bm25_rag", "faiss_rag", "hybrid_rag"), False, retrieval=True),
    CostOption("finetune", "Finetuned model", "finetune", ("lora",), True),
    CostOption(
        "rag+finetune", "Finetuned model + RAG", "rag+finetune", ("lora_rag",), True, retrieval=True
    ),
)


def load_prices(path: str | Path) -> Prices:
    """Prices from a JSON or YAML file holding any subset of the ``Prices`` fields."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PricesError(f"cannot read prices file {path}: {exc}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as exc:  # yaml and json raise different types; both are user errors
        raise PricesError(f"prices file {path} is not valid JSON/YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PricesError(f"prices file {path} must hold an object of fields (not {raw!r:.60})")
    return prices_from_mapping(raw)


def prices_from_mapping(raw: Mapping[str, Any]) -> Prices:
    allowed = [f.name for f in fields(Prices)]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise PricesError(
            f"unknown price field(s) {', '.join(map(str, unknown))}; allowed: " + ", ".join(allowed)
        )
    return Prices(**dict(raw))


def _measured(tokens: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if not isinstance(tokens, Mapping):
        return None
    prompt, output = tokens.get("prompt_mean"), tokens.get("output_mean")
    ok = all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in (prompt, output)
    )
    return (float(prompt), float(output)) if ok else None


def _option_tokens(
    option: CostOption, measured: Mapping[str, Any], est: TokenEstimates
) -> dict[str, Any]:
    for arm in option.arms:
        found = _measured(measured.get(arm))
        if found:
            return {
                "prompt_tokens": found[0],
                "output_tokens": found[1],
                "tokens_source": "measured",
                "source_arm": arm,
            }
    base = _measured(measured.get("zero_shot")) or (est.prompt_tokens, est.output_tokens)
    prompt = base[0]
    if option.few_shot:
        prompt += est.few_shot_examples * est.tokens_per_example
    if option.retrieval:
        prompt += est.retrieved_passages * est.tokens_per_passage
    return {
        "prompt_tokens": prompt,
        "output_tokens": base[1],
        "tokens_source": "estimate",
        "source_arm": None,
    }


def finetune_one_off(
    prices: Prices, n_examples: int, tokens_per_example: float, epochs: int
) -> dict[str, Any]:
    """One-off cost of finetuning: GPU hours x rate when given, else training tokens x price."""
    if prices.gpu_hours is not None:
        training = prices.gpu_hours * prices.gpu_hour_rate
        method, train_tokens = "gpu_hours", None
    else:
        train_tokens = (
            prices.training_tokens
            if prices.training_tokens is not None
            else n_examples * tokens_per_example * epochs
        )
        training = train_tokens / 1e6 * prices.training_per_1m
        method = "training_tokens"
    return {
        "cost": training + prices.one_off_extra,
        "training_cost": training,
        "extra": prices.one_off_extra,
        "method": method,
        "training_tokens": train_tokens,
        "n_examples": n_examples,
        "tokens_per_example": tokens_per_example,
        "epochs": epochs,
        "gpu_hours": prices.gpu_hours,
        "gpu_hour_rate": prices.gpu_hour_rate,
    }


def break_even(
    one_off: float,
    cost_other: float,
    cost_finetuned: float,
    queries_per_day: float,
    hosting_per_month: float = 0.0,
) -> dict[str, Any]:
    """Days (and queries) until the finetuned option's one-off cost is paid back.

    Saving per day = queries/day x (other option's cost per query - finetuned cost per query)
    - the finetuned endpoint's fixed fee per day. No positive saving means "never".
    """
    per_query = cost_other - cost_finetuned
    daily = queries_per_day * per_query - hosting_per_month / DAYS_PER_MONTH
    if daily <= 0:
        why = (
            "no traffic"
            if queries_per_day <= 0
            else "the finetuned option is not cheaper per query"
            if per_query <= 0
            else "the fixed hosting fee exceeds the per-query savings"
        )
        return {
            "never": True,
            "days": None,
            "queries": None,
            "saving_per_query": per_query,
            "saving_per_1k": per_query * PER_QUERIES,
            "saving_per_day": daily,
            "why": why,
        }
    d = one_off / daily
    return {
        "never": False,
        "days": d,
        "queries": d * queries_per_day,
        "saving_per_query": per_query,
        "saving_per_1k": per_query * PER_QUERIES,
        "saving_per_day": daily,
        "why": None,
    }


def project_costs(
    prices: Prices | None = None,
    queries_per_day: float | None = None,
    measured: Mapping[str, Any] | None = None,
    estimates: TokenEstimates | None = None,
    n_train_examples: int | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """Cost per query, per 1k queries and per month for every option, plus break-even rows.

    ``measured`` maps arm name -> ``{"prompt_mean", "output_mean"}`` (the pilot's
    ``arms.<arm>.tokens``). Every finetuned option gets a break-even row against every
    non-finetuned one, so the reader can pick the comparison that matches their plan.
    """
    prices = prices or Prices()
    est = estimates or TokenEstimates()
    measured = measured or {}
    assumed = queries_per_day is None
    qpd = float(DEFAULT_QUERIES_PER_DAY if queries_per_day is None else queries_per_day)
    if qpd < 0:
        raise PricesError(f"queries_per_day must be >= 0 (not {queries_per_day!r})")
    n_train = n_train_examples if n_train_examples and n_train_examples > 0 else None
    n_train_source = "given" if n_train else "assumed"
    n_train = n_train or DEFAULT_TRAIN_EXAMPLES
    epochs = epochs if epochs and epochs > 0 else DEFAULT_EPOCHS

    options: list[dict[str, Any]] = []
    for opt in OPTIONS:
        tok = _option_tokens(opt, measured, est)
        pin, pout = (
            (prices.finetuned_input_per_1m, prices.finetuned_output_per_1m)
            if opt.finetuned
            else (prices.base_input_per_1m, prices.base_output_per_1m)
        )
        per_query = (tok["prompt_tokens"] * pin + tok["output_tokens"] * pout) / 1e6
        fixed = prices.finetuned_hosting_per_month if opt.finetuned else 0.0
        options.append(
            {
                "option": opt.name,
                "label": opt.label,
                "approach": opt.approach,
                "finetuned": opt.finetuned,
                **tok,
                "cost_per_query": per_query,
                "cost_per_1k": per_query * PER_QUERIES,
                "cost_per_month": per_query * qpd * DAYS_PER_MONTH + fixed,
                "fixed_per_month": fixed,
            }
        )

    base_prompt = next(o for o in options if o["option"] == "zero_shot")
    one_off = finetune_one_off(
        prices, n_train, base_prompt["prompt_tokens"] + base_prompt["output_tokens"], epochs
    )
    one_off["n_examples_source"] = n_train_source
    rows = []
    for ft in (o for o in options if o["finetuned"]):
        for other in (o for o in options if not o["finetuned"]):
            be = break_even(
                one_off["cost"],
                other["cost_per_query"],
                ft["cost_per_query"],
                qpd,
                prices.finetuned_hosting_per_month,
            )
            rows.append(
                {
                    "option": ft["option"],
                    "versus": other["option"],
                    "option_label": ft["label"],
                    "versus_label": other["label"],
                    **be,
                }
            )
    return {
        "currency": prices.currency,
        "queries_per_day": qpd,
        "queries_per_day_assumed": assumed,
        "days_per_month": DAYS_PER_MONTH,
        "per_queries": PER_QUERIES,
        "prices": asdict(prices),
        "estimates": asdict(est),
        "options": options,
        "finetune_one_off": one_off,
        "break_even": rows,
    }
