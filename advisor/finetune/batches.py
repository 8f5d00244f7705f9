"""Turning (prompt, response) pairs into padded, loss-weighted batches for LoRA training.

Why apart from the loop in :mod:`advisor.finetune.lora`: this is where the pilot's speed and
correctness on a CPU are decided (what gets tokenised how, which positions get logits, how
the prompt-loss weight applies), and the benchmarks and tests call these pieces directly.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.finetune.lora import LoraSettings, TrainPair


def _encode(
    tokenizer: Any, pair: TrainPair, settings: LoraSettings
) -> tuple[list[int], list[float]]:
    """Token ids of prompt + response + eos and a loss weight per token.

    The prompt is tokenised exactly as generation tokenises it (special tokens included),
    the response on its own, so what the model learns to continue is what it will see.
    """
    prompt_ids = list(tokenizer(pair.prompt)["input_ids"])
    response_ids = list(tokenizer(pair.response, add_special_tokens=False)["input_ids"])
    if tokenizer.eos_token_id is not None:
        response_ids.append(tokenizer.eos_token_id)
    response_ids = response_ids[: settings.max_seq_len - 1]
    room = settings.max_seq_len - len(response_ids)
    prompt_ids = prompt_ids[-room:] if room > 0 else []
    ids = prompt_ids + response_ids
    weights = [settings.prompt_loss_weight] * len(prompt_ids) + [1.0] * len(response_ids)
    return ids, weights


def _batches(
    encoded: list[tuple[list[int], list[float]]], batch_size: int, rng: random.Random | None
) -> list[list[int]]:
    """Indices grouped by similar length (less padding), batch order shuffled when rng."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    if rng is not None:
        # shuffle within windows of a few batches, then shuffle the batches: keeps
        # lengths close inside a batch without making training order deterministic by size
        window = batch_size * 4
        chunks = [order[i : i + window] for i in range(0, len(order), window)]
        for chunk in chunks:
            rng.shuffle(chunk)
        order = [i for chunk in chunks for i in chunk]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _collate(encoded, idx: list[int], pad_id: int):
    """Ids, mask and loss weights, LEFT-padded: every row ends in the last column, so the
    response tokens (by default the only ones with loss) share the batch's last columns."""
    import torch

    width = max(len(encoded[i][0]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    weights = torch.zeros((len(idx), width), dtype=torch.float32)
    for row, i in enumerate(idx):
        tok, w = encoded[i]
        ids[row, width - len(tok) :] = torch.tensor(tok)
        mask[row, width - len(tok) :] = 1
        weights[row, width - len(w) :] = torch.tensor(w)
    return ids, mask, weights


def _logits(model, ids, mask, keep: int):
    """Logits of the last ``keep`` positions only (``logits_to_keep``, where supported).

    The positions go in as an index tensor, not a count: a count slices the hidden states
    into a strided view, which makes the output head a batched matmul over a materialised
    copy of its weight (measured: a fifth of a SmolLM2 step); indexing yields a compact copy.
    """
    import torch

    position_ids = (mask.cumsum(-1) - 1).clamp_min(0)  # left padding: count real tokens
    columns = torch.arange(ids.size(1) - keep, ids.size(1))
    try:
        out = model(
            input_ids=ids, attention_mask=mask, position_ids=position_ids, logits_to_keep=columns
        )
    except TypeError:  # an older architecture without logits_to_keep
        out = model(input_ids=ids, attention_mask=mask, position_ids=position_ids)
    return out.logits[:, -keep:, :]


def _weighted_loss(model, ids, mask, weights):
    """Mean cross-entropy of each next token, weighted (prompt vs response tokens).

    Why only the last columns get logits: with left padding the positions whose next token
    carries weight are the last ``keep`` ones; at the default prompt weight 0 those are the
    responses, a small share of a RAG prompt. The output head is a fifth of a small model's
    FLOPs (SmolLM2-135M: 28M of 135M parameters) and its batch x seq x vocab logits are the
    step's largest tensor, so skipping it on prompt tokens saves time and memory. Targets
    are padded rather than logits sliced, which would copy that tensor.
    """
    import torch
    import torch.nn.functional as F

    # weight of predicting token t+1 from position t; a row's first token has no real
    # position before it (left padding), so it is never a target
    w = weights[:, 1:] * mask[:, 1:] * mask[:, :-1]
    cols = torch.nonzero(w.sum(0) > 0)
    first = int(cols[0]) if len(cols) else w.size(1) - 1
    keep = ids.size(1) - first  # positions first .. width-1; the last has no target
    logits = _logits(model, ids, mask, keep)
    target = F.pad(ids[:, first + 1 :], (0, 1))
    w = F.pad(w[:, first:], (0, 1))
    ce = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)).float(), target.reshape(-1), reduction="none"
    ).view_as(target)
    total = w.sum()
    ce = torch.where(w > 0, ce, torch.zeros_like(ce))  # never let a padded row's value in
    return (ce * w).sum() / total.clamp_min(1e-8), float(total)


def resolve_precision(precision: str) -> str:
    """ "auto" becomes bf16 on CPUs that multiply bf16 natively (measured ~2x faster LoRA
    steps than fp32 on an AVX512-BF16 laptop core, experiments/README.md), else fp32."""
    if precision != "auto":
        return precision
    from advisor.runtime import cpu_has_native_bf16

    return "bf16" if cpu_has_native_bf16() else "fp32"


def _autocast(precision: str):
    """bf16 autocast: matmuls in bf16, reductions and the loss in fp32, weights untouched."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
