"""Parameter and memory math, checked against transformers/peft and the chapter's examples.

The reference models are built on the meta device (shapes only, no memory, no download)
from real published config.json files in tests/fixtures/configs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from advisor.memory import (
    DTYPE_BYTES,
    NF4_BYTES,
    count_params,
    estimate_memory,
    largest_model_that_fits,
    lora_trainable_params,
    plan_finetune,
    shape_from_config,
    shape_from_dims,
    shape_from_params_b,
)
from advisor.memory.shapes import SUPPORTED_MODEL_TYPES, computed_params

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
REAL = ["llama-2-7b", "mistral-7b", "qwen2-0.5b", "gpt2", "bert-base-uncased"]


def _meta_model(config_dict: dict):
    """The transformers model for this config, on the meta device (no weights allocated)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    cfg_dict = dict(config_dict)
    cfg = AutoConfig.for_model(cfg_dict.pop("model_type"), **cfg_dict)
    auto = AutoModel if cfg.model_type == "bert" else AutoModelForCausalLM
    with torch.device("meta"):
        return auto.from_config(cfg)


def _load(name: str) -> dict:
    return json.loads((CONFIGS / name / "config.json").read_text())


def _numel(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", REAL)
def test_total_params_equal_transformers_count(name):
    # CausalLM with the head (tied head once) for decoders, BertModel with pooler for BERT.
    shape = shape_from_config(CONFIGS / name / "config.json")
    assert count_params(shape) == _numel(_meta_model(_load(name)))


def test_published_sizes_are_reproduced():
    # Independent of transformers: the sizes the model cards state.
    expected = {
        "llama-2-7b": 6_738_415_616,
        "mistral-7b": 7_241_732_096,
        "qwen2-0.5b": 494_032_768,
        "gpt2": 124_439_808,
        "bert-base-uncased": 109_482_240,
    }
    for name, n in expected.items():
        assert count_params(shape_from_config(CONFIGS / name)) == n, name


TINY = {
    "llama_bias": dict(model_type="llama", attention_bias=True, mlp_bias=True),
    "llama_tied": dict(model_type="llama", tie_word_embeddings=True),
    "qwen2": dict(model_type="qwen2", tie_word_embeddings=False),
    "qwen3": dict(model_type="qwen3", head_dim=24),
    "gemma": dict(model_type="gemma", head_dim=32),
    "gemma2": dict(model_type="gemma2", head_dim=32),
    "mistral_gqa": dict(model_type="mistral", num_key_value_heads=1),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_other_llama_like_families_match_transformers(name):
    cfg = dict(
        vocab_size=97,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    cfg.update(TINY[name])
    assert count_params(shape_from_config(cfg)) == _numel(_meta_model(cfg))


def test_gpt2_with_explicit_inner_width_matches_transformers():
    cfg = dict(model_type="gpt2", vocab_size=101, n_embd=48, n_layer=2, n_head=4, n_inner=80)
    cfg["n_positions"] = 64
    assert count_params(shape_from_config(cfg)) == _numel(_meta_model(cfg))


LORA_CASES = [
    ("llama-2-7b", 8, ["q_proj", "v_proj"]),
    ("llama-2-7b", 16, "all-linear"),
    ("mistral-7b", 4, ["q_proj", "k_proj", "v_proj", "o_proj"]),
    ("qwen2-0.5b", 8, "all-linear"),
    ("qwen2-0.5b", 2, ["gate_proj", "down_proj"]),
    ("gpt2", 8, ["c_attn"]),
    ("gpt2", 4, ["c_proj"]),  # matches the attention and the MLP projections
    ("gpt2", 2, "all-linear"),
    ("bert-base-uncased", 8, ["query", "value"]),
    ("bert-base-uncased", 2, ["dense"]),  # includes pooler.dense, as peft does
    ("bert-base-uncased", 4, "all-linear"),
]


@pytest.mark.parametrize(("name", "rank", "targets"), LORA_CASES)
def test_lora_trainable_params_equal_peft(name, rank, targets):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(_meta_model(_load(name)), LoraConfig(r=rank, target_modules=targets))
    trainable, _ = model.get_nb_trainable_parameters()
    assert lora_trainable_params(shape_from_config(CONFIGS / name), rank, targets) == trainable


def test_lora_formula_by_hand():
    # Llama-2-7B, q and v: 32 layers x 2 matrices x r x (4096 + 4096).
    shape = shape_from_config(CONFIGS / "llama-2-7b")
    assert lora_trainable_params(shape, 8, ["q_proj", "v_proj"]) == 32 * 2 * 8 * 8192
    assert lora_trainable_params(shape, 16, ["q_proj"]) == 2 * lora_trainable_params(
        shape, 8, ["q_proj"]
    )


def test_unknown_target_module_names_the_valid_ones():
    shape = shape_from_config(CONFIGS / "gpt2")
    with pytest.raises(AdvisorError, match="q_proj.*c_attn"):
        lora_trainable_params(shape, 8, ["q_proj"])


# ------------------------------------------------------------------ the chapter's numbers


def test_chapter_inference_example_13b_16bit():
    est = estimate_memory(shape_from_params_b(13), method="full", dtype="fp16")
    assert est.unit == "GB (1e9 bytes)"
    assert est.weights_gb == pytest.approx(26.0)
    assert est.inference_gb == pytest.approx(31.2)


def test_chapter_training_example_13b_adam_16bit():
    est = estimate_memory(shape_from_params_b(13), method="full", dtype="bf16", optimizer="adam")
    assert est.gradients_gb + est.optimizer_gb == pytest.approx(78.0)
    assert est.trainable_params == est.total_params == 13_000_000_000
    assert any("chapter" in c for c in est.conventions)


def test_mixed_precision_convention_is_16_bytes_per_trainable_param():
    est = estimate_memory(shape_from_params_b(13), "full", optimizer_convention="mixed")
    assert est.weights_gb + est.gradients_gb + est.optimizer_gb == pytest.approx(13 * 16)
    assert any("master" in c for c in est.conventions)


@pytest.mark.parametrize(("optimizer", "states"), [("sgd", 0), ("momentum", 1), ("adamw", 2)])
def test_optimizer_states_per_trainable_param(optimizer, states):
    est = estimate_memory(shape_from_params_b(1), "full", optimizer=optimizer)
    assert est.optimizer_gb == pytest.approx(states * est.gradients_gb)


@pytest.mark.parametrize("dtype", sorted(DTYPE_BYTES))
def test_lora_weights_scale_with_bytes_per_value(dtype):
    shape = shape_from_config(CONFIGS / "mistral-7b")
    est = estimate_memory(shape, "lora", dtype=dtype)
    adapter_bytes = max(DTYPE_BYTES[dtype], 2) * est.trainable_params
    expected = (est.total_params * DTYPE_BYTES[dtype] + adapter_bytes) / 1e9
    assert est.weights_gb == pytest.approx(expected)
    assert est.inference_gb == pytest.approx(1.2 * est.weights_gb)


def test_qlora_keeps_linear_weights_in_nf4_and_the_rest_in_16_bit():
    shape = shape_from_config(CONFIGS / "llama-2-7b")
    est = estimate_memory(shape, "qlora", lora_rank=8, target_modules=["q_proj", "v_proj"])
    block_linears = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    rest = 6_738_415_616 - block_linears  # embeddings, LM head, norms
    expected = block_linears * 4.127 / 8 + rest * 2 + est.trainable_params * 2
    assert est.weights_gb * 1e9 == pytest.approx(expected, rel=1e-4)
    assert 4.12 < NF4_BYTES * 8 < 4.13
    assert est.weights_gb < estimate_memory(shape, "lora").weights_gb / 3


def test_activations_follow_korthikanti_formula():
    shape = shape_from_config(CONFIGS / "llama-2-7b")
    est = estimate_memory(shape, "full", batch_size=1, seq_len=512)
    per_layer = 512 * 4096 * (34 + 5 * 32 * 512 / 4096)
    logits = 512 * 32000 * 4
    assert est.activations_gb * 1e9 == pytest.approx(32 * per_layer + logits)
    double = estimate_memory(shape, "full", batch_size=2, seq_len=512)
    assert double.activations_gb == pytest.approx(2 * est.activations_gb)


def test_gradient_checkpointing_cuts_activations_not_weights():
    shape = shape_from_config(CONFIGS / "mistral-7b")
    plain = estimate_memory(shape, "lora", seq_len=2048)
    ckpt = estimate_memory(shape, "lora", seq_len=2048, gradient_checkpointing=True)
    assert ckpt.activations_gb < plain.activations_gb / 5
    assert ckpt.weights_gb == plain.weights_gb


def test_kv_cache_uses_kv_heads():
    shape = shape_from_config(CONFIGS / "mistral-7b")  # 8 KV heads of 128
    est = estimate_memory(shape, "lora", batch_size=4, seq_len=1000)
    assert est.kv_cache_gb * 1e9 == pytest.approx(2 * 32 * 8 * 128 * 2 * 4 * 1000)
    bert = estimate_memory(shape_from_config(CONFIGS / "bert-base-uncased"), "full")
    assert bert.kv_cache_gb == 0


def test_to_dict_has_contract_keys_and_is_json():
    d = estimate_memory(shape_from_config(CONFIGS / "gpt2"), "lora").to_dict()
    for key in ("weights_gb", "gradients_gb", "optimizer_gb", "activations_gb"):
        assert isinstance(d[key], float)
    for key in ("total_train_gb", "inference_gb", "trainable_params", "total_params", "unit"):
        assert key in d
    assert d["target_modules"] == ["c_attn"]
    json.dumps(d)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dtype": "fp64"}, "dtype must be one of"),
        ({"method": "prefix"}, "method must be one of"),
        ({"optimizer": "lion"}, "optimizer must be one of"),
        ({"lora_rank": -1}, "lora_rank must be a positive"),
        ({"batch_size": 0}, "batch_size must be a positive"),
        ({"method": "full", "dtype": "int8"}, "full finetuning"),
        ({"optimizer_convention": "fp32"}, "optimizer_convention"),
    ],
)
def test_bad_estimate_arguments_raise_advisor_error(kwargs, match):
    with pytest.raises(AdvisorError, match=match):
        estimate_memory(shape_from_params_b(1), **kwargs)


# -------------------------------------------------------------------- shapes from input


def test_config_path_and_model_folder_give_the_same_shape():
    assert shape_from_config(CONFIGS / "qwen2-0.5b") == shape_from_config(
        str(CONFIGS / "qwen2-0.5b" / "config.json")
    )


def test_unsupported_model_type_names_the_supported_ones():
    with pytest.raises(AdvisorError) as err:
        shape_from_config({"model_type": "t5", "d_model": 512})
    assert all(name in str(err.value) for name in SUPPORTED_MODEL_TYPES)


@pytest.mark.parametrize(
    ("content", "match"),
    [("{not json", "cannot read"), ("[1, 2]", "JSON object"), ('{"model_type": "llama"}', "no")],
)
def test_bad_config_files_raise_advisor_error(tmp_path, content, match):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(AdvisorError, match=match):
        shape_from_config(path)


def test_missing_config_raises_advisor_error(tmp_path):
    with pytest.raises(AdvisorError, match="not found"):
        shape_from_config(tmp_path / "nothing")


def test_shape_from_dims_reproduces_llama_2_7b():
    shape = shape_from_dims(layers=32, hidden=4096, heads=32, kv_heads=32, vocab=32000)
    assert shape.intermediate_size == 11008  # Llama's 8h/3 rounded up to 256
    assert count_params(shape) == 6_738_415_616
    stated = shape_from_dims(7, layers=32, hidden=4096, heads=32, kv_heads=32, vocab=32000)
    assert count_params(stated) == 7_000_000_000
    with pytest.raises(AdvisorError, match="multiple"):
        shape_from_dims(layers=2, hidden=100, heads=3, vocab=10)


@pytest.mark.parametrize("params_b", [0.1, 0.5, 3, 7, 13, 70, 405])
def test_shape_from_params_b_is_plausible(params_b):
    shape = shape_from_params_b(params_b)
    assert count_params(shape) == round(params_b * 1e9)
    ratio = computed_params(shape) / (params_b * 1e9)
    assert 0.5 < ratio < 2  # the borrowed dimensions describe a model of about that size


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf])
def test_shape_from_params_b_rejects_nonsense(bad):
    with pytest.raises(AdvisorError, match="params_b"):
        shape_from_params_b(bad)


