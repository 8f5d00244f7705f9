"""The CPU training-peak model against what autograd really keeps in the pilot's loop.

The reference is ``torch.autograd.graph.saved_tensors_hooks`` around the loop's own loss
(``advisor.finetune.batches._weighted_loss``) on Llama models built from tiny configs: every
distinct storage saved for backward that is not a parameter is an activation.
"""

from __future__ import annotations

import pytest

from advisor.errors import AdvisorError
from advisor.memory import shape_from_config
from advisor.memory.cpu import (
    ADAPTER_BYTES_PER_PARAM,
    LOGIT_BYTES,
    estimate_cpu_training_peak,
    saved_activation_bytes,
    weight_cast_bytes,
)

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

VOCAB = 300  # distinct from every other width, so logits are told apart by their last dim
CONFIGS = {
    # hidden 256, MLP 688 (not 4h), GQA 8 query / 2 kv heads of 32: every term has its own size
    "gqa": dict(
        hidden_size=256,
        intermediate_size=688,
        num_attention_heads=8,
        num_key_value_heads=2,
        num_hidden_layers=2,
    ),
    # head_dim given apart from hidden / heads (as Qwen3 and Gemma do)
    "wide_heads": dict(
        hidden_size=192,
        intermediate_size=512,
        num_attention_heads=4,
        num_key_value_heads=4,
        head_dim=64,
        num_hidden_layers=3,
    ),
}


def _config_dict(name: str) -> dict:
    return {
        "model_type": "llama",
        "vocab_size": VOCAB,
        "max_position_embeddings": 512,
        "tie_word_embeddings": False,
        **CONFIGS[name],
    }


