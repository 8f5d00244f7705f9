"""Batched vs per-example generation with the real default model (its trained weights).

``python experiments/bench_generation_real.py [--prompts 32] [--new-tokens 32] [--json]``

Why beside ``bench.py``'s generation section, which uses the exact configuration with random
weights: a trained model stops at its end-of-turn token, at different lengths per prompt,
so a batch keeps running for rows that have finished; only real weights show what that
costs. Same comparison otherwise: the pilot's ``HFGenerator.generate`` (batches of 16, left
padding, length-sorted) against a ``model.generate`` call per prompt on the same model
object, the same RAG prompts from the facts sample, greedy, the same stop token. Tokens/s
counts the tokens each path generated; best of two alternating repeats.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_common import machine, rag_prompts  # noqa: E402
from bench_generation import _batched, _per_example, faster  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from advisor.models.load import load_generator
    from advisor.runtime import configure_threads

    configure_threads()
    gen = load_generator(None)  # the default model, from the model cache (`advisor models pull`)
    if gen.smoke:
        raise SystemExit("the real default model is not cached: run `advisor models pull` first")
    prompts = [p for p, _ in rag_prompts(gen, "facts", args.prompts)]
    gen.generate(prompts[:2], max_new_tokens=2, batch_size=2)  # warm-up for both paths

    batched = per_example = None
    for _ in range(2):
        batched = faster(batched, _batched(gen, prompts, args.new_tokens, args.batch_size))
        per_example = faster(
            per_example, _per_example(gen.model, gen.tokenizer, prompts, args.new_tokens)
        )
    b_tps, p_tps = batched[1] / batched[2], per_example[1] / per_example[2]
    out = {
        "model": gen.name,
        "dtype": str(gen.model.dtype).removeprefix("torch."),
        "prompts": len(prompts),
        "new_tokens": args.new_tokens,
        "batch_size": args.batch_size,
        "batched_tokens": batched[1],
        "batched_seconds": round(batched[2], 2),
        "batched_tokens_per_s": round(b_tps, 1),
        "per_example_tokens": per_example[1],
        "per_example_seconds": round(per_example[2], 2),
        "per_example_tokens_per_s": round(p_tps, 1),
        "generation_speedup": round(b_tps / p_tps, 2),
        "wall_speedup": round(per_example[2] / batched[2], 2),
        "outputs_match": sum(a == b for a, b in zip(batched[0], per_example[0], strict=True)),
        "machine": machine(),
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