# --------------------------------------------------------------------------- the planner

PLAN_TABLE = [
    # gpu GB, labeled examples, expected method for a 7B model
    (200, 50_000, "full"),
    (200, 500, "lora"),  # full fits but the data is too small for it
    (80, 50_000, "lora"),
    (24, 50_000, "lora"),
    (12, 50_000, "qlora"),
    (8, 50_000, "qlora"),
    (4, 50_000, None),
]


@pytest.mark.parametrize(("gpu", "examples", "method"), PLAN_TABLE)
def test_plan_picks_method_by_gpu_size(gpu, examples, method):
    plan = plan_finetune(7, gpu, labeled_examples=examples)
    assert plan.method == method
    assert plan.fits is (method is not None)
    if method:
        chosen = plan.estimates[method]
        assert chosen.total_train_gb * (1 + plan.safety_margin) <= gpu
        assert plan.train_memory_gb == chosen.total_train_gb


def test_plan_keeps_the_safety_margin():
    shape = shape_from_params_b(7)
    lora = plan_finetune(7, 80).estimates["lora"]
    need = lora.total_train_gb
    # Without checkpointing LoRA needs `need`; with it, less. Just below the checkpointed
    # need x 1.2 LoRA must not be chosen even though the raw figure fits.
    ckpt = estimate_memory(
        shape,
        "lora",
        lora_rank=lora.lora_rank,
        target_modules=lora.target_modules,
        gradient_checkpointing=True,
        optimizer_convention="mixed",
    ).total_train_gb
    assert plan_finetune(7, ckpt * 1.15).method == "qlora"
    assert plan_finetune(7, ckpt * 1.25).method == "lora"
    assert plan_finetune(7, ckpt * 1.25).gradient_checkpointing
    assert not plan_finetune(7, need * 1.25).gradient_checkpointing


