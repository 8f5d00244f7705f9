"""Hand-made pilot results, recommendations and run folders for the report tests.

The shapes follow docs/design.md (results.json) and ``Recommendation.to_dict()``; numbers
are chosen so tests can recompute what the report must show.
"""

from __future__ import annotations

import json
from pathlib import Path

ARMS = ("zero_shot", "few_shot", "bm25_rag", "faiss_rag", "lora", "lora_rag", "nearest_neighbor")
METRICS = ("exact_match", "token_f1", "rouge_l", "semantic_similarity")
PROMPT_TOKENS = {
    "zero_shot": 120.0,
    "few_shot": 720.0,
    "bm25_rag": 650.0,
    "faiss_rag": 640.0,
    "lora": 118.0,
    "lora_rag": 610.0,
}


def make_results(smoke: bool = False, n_test: int = 40, arms=ARMS) -> dict:
    """A results.json dict with every block the report reads."""
    blocks = {}
    for i, arm in enumerate(arms):
        metrics = {}
        for j, metric in enumerate(METRICS):
            mean = round(0.21 + 0.07 * i + 0.01 * j, 3)
            metrics[metric] = {
                "mean": mean,
                "ci95": [round(mean - 0.081, 3), round(mean + 0.069, 3)],
            }
        block = {
            "status": "ok",
            "error": None,
            "metrics": metrics,
            "n": n_test,
            "latency_ms": {"p50": 40.0 + 30 * i, "p95": 95.0 + 40 * i, "mean": 52.0 + 30 * i},
            "peak_memory_mb": 700.0 + 150 * i,
        }
        if arm in PROMPT_TOKENS:
            block["tokens"] = {"prompt_mean": PROMPT_TOKENS[arm], "output_mean": 22.0}
        if arm in ("zero_shot", "few_shot"):
            block["failures"] = {
                "information": 13 - 5 * i,
                "behaviour": 7 + i,
                "correct": 15 + 4 * i,
                "other": 5,
            }
        if arm in ("lora", "lora_rag"):
            block["train"] = {
                "seconds": 95.5,
                "trainable_params": 294912,
                "final_loss": 1.234,
                "train_loss": [2.9, 2.4, 2.0, 1.7, 1.5, 1.4, 1.3, 1.25],
                "val_loss": [2.5, 1.9, 1.6, 1.62],
                "peak_memory_mb": 1800.0,
                "adapter_dir": f"adapters/{arm}",
            }
        blocks[arm] = block
    return {
        "version": 1,
        "model": "builtin:tiny" if smoke else "Qwen/Qwen2.5-0.5B-Instruct",
        "smoke": smoke,
        "seed": 0,
        "config": {"arms": list(arms)},
        "data": {
            "n_examples": 200,
            "n_train": 140,
            "n_validation": 20,
            "n_test": n_test,
            "n_documents": 50,
            "n_chunks": 80,
            "warnings": [],
        },
        "arms": blocks,
        "retrieval": {
            "bm25": {"recall@1": 0.55, "recall@5": 0.8, "mrr": 0.64},
            "faiss": {"recall@1": 0.6, "recall@5": 0.85, "mrr": 0.7},
        },
        "comparisons": [
            {
                "a": "bm25_rag",
                "b": "zero_shot",
                "metric": "token_f1",
                "diff": 0.213,
                "ci95": [0.104, 0.317],
                "p_value": 0.0004,
                "p_holm": 0.0021,
                "test": "permutation_exact",
                "n": n_test,
                "significant": True,
            },
            {
                "a": "few_shot",
                "b": "zero_shot",
                "metric": "token_f1",
                "diff": 0.047,
                "ci95": [-0.031, 0.122],
                "p_value": 0.21,
                "p_holm": 0.63,
                "test": "permutation_exact",
                "n": n_test,
                "significant": False,
            },
        ],
        "mde": {"token_f1": 0.123, "exact_match": 0.198},
    }


def make_recommendation() -> dict:
    """``Recommendation.to_dict()`` in the contract shape."""
    return {
        "primary": "rag",
        "scores": {"prompting": -1.0, "rag": 3.5, "finetune": 0.5, "rag+finetune": 1.5},
        "next_step": "Index the knowledge base with BM25 and put the top 5 passages in the prompt.",
        "reasons": [
            {
                "text": "Failures are mostly missing knowledge: retrieval supplies the facts.",
                "source": "Ovadia et al. 2024",
                "rule": "information_failures",
                "effects": {"rag": 2.5, "rag+finetune": 1.5, "finetune": -1.0},
            },
            {
                "text": "Prompting was tried systematically and still fails.",
                "source": "AI Engineering, ch. 7",
                "rule": "workflow_order",
                "effects": {"prompting": -1.0},
            },
            {
                "text": "Documents hold the information.",
                "source": "AI Engineering, ch. 7",
                "rule": "knowledge_source",
                "effects": {"rag": 1.0},
            },
            {
                "text": "The model fits on the GPU.",
                "source": "memory math",
                "rule": "memory_fit",
                "effects": {},
            },
        ],
        "finetune_plan": {
            "method": "lora",
            "rank": 8,
            "alpha": 16,
            "target_modules": ["q_proj", "v_proj"],
            "learning_rate": 0.0002,
            "epochs": 4,
            "train_memory_gb": 3.2,
        },
        "ranking": ["rag", "rag+finetune", "finetune", "prompting"],
        "confidence": "high",
        "contributions": {
            "rag": [
                {"rule": "information_failures", "delta": 2.5, "answers": ["failures"]},
                {"rule": "knowledge_source", "delta": 1.0, "answers": ["knowledge_source"]},
            ],
            "rag+finetune": [
                {"rule": "information_failures", "delta": 1.5, "answers": ["failures"]}
            ],
            "finetune": [{"rule": "information_failures", "delta": -1.0, "answers": ["failures"]}],
            "prompting": [
                {"rule": "workflow_order", "delta": -1.0, "answers": ["prompting_effort"]}
            ],
        },
    }


def make_answers() -> dict:
    return {
        "task": "Answer HR policy questions",
        "prompting_effort": "systematic",
        "failures": ["missing_knowledge"],
        "knowledge_source": True,
        "queries_per_day": 5000,
        "labeled_examples": 300,
    }


def make_predictions(arms=ARMS, n: int = 6, inputs=None, outputs=None) -> list[dict]:
    """One row per (arm, example); ``inputs``/``outputs`` override the texts (cycled)."""
    rows = []
    for k in range(n):
        for i, arm in enumerate(arms):
            text = inputs[k % len(inputs)] if inputs else f"How many leave days in case {k}?"
            if outputs:
                out = outputs[(k + i) % len(outputs)]
            else:
                out = f"{20 + k} days" if i % 2 else f"I am not sure ({arm})"
            rows.append(
                {
                    "arm": arm,
                    "example_id": f"ex{k}",
                    "input": text,
                    "reference": f"{20 + k} days",
                    "output": out,
                    "retrieved_ids": [],
                    "latency_ms": 10.0,
                    "prompt_tokens": 100,
                    "output_tokens": 5,
                    "error": None,
                }
            )
    return rows


def write_run(
    path: Path,
    results: dict | None = None,
    predictions: list[dict] | None = None,
    answers: dict | None = None,
) -> Path:
    """A run folder as ``advisor pilot`` writes it: results.json + predictions.jsonl."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "results.json").write_text(json.dumps(results or make_results()), encoding="utf-8")
    rows = make_predictions() if predictions is None else predictions
    (path / "predictions.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    if answers is not None:
        (path / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    return path
