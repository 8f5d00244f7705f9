"""Generators: loading by path, batched greedy generation, templates, the built-in model.

Every model here is built in the test (a few hundred kilobytes); nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.errors import AdvisorError, ModelLoadError
from advisor.models.hf import (
    BUILTIN_MODEL,
    Generator,
    HFGenerator,
    max_new_tokens_for,
    plain_prompt,
)
from advisor.models.load import load_generator

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    'Return JSON like {"answer": "yes", "score": 0.9} and nothing else.',
    "Question: what is the refund policy? Answer: thirty days from delivery.",
    "Ünïcödé text, 日本語, emoji 🎉 and tabs\tand newlines\n too.",
] * 20

PROMPTS = [
    "hi",
    "The quick brown fox jumps over the lazy dog again and again, quite a long prompt.",
    '{"answer": "yes"}',
    "Question: what is the refund policy?",
    "Ünïcödé 日本語 🎉",
    "a b c d e f g h i j k l m n o p",
]


def _write_local_model(folder: Path) -> None:
    """A folder shaped like a downloaded base model: Llama config, BPE tokenizer, safetensors.

    Built with the libraries directly (not advisor.models.tiny) and deliberately different
    from the built-in model: no pad token (pad falls back to EOS), no chat template (plain
    prompt), and a post-processor that prepends BOS like Llama 2's tokenizer.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer)
    bos = bpe.token_to_id("<s>")
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", clean_up_tokenization_spaces=False
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.3,  # spread logits: outputs depend on the whole prompt
        tie_word_embeddings=False,
        bos_token_id=bos,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(1)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


@pytest.fixture(scope="module")
def local_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("local-model")
    _write_local_model(folder)
    return folder


@pytest.fixture
def local_gen(local_folder) -> HFGenerator:
    return HFGenerator.from_pretrained(str(local_folder))


@pytest.fixture
def tiny_gen() -> HFGenerator:
    return load_generator(BUILTIN_MODEL, data_texts=CORPUS)


# -- loading ------------------------------------------------------------------------------


def test_local_folder_loads_by_path_with_remote_code_off(local_folder, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    calls: dict[str, tuple] = {}
    for cls in (AutoModelForCausalLM, AutoTokenizer):
        original = cls.from_pretrained

        def spy(klass, *args, _original=original, **kwargs):
            calls[klass.__name__] = (args, kwargs)
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))

    gen = HFGenerator.from_pretrained(str(local_folder))

    for cls_name in ("AutoModelForCausalLM", "AutoTokenizer"):
        args, kwargs = calls[cls_name]
        assert Path(args[0]) == local_folder
        assert kwargs["trust_remote_code"] is False
    assert calls["AutoModelForCausalLM"][1]["use_safetensors"] is True
    assert (local_folder / "model.safetensors").is_file()
    assert not list(local_folder.glob("*.bin"))
    assert isinstance(gen, Generator)
    assert gen.name == str(local_folder) and gen.smoke is False
    assert gen.context_length == 256  # from config.max_position_embeddings
    assert gen.tokenizer.pad_token_id == gen.tokenizer.eos_token_id  # no pad token shipped
    assert not gen.model.training


def test_generator_can_wrap_a_loaded_model_and_tokenizer(local_gen):
    wrapped = HFGenerator(local_gen.model, local_gen.tokenizer, "tuned", smoke=False)
    assert wrapped.name == "tuned"
    ours = [r.text for r in wrapped.generate(PROMPTS[:2], 5)]
    assert ours == [r.text for r in local_gen.generate(PROMPTS[:2], 5)]


def test_unknown_hub_id_offline_names_the_builtin_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as info:
        load_generator("nobody-here/no-such-model-xyz")
    message = str(info.value)
    assert "no-such-model-xyz" in message and "offline" in message
    assert BUILTIN_MODEL in message


def test_missing_folder_and_folder_without_config_are_plain_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_generator(str(tmp_path / "absent"))
    with pytest.raises(ModelLoadError, match="config.json"):
        load_generator(str(tmp_path))
    with pytest.raises(ModelLoadError, match=BUILTIN_MODEL):
        load_generator("builtin:huge")


