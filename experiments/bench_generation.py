"""Generation: the pilot's batched ``HFGenerator.generate`` vs a per-example generate loop.

Both paths run the same random-weight model on the same prompts with the same greedy
settings, stop tokens and new-token budget. The per-example loop is what a first script
does: ``model.generate`` once per prompt (KV cache on, the library's defaults). Tokens/s
counts generated tokens (each path's own count, so an early stop is not credited as work)
and ``outputs_match`` says how many answers came out identical, as a sanity check that the
batched path (left padding, attention mask) computes the same thing.
"""

from __future__ import annotations

import time
from typing import Any

from bench_common import build_model, load_config, match_special_ids, param_count, rag_prompts


def _per_example(model: Any, tokenizer: Any, prompts: list[str], new_tokens: int):
    import torch

    texts, tokens = [], 0
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    t0 = time.perf_counter()
    for prompt in prompts:
        ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            do_sample=False,
            eos_token_id=eos,
            pad_token_id=pad,
        )
        new = out[0, ids.shape[1] :].tolist()
        tokens += len(new)
        kept = new[: new.index(eos)] if eos in new else new
        texts.append(tokenizer.decode(kept, skip_special_tokens=True).strip())
    return texts, tokens, time.perf_counter() - t0


def _batched(generator: Any, prompts: list[str], new_tokens: int, batch_size: int):
    t0 = time.perf_counter()
    results = generator.generate(prompts, max_new_tokens=new_tokens, batch_size=batch_size)
    seconds = time.perf_counter() - t0
    return [r.text for r in results], sum(r.output_tokens for r in results), seconds


def faster(a: Any, b: Any) -> Any:
    """Of two (texts, tokens, seconds) runs, the one with the higher tokens/s."""
    return b if a is None or b[1] / b[2] > a[1] / a[2] else a


def generation_bench(
    model_name: str,
    tokenizer: Any,
    sample: str,
    n_prompts: int = 16,
    new_tokens: int = 32,
    batch_size: int = 16,
    repeats: int = 1,
    compare_fp32: bool = True,
) -> dict[str, Any]:
    """Side by side, alternating, best of ``repeats`` for each path (a busy machine is noisy)."""
    import torch

    from advisor.models.hf import HFGenerator
    from advisor.runtime import configure_threads

    configure_threads()
    config = load_config(model_name, vocab_size=len(tokenizer))
    model = build_model(config)  # in the dtype the pilot would load this checkpoint in
    match_special_ids(model, tokenizer)
    generator = HFGenerator(model, tokenizer, model_name)
    prompts = [p for p, _ in rag_prompts(generator, sample, n_prompts)]
    generator.generate(prompts[:2], max_new_tokens=2, batch_size=2)  # warm-up, both paths share
    fp32 = None
    if compare_fp32 and model.dtype != torch.float32:
        # the same batched path with the model upcast to fp32 (how the pilot ran before)
        model32 = build_model(config, dtype="float32")
        match_special_ids(model32, tokenizer)
        gen32 = HFGenerator(model32, tokenizer, model_name)
        gen32.generate(prompts[:2], max_new_tokens=2, batch_size=2)
        fp32 = _batched(gen32, prompts, new_tokens, batch_size)
        del gen32, model32

    batched = per_example = None
    for _ in range(repeats):
        batched = faster(batched, _batched(generator, prompts, new_tokens, batch_size))
        per_example = faster(per_example, _per_example(model, tokenizer, prompts, new_tokens))
    b_tps = batched[1] / batched[2]
    p_tps = per_example[1] / per_example[2]
    match = sum(a == b for a, b in zip(batched[0], per_example[0], strict=True))
    prompt_tokens = [len(tokenizer.encode(p, add_special_tokens=False)) for p in prompts]
    extra = {}
    if fp32 is not None:
        extra = {
            "batched_fp32_tokens_per_s": round(fp32[1] / fp32[2], 2),
            "dtype_speedup_vs_fp32": round(b_tps / (fp32[1] / fp32[2]), 3),
        }
    return {
        "model": model_name,
        "dtype": str(model.dtype).removeprefix("torch."),
        "params": param_count(model_name, config),
        "prompts": len(prompts),
        "prompt_tokens_mean": round(sum(prompt_tokens) / len(prompts), 1),
        "prompt_tokens_min_max": [min(prompt_tokens), max(prompt_tokens)],
        "new_tokens": new_tokens,
        "batch_size": batch_size,
        "batched_tokens": batched[1],
        "batched_seconds": round(batched[2], 3),
        "batched_tokens_per_s": round(b_tps, 2),
        "per_example_tokens": per_example[1],
        "per_example_seconds": round(per_example[2], 3),
        "per_example_tokens_per_s": round(p_tps, 2),
        "speedup": round(b_tps / p_tps, 3),
        "outputs_match": f"{match}/{len(prompts)}",
        **extra,
    }
