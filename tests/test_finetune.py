"""LoRA finetuning: it learns, it keeps the best epoch, and a saved adapter reloads exactly."""

from __future__ import annotations

import json
import math

import pytest

from advisor.data.samples import get_sample
from advisor.finetune.lora import (
    LoraSettings,
    TrainPair,
    _encode,
    evaluate_loss,
    load_adapter,
    resolve_target_modules,
    train_lora,
)
from advisor.models.hf import HFGenerator, load_generator

TASK = "Rewrite the supply request as one line of JSON."


@pytest.fixture(scope="module")
def form_pairs():
    """The form-heavy sample as (prompt, response) pairs, formatted as the pilot formats them."""
    rows = [json.loads(line) for line in get_sample("form").data.read_text().splitlines()]
    texts = [t for r in rows for t in (r["input"], r["output"])]
    gen = load_generator("builtin:tiny", data_texts=texts)
    pairs = [
        TrainPair(gen.format_prompt(TASK, f"Input: {r['input']}\nOutput:"), r["output"])
        for r in rows
    ]
    return texts, pairs[:96], pairs[96:128]


def _fresh(texts):
    return load_generator("builtin:tiny", data_texts=texts)


SETTINGS = LoraSettings(rank=8, alpha=16, epochs=3, batch_size=16, learning_rate=3e-3, seed=0)


def test_lora_lowers_validation_loss_on_the_form_sample(form_pairs, tmp_path):
    texts, train, val = form_pairs
    base = _fresh(texts)
    _, result = train_lora(base.model, base.tokenizer, train, val, SETTINGS, out_dir=tmp_path)
    assert len(result.val_loss) >= 2  # before training, then per epoch
    assert min(result.val_loss[1:]) < result.val_loss[0] - 0.05
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.trainable_params > 0 and result.trainable_params < result.total_params
    assert (tmp_path / "adapter_model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin")), "weights are saved as safetensors only"


def test_the_best_epoch_is_restored(form_pairs):
    texts, train, val = form_pairs
    base = _fresh(texts)
    model, result = train_lora(base.model, base.tokenizer, train, val, SETTINGS)
    final = evaluate_loss(model, base.tokenizer, val, SETTINGS)
    assert math.isclose(final, min(result.val_loss), rel_tol=1e-4)


def test_saved_adapter_reloads_to_the_same_outputs(form_pairs, tmp_path):
    texts, train, val = form_pairs
    base = _fresh(texts)
    tuned, _ = train_lora(
        base.model,
        base.tokenizer,
        train,
        val,
        LoraSettings(epochs=1, batch_size=16, learning_rate=3e-3),
        tmp_path,
    )
    prompts = [p.prompt for p in val[:6]]
    before = [r.text for r in HFGenerator(tuned, base.tokenizer, "t").generate(prompts, 24)]
    fresh = _fresh(texts)
    reloaded = load_adapter(fresh.model, tmp_path)
    after = [r.text for r in HFGenerator(reloaded, fresh.tokenizer, "r").generate(prompts, 24)]
    assert after == before
    plain = [r.text for r in _fresh(texts).generate(prompts, 24)]
    assert plain != before, "the adapter must change what the model says"


def test_prompt_loss_weight_weighs_only_prompt_tokens(form_pairs):
    texts, train, _ = form_pairs
    tok = _fresh(texts).tokenizer
    ids, weights = _encode(tok, train[0], LoraSettings(prompt_loss_weight=0.0))
    n_prompt = len(tok(train[0].prompt)["input_ids"])
    assert weights[:n_prompt] == [0.0] * n_prompt
    assert set(weights[n_prompt:]) == {1.0} and ids[-1] == tok.eos_token_id
    _, weights = _encode(tok, train[0], LoraSettings(prompt_loss_weight=0.1))
    assert weights[:n_prompt] == [0.1] * n_prompt


def test_long_prompts_are_cut_from_the_left_and_the_answer_kept(form_pairs):
    texts, train, _ = form_pairs
    tok = _fresh(texts).tokenizer
    pair = TrainPair("word " * 500 + train[0].prompt, train[0].response)
    ids, weights = _encode(tok, pair, LoraSettings(max_seq_len=64))
    assert len(ids) == 64
    n_answer = len(tok(pair.response, add_special_tokens=False)["input_ids"]) + 1
    assert weights[-n_answer:] == [1.0] * n_answer


def test_auto_targets_are_the_attention_projections(form_pairs):
    texts, _, _ = form_pairs
    model = _fresh(texts).model
    assert resolve_target_modules(model, "auto") == ["q_proj", "k_proj", "v_proj", "o_proj"]
    with pytest.raises(ValueError, match="not linear layers"):
        resolve_target_modules(model, ("c_attn",))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 0}, "rank must be a positive integer"),
        ({"dropout": 1.0}, "dropout"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"prompt_loss_weight": 2.0}, "prompt_loss_weight"),
        ({"target_modules": "everything"}, "target_modules"),
        ({"max_steps": 0}, "max_steps"),
    ],
)
def test_bad_settings_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LoraSettings(**kwargs)
