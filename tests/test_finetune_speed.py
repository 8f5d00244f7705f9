"""The speed work in LoRA training and loading: same losses, right dtypes, honest fallbacks.

The training loop left-pads batches and asks the model for logits only on the last columns
(where the weighted tokens are); these tests check that this computes exactly the loss of
scoring every example on its own, and that precision choices follow the CPU.
"""

from __future__ import annotations

import math

import pytest

from advisor.finetune.lora import (
    LoraSettings,
    TrainPair,
    _collate,
    _weighted_loss,
    resolve_precision,
    train_lora,
)

CORPUS = ["The quick brown fox jumps over the lazy dog.", "Answer: forty two.", "abc def"] * 8


@pytest.fixture(scope="module")
def tokenizer():
    from advisor.models.tiny import train_tokenizer

    return train_tokenizer(CORPUS, vocab_size=300)


def _model(vocab: int, dtype: str = "float32"):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        initializer_range=0.3,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).to(getattr(torch, dtype)).eval()


def _rows(prompt_weight: float):
    """Rows of different lengths and response lengths, so padding and `keep` both vary."""
    import torch

    torch.manual_seed(1)
    rows = []
    for length, response in ((11, 3), (5, 4), (17, 2), (8, 8)):
        ids = torch.randint(5, 250, (length,)).tolist()
        weights = [prompt_weight] * (length - response) + [1.0] * response
        rows.append((ids, weights))
    return rows


def _reference(model, rows) -> float:
    """Each example alone, full logits, no padding: the loss by definition."""
    import torch
    import torch.nn.functional as F

    num = den = 0.0
    with torch.no_grad():
        for ids, weights in rows:
            t = torch.tensor([ids])
            ce = F.cross_entropy(
                model(input_ids=t).logits[0, :-1].float(), t[0, 1:], reduction="none"
            )
            w = torch.tensor(weights[1:])
            num += float((ce * w).sum())
            den += float(w.sum())
    return num / den


@pytest.mark.parametrize("prompt_weight", [0.0, 0.1])
def test_batched_loss_on_the_last_columns_equals_scoring_each_example_alone(prompt_weight):
    import torch

    model = _model(300)
    rows = _rows(prompt_weight)
    ids, mask, weights = _collate(rows, list(range(len(rows))), pad_id=0)
    assert mask[:, 0].sum() < len(rows), "rows of different lengths: some are left-padded"
    with torch.no_grad():
        loss, count = _weighted_loss(model, ids, mask, weights)
    expected_count = sum(sum(w[1:]) for _, w in rows)
    assert count == pytest.approx(expected_count)
    assert float(loss) == pytest.approx(_reference(model, rows), rel=1e-5)


def test_a_model_without_logits_to_keep_gets_the_same_loss():
    import torch

    model = _model(300)

    class Plain(torch.nn.Module):  # forward() as older architectures spell it
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask=None, position_ids=None):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids
            )

    rows = _rows(0.0)
    ids, mask, weights = _collate(rows, list(range(len(rows))), pad_id=0)
    with torch.no_grad():
        fast, _ = _weighted_loss(model, ids, mask, weights)
        plain, _ = _weighted_loss(Plain(model), ids, mask, weights)
    assert float(plain) == pytest.approx(float(fast), rel=1e-6)


def test_left_padded_rows_give_finite_gradients():
    model = _model(300).train()
    rows = _rows(0.0)
    ids, mask, weights = _collate(rows, list(range(len(rows))), pad_id=0)
    loss, _ = _weighted_loss(model, ids, mask, weights)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(g.isfinite().all()) for g in grads)


def test_auto_precision_follows_the_cpu(monkeypatch):
    import advisor.runtime

    monkeypatch.setattr(advisor.runtime, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto") == "bf16"
    monkeypatch.setattr(advisor.runtime, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto") == "fp32"
    assert resolve_precision("bf16") == "bf16" and resolve_precision("fp32") == "fp32"


def test_unknown_precision_says_what_is_allowed():
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        LoraSettings(precision="fp16")


def test_bf16_training_keeps_the_base_and_trains_fp32_adapters(tokenizer):
    import torch

    model = _model(len(tokenizer), "bfloat16")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pairs = [
        TrainPair(f"Question {i}: the quick brown fox?", "Answer: forty two.") for i in range(8)
    ]
    settings = LoraSettings(precision="bf16", epochs=2, batch_size=4, learning_rate=1e-2)
    tuned, result = train_lora(model, tokenizer, pairs, pairs[:2], settings)
    assert result.precision == "bf16"
    assert all(math.isfinite(x) for x in result.train_loss + result.val_loss)
    adapters = [p for n, p in tuned.named_parameters() if "lora_" in n]
    assert adapters and all(p.dtype == torch.float32 for p in adapters)
    base = tuned.get_base_model().state_dict()
    frozen = [k for k in before if k in base]
    assert frozen and all(torch.equal(base[k], before[k]) for k in frozen)
    assert result.train_loss[-1] < result.train_loss[0]


@pytest.mark.parametrize(
    ("saved", "native", "loaded"),
    [
        ("bfloat16", True, "bfloat16"),  # published bf16, CPU multiplies bf16: keep it
        ("bfloat16", False, "float32"),  # bf16 would be emulated: upcast
        ("float32", True, "float32"),  # never below the published precision
    ],
)
def test_default_dtype_keeps_bf16_checkpoints_only_where_bf16_is_native(
    tmp_path, monkeypatch, tokenizer, saved, native, loaded
):
    import advisor.runtime
    from advisor.models.hf import HFGenerator

    _model(len(tokenizer), saved).save_pretrained(tmp_path, safe_serialization=True)
    tokenizer.save_pretrained(tmp_path)
    monkeypatch.setattr(advisor.runtime, "cpu_has_native_bf16", lambda: native)
    gen = HFGenerator.from_pretrained(str(tmp_path))
    assert str(gen.model.dtype) == f"torch.{loaded}"
    assert gen.generate(["The quick brown"], max_new_tokens=3)[0].output_tokens >= 1