# -- generation ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["local", "builtin"])
def test_batched_generation_equals_one_at_a_time(which, local_gen, tiny_gen):
    """The key correctness property: left padding + masks do not change greedy outputs."""
    gen = local_gen if which == "local" else tiny_gen
    prompts = [gen.format_prompt("Answer briefly.", p) for p in PROMPTS]
    batched = gen.generate(prompts, max_new_tokens=12, batch_size=4)
    single = gen.generate(prompts, max_new_tokens=12, batch_size=1)

    assert len(set(r.prompt_tokens for r in batched)) > 2  # batches really were padded
    assert len(set(r.text for r in batched)) > 2  # outputs differ, so order is checked too
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.output_tokens for r in batched] == [r.output_tokens for r in single]
    assert [r.prompt_tokens for r in batched] == [len(gen._encode(p)) for p in prompts]


def test_padding_without_a_mask_would_change_outputs(local_gen):
    """Shows the equality test above can fail: this model is sensitive to attended padding."""
    import torch

    tok, model = local_gen.tokenizer, local_gen.model
    short, long = local_gen._encode(PROMPTS[0]), local_gen._encode(PROMPTS[1])
    pad = [tok.pad_token_id] * (len(long) - len(short))
    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([pad + short]),
            attention_mask=torch.ones(1, len(long), dtype=torch.long),
            max_new_tokens=12,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )
    unmasked = tok.decode(out[0, len(long) :], skip_special_tokens=True).strip()
    assert unmasked != local_gen.generate([PROMPTS[0]], 12)[0].text


def test_generation_stops_at_eos_and_decodes_only_new_tokens(local_folder):
    import torch

    gen = HFGenerator.from_pretrained(str(local_folder))
    ids = gen._encode(PROMPTS[3])
    with torch.inference_mode():
        out = gen.model.generate(
            input_ids=torch.tensor([ids]),
            max_new_tokens=10,
            do_sample=False,
            pad_token_id=gen.tokenizer.pad_token_id,
            eos_token_id=None,
        )
    new = out[0, len(ids) :].tolist()
    stop_at = next(k for k in range(2, len(new)) if new[k] not in new[:k])
    gen.model.generation_config.eos_token_id = new[stop_at]  # make that token an end marker

    result = gen.generate([PROMPTS[3]], max_new_tokens=10)[0]

    assert result.output_tokens == stop_at + 1
    assert result.text == gen.tokenizer.decode(new[:stop_at], skip_special_tokens=True).strip()
    assert PROMPTS[3] not in result.text


def test_progress_reports_every_batch_and_empty_input_is_fine(local_gen):
    seen: list[tuple[float, int]] = []
    results = local_gen.generate(
        PROMPTS, 3, batch_size=4, progress=lambda d, t: seen.append((d, t))
    )
    assert [(d, t) for d, t in seen if isinstance(d, int)] == [(4, 6), (6, 6)]  # batch ends
    # and the token steps in between: a bar moves while a batch generates (issue 19)
    inside = [d for d, _ in seen if 0 < d < 4 and not float(d).is_integer()]
    assert inside, seen
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert all(r.latency_ms > 0 and r.output_tokens <= 3 for r in results)
    assert local_gen.generate([], 3) == []


@pytest.mark.parametrize("which", ["local", "builtin"])
def test_prompt_truncation_keeps_the_tail(which, local_gen, tiny_gen, monkeypatch):
    """Long prompts lose their start, never the question at the end (nor a leading BOS)."""
    base = local_gen if which == "local" else tiny_gen
    gen = HFGenerator(base.model, base.tokenizer, "short", context_length=40)
    long_prompt = " ".join(f"word{i}" for i in range(200)) + " final question?"
    full = gen._encode(long_prompt)
    fed: list[list[int]] = []
    original = gen.model.generate

    def spy(*args, **kwargs):
        fed.extend(kwargs["input_ids"].tolist())
        return original(*args, **kwargs)

    monkeypatch.setattr(gen.model, "generate", spy)
    result = gen.generate([long_prompt], max_new_tokens=8)[0]

    assert result.truncated and result.prompt_tokens == 32  # 40 - 8
    if which == "local":  # this tokenizer prepends BOS, which must survive the cut
        assert fed[0][0] == gen.tokenizer.bos_token_id
        assert fed[0][1:] == full[-31:]
    else:
        assert fed[0] == full[-32:]
    assert gen.generate(["short"], 8)[0].truncated is False
    with pytest.raises(AdvisorError, match="context"):
        gen.generate(["x"], max_new_tokens=40)