def _saved_bytes(
    name: str, compute: str, targets, rows: list[int], prompt_weight: float, weights="fp32"
):
    """(activation bytes, logits bytes, logit positions per row) saved by one forward."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from advisor.finetune.batches import _autocast, _collate, _weighted_loss

    torch.manual_seed(0)
    cfg = {k: v for k, v in _config_dict(name).items() if k != "model_type"}
    model = LlamaForCausalLM(LlamaConfig(**cfg, attn_implementation="sdpa")).eval()
    model = model.to(torch.bfloat16 if weights == "bf16" else torch.float32)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=targets, task_type="CAUSAL_LM")
    )
    peft_model.train()
    response = 5
    encoded = []
    for length in rows:
        ids = [(7 * i + length) % (VOCAB - 3) + 3 for i in range(length)]
        weights = [prompt_weight] * (length - response) + [1.0] * response
        encoded.append((ids, weights))
    ids, mask, weights = _collate(encoded, list(range(len(rows))), 0)
    params = {p.untyped_storage().data_ptr() for p in peft_model.parameters()}
    saved: dict[int, tuple[int, int]] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = (storage.nbytes(), t.shape[-1] if t.dim() else 0)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _autocast(compute):
        loss, _ = _weighted_loss(peft_model, ids, mask, weights)
    loss.backward()  # the graph is a real one
    logits = sum(n for n, last in saved.values() if last == VOCAB)
    activations = sum(n for n, last in saved.values() if last != VOCAB)
    keep = response + 1 if prompt_weight == 0 else max(rows)
    return activations, logits, keep


ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
# (config, weights dtype, compute, LoRA targets, row lengths): equal lengths = no padding
CASES = [
    ("gqa", "fp32", "fp32", ATTN, [40, 40, 40]),
    ("gqa", "fp32", "fp32", ATTN, [40, 23, 31]),
    ("gqa", "bf16", "bf16", ATTN, [48, 48]),  # a bf16 checkpoint on a native-bf16 CPU
    ("gqa", "bf16", "bf16", ATTN, [48, 30]),
    ("gqa", "fp32", "bf16", ATTN, [48, 30]),  # fp32 checkpoint under bf16 autocast
    ("gqa", "fp32", "fp32", "all-linear", [36, 20]),  # MLP adapters keep their inputs too
    ("gqa", "bf16", "bf16", "all-linear", [36, 36]),
    ("wide_heads", "fp32", "fp32", ["q_proj", "v_proj"], [32, 32, 32, 32]),
    ("wide_heads", "bf16", "bf16", ATTN, [32, 17]),
]


@pytest.mark.parametrize(("name", "weights", "compute", "targets", "rows"), CASES)
def test_saved_activations_match_what_autograd_keeps(name, weights, compute, targets, rows):
    measured, _, _ = _saved_bytes(name, compute, targets, rows, 0.0, weights)
    shape = shape_from_config(_config_dict(name))
    padded = len(set(rows)) > 1
    from advisor.memory import lora_trainable_params

    predicted = saved_activation_bytes(
        shape, len(rows), max(rows), compute, targets, padded=padded, lora_rank=4
    ) + weight_cast_bytes(shape, weights, compute, lora_trainable_params(shape, 4, targets))
    # left out: each norm's rsqrt and SDPA's log-sum-exp (one value per token and head),
    # and layer 0 keeping less (its input needs no gradient): ~2% here, less when wider.
    # fp32 weights under bf16 autocast keep an fp32 residual stream, which the bf16 terms
    # over-count by 3% (the safe side).
    assert predicted == pytest.approx(measured, rel=0.04), (measured, predicted)


def test_padding_terms_are_what_a_padded_batch_adds():
    """Had the formula ignored padding, the padded and unpadded cases could not both pass."""
    shape = shape_from_config(_config_dict("gqa"))
    plain = saved_activation_bytes(shape, 3, 40, "fp32", ATTN, padded=False)
    padded = saved_activation_bytes(shape, 3, 40, "fp32", ATTN, padded=True)
    assert padded > plain * 1.1


@pytest.mark.parametrize("prompt_weight", [0.0, 1.0])
def test_logits_bytes_cover_what_the_loss_keeps(prompt_weight):
    rows = [40, 28]
    _, logits, keep = _saved_bytes("gqa", "fp32", ["q_proj", "v_proj"], rows, prompt_weight)
    kept_entries = len(rows) * keep * VOCAB
    assert logits >= 4 * kept_entries * 0.9  # the fp32 log-softmax is kept...
    assert logits <= LOGIT_BYTES * kept_entries  # ...and the estimate's bytes cover it


def test_total_is_the_sum_of_its_parts_and_grows_with_the_batch():
    shape = shape_from_config(_config_dict("gqa"))
    small = estimate_cpu_training_peak(shape, batch_size=2, seq_len=64, logit_positions=8)
    big = estimate_cpu_training_peak(shape, batch_size=8, seq_len=256, logit_positions=8)
    parts = ("weights", "adapters", "activations", "logits", "allocator", "setup")
    for est in (small, big):
        assert est.total_gb == pytest.approx(sum(getattr(est, f"{p}_gb") for p in parts))
        assert est.adapters_gb * 1e9 == est.trainable_params * ADAPTER_BYTES_PER_PARAM
    assert big.activations_gb > 10 * small.activations_gb
    assert big.weights_gb == small.weights_gb


def test_full_logits_and_checkpointing_move_the_peak_the_right_way():
    shape = shape_from_config(_config_dict("gqa"))
    responses = estimate_cpu_training_peak(shape, 4, 128, logit_positions=8)
    every = estimate_cpu_training_peak(shape, 4, 128, logit_positions=None)
    assert every.logit_positions == 128 and every.logits_gb == pytest.approx(
        responses.logits_gb * 16
    )
    ckpt = estimate_cpu_training_peak(shape, 4, 128, gradient_checkpointing=True)
    assert ckpt.activations_gb < responses.activations_gb
    assert ckpt.allocator_gb < responses.allocator_gb
    assert ckpt.total_gb < responses.total_gb


def test_unmeasured_families_fall_back_to_the_chapter_and_say_so():
    gpt2 = shape_from_config("tests/fixtures/configs/gpt2/config.json")
    est = estimate_cpu_training_peak(gpt2, 2, 128, target_modules=["c_attn"])
    assert not est.measured_family
    assert est.activations_gb > 0
    assert "not measured" in " ".join(est.conventions)
    llama = estimate_cpu_training_peak(shape_from_config(_config_dict("gqa")), 2, 128)
    assert llama.measured_family


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive integer (not 0)"),
        ({"seq_len": True}, "seq_len must be a positive integer (not True)"),
        ({"lora_rank": -1}, "lora_rank must be a positive integer"),
        ({"compute": "fp16"}, "compute must be bf16 or fp32 (not 'fp16')"),
        ({"weight_dtype": "nf4"}, "weight_dtype must be fp32, bf16 or fp16 (not 'nf4')"),
        ({"weight_dtype": "fp64"}, "dtype must be one of"),
        ({"logit_positions": 0}, "logit_positions must be a positive integer"),
        ({"target_modules": ["qq_proj"]}, "target module 'qq_proj' matches no layer"),
    ],
)
def test_bad_arguments_say_what_is_allowed(kwargs, message):
    shape = shape_from_config(_config_dict("gqa"))
    args = {"batch_size": 2, "seq_len": 16, **kwargs}
    with pytest.raises(AdvisorError, match=message.replace("(", r"\(").replace(")", r"\)")):
        estimate_cpu_training_peak(shape, **args)