def test_plan_hyperparameters_follow_the_framework():
    small = plan_finetune(7, 24, labeled_examples=500)
    big = plan_finetune(7, 24, labeled_examples=200_000)
    assert small.alpha == 2 * small.rank and big.alpha == 2 * big.rank
    assert 8 <= small.rank <= big.rank <= 16
    assert small.target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert 1e-4 <= small.learning_rate <= 5e-4
    assert small.epochs > big.epochs >= 1
    full = plan_finetune(7, 200, labeled_examples=50_000)
    assert full.learning_rate < small.learning_rate


def test_plan_when_nothing_fits_suggests_a_size_that_does():
    plan = plan_finetune(70, 8, labeled_examples=2000)
    assert plan.method is None and not plan.fits
    assert "Nothing fits" in plan.note
    size = plan.largest_qlora_params_b
    assert size is not None and size < 70
    assert f"{size:g}B" in plan.note
    assert plan_finetune(size, 8).method == "qlora"  # the suggestion really fits
    assert plan_finetune(size * 1.3, 8).method is None


def test_plan_for_a_gpu_too_small_for_anything():
    plan = plan_finetune(7, 0.2)
    assert plan.method is None and plan.largest_qlora_params_b is None
    assert "bigger GPU" in plan.note
    assert largest_model_that_fits(0.2) is None