def test_max_new_tokens_is_bounded_by_the_references(local_gen):
    def words(text):
        return len(text.split())

    assert max_new_tokens_for(["a b c", "a b c d e f g h"], words, floor=0) == int(8 * 1.25) + 8
    assert max_new_tokens_for(["a b c"], words) == 32  # room for an answer in a sentence
    assert max_new_tokens_for(["w " * 5000], words) == 512
    assert max_new_tokens_for(["w " * 5000], words, cap=100) == 100
    assert max_new_tokens_for([], words) == 64
    refs = ['{"answer": "yes"}', "thirty days from delivery, as stated in the policy"]
    longest = max(local_gen.count_tokens(r) for r in refs)
    assert max_new_tokens_for(refs, local_gen.count_tokens) == int(longest * 1.25) + 8


# -- prompt templates ---------------------------------------------------------------------


def test_chat_template_used_when_the_tokenizer_has_one(tiny_gen):
    prompt = tiny_gen.format_prompt("Be brief.", "What is RAG?")
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nWhat is RAG?<|im_end|>\n<|im_start|>assistant\n"
    )
    no_system = tiny_gen.format_prompt("", "hi")
    assert "system" not in no_system and no_system.endswith("<|im_start|>assistant\n")


def test_plain_template_when_there_is_no_chat_template(local_gen):
    assert not local_gen.tokenizer.chat_template
    prompt = local_gen.format_prompt("Be brief.", "What is RAG?")
    assert prompt == plain_prompt("Be brief.", "What is RAG?")
    assert prompt.index("### Instruction:") < prompt.index("Be brief.")
    assert prompt.index("### Input:") < prompt.index("What is RAG?") < prompt.index("### Response:")


def test_template_rejecting_a_system_turn_gets_it_merged_into_the_user_turn(tiny_gen):
    tiny_gen.tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('no system role') }}{% endif %}"
        "[{{ m['role'] }}]{{ m['content'] }}{% endfor %}[assistant]"
    )
    assert tiny_gen.format_prompt("Be brief.", "hi") == "[user]Be brief.\n\nhi[assistant]"


# -- the built-in model -------------------------------------------------------------------


def test_builtin_model_is_built_once_then_reused(tmp_path):
    import advisor.models.tiny as tiny

    before = tiny.build_count
    first = load_generator(BUILTIN_MODEL, data_texts=CORPUS)
    folder = tiny.tiny_model_dir(CORPUS)
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    second = load_generator(BUILTIN_MODEL, data_texts=CORPUS)

    assert tiny.build_count == before + 1
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(stamps)
    assert folder.parent.name == "models" and folder.name.startswith("tiny-")
    for gen in (first, second):
        assert gen.smoke is True and gen.name == BUILTIN_MODEL
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 2
    assert tiny.tiny_model_dir(["other data"]) != folder  # keyed by the data
    assert [r.text for r in first.generate(PROMPTS[:3], 6)] == [
        r.text for r in second.generate(PROMPTS[:3], 6)
    ]


def test_builtin_model_is_deterministic_across_caches(tmp_path):
    from advisor.models.tiny import tiny_model_dir

    a = tiny_model_dir(CORPUS, cache_dir=tmp_path / "a")
    b = tiny_model_dir(CORPUS, cache_dir=tmp_path / "b")
    for name in ("model.safetensors", "tokenizer.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(), value=_JSONISH)
def test_builtin_tokenizer_round_trips_any_text(tiny_gen, text, value):
    tok = tiny_gen.tokenizer
    for sample in (text, json.dumps(value, ensure_ascii=False), json.dumps(value)):
        assert tok.decode(tok.encode(sample, add_special_tokens=False)) == sample


def test_builtin_tokenizer_learned_merges_from_the_data(tiny_gen):
    sample = "Question: what is the refund policy?"
    assert tiny_gen.count_tokens(sample) < len(sample.encode()) / 2


def test_unresolvable_hub_reads_only_the_local_cache(monkeypatch):
    """Offline without HF_HUB_OFFLINE set: fail at once from the cache, no minute of retries."""
    import socket

    import transformers

    from advisor.errors import ModelLoadError
    from advisor.models.hf import HFGenerator

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)

    def no_dns(*args, **kwargs):
        raise socket.gaierror("Name or service not known")

    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        raise OSError("couldn't find them in the cached files")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", spy)
    with pytest.raises(ModelLoadError, match="builtin:tiny"):
        HFGenerator.from_pretrained("some-org/some-model")
    assert seen.get("local_files_only") is True