def test_plan_without_accelerator_says_so_and_still_estimates():
    plan = plan_finetune(7, 0, labeled_examples=1000)
    assert plan.fits is False
    assert "No accelerator" in plan.note and "24 GB" in plan.note
    assert plan.method == "lora" and plan.train_memory_gb > 0


def test_plan_uses_a_given_shape_and_serialises():
    shape = shape_from_config(CONFIGS / "gpt2")
    plan = plan_finetune(999, 16, labeled_examples=100, shape=shape)
    assert plan.params_b == pytest.approx(0.124439808)
    assert plan.method == "lora"
    assert plan.target_modules == ("c_attn", "attn.c_proj")
    d = json.loads(json.dumps(plan.to_dict()))
    for key in ("method", "rank", "alpha", "target_modules", "learning_rate", "epochs"):
        assert key in d
    assert set(d["estimates"]) == {"full", "lora", "qlora"}
    assert d["safety_margin"] == 0.2 and d["fits"] is True


@pytest.mark.parametrize(("gpu", "examples"), [(-1, 0), (24, -5)])
def test_plan_rejects_bad_input(gpu, examples):
    with pytest.raises(AdvisorError):
        plan_finetune(7, gpu, labeled_examples=examples)


def test_a_stated_size_far_from_the_dims_is_flagged():
    shape = shape_from_dims(7, layers=2, hidden=64, heads=4, vocab=100)
    est = estimate_memory(shape, "full")
    assert est.total_params == 7_000_000_000
    assert any("stated 7.00B" in c for c in est.conventions)
    assert not any("stated" in c for c in estimate_memory(shape_from_params_b(8)).conventions)
