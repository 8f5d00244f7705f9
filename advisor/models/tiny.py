"""The built-in offline model (``builtin:tiny``): a tiny random Llama with a real tokenizer.

Its outputs test the pipeline, not the decision. The weights are random (seeded), so every
quality number a pilot measures with it is noise; a run using it is marked ``smoke: true``
and the report says so. What it does exercise for real: tokenization of the user's data
(a byte-level BPE trained on that data, so any text round-trips exactly), the chat template
path, batched generation, LoRA training and the whole run folder, all in seconds and with
no network.

The model is written as an ordinary Hugging Face folder (config.json, tokenizer files,
model.safetensors) under the advisor cache and then loaded BY PATH through
:meth:`advisor.models.hf.HFGenerator.from_pretrained`, so the loading code a downloaded model
takes is the code the smoke run tests. The folder is keyed by a hash of the training texts
and :data:`TINY_VERSION`, so a second run on the same data reuses it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from advisor.models.hf import BUILTIN_MODEL, HFGenerator

TINY_VERSION = 1  # bump when the recipe changes so stale cached folders are not reused

BOS, EOS, PAD = "<|bos|>", "<|im_end|>", "<|pad|>"
SPECIAL_TOKENS = [PAD, BOS, "<|im_start|>", EOS]

# ChatML, as in SmolLM2 / Qwen: the chat path of format_prompt runs on the smoke model too.
# EOS is the end-of-turn marker so a generated turn end stops generation.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# A little English and JSON so common merges exist even when the pilot's data is tiny.
SEED_CORPUS: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog. Answer the question using the context.",
    "You are a helpful assistant. Reply in one short sentence, then stop.",
    "Question: What is the capital of France? Answer: Paris is the capital of France.",
    "Summarise the document below in plain English for a customer support agent.",
    "The order was shipped on 2024-03-15 and should arrive within 3 to 5 business days.",
    'Return only JSON: {"name": "Ada Lovelace", "born": 1815, "tags": ["math", "poetry"]}',
    '{"id": 42, "status": "ok", "items": [{"sku": "A-100", "qty": 2, "price": 9.99}]}',
    '{"intent": "refund", "confidence": 0.87, "reason": null, "escalate": false}',
    "SELECT name, email FROM users WHERE created_at > '2024-01-01' ORDER BY name;",
    "Retrieval adds facts at inference time; finetuning changes the form of the answers.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14 -7 50% $12.50 #1 @team a+b=c (x) [y] <z>",
    "Punctuation: ! ? . , ; : ' \" ` ~ ^ & * _ = | \\ / { } ( ) [ ] < > - + %\n\tend",
)


@dataclass(frozen=True)
class TinySpec:
    """Size of the built-in model: small enough to build and train in seconds on 2 cores."""

    vocab_size: int = 2000  # BPE target; small data stops earlier, byte fallback covers all
    hidden_size: int = 64  # width: parameters grow with its square
    num_layers: int = 2  # enough for attention across positions to matter
    num_heads: int = 4  # 16 dims per head
    num_kv_heads: int = 2  # grouped-query attention, as in current small models
    intermediate_size: int = 256  # MLP width, 4x hidden
    context_length: int = 2048  # room for few-shot and RAG prompts
    initializer_range: float = 0.3  # large, so outputs depend on the whole prompt (not one token)
    seed: int = 0  # same data -> same weights -> same outputs
    max_corpus_chars: int = 2_000_000  # tokenizer training stays within seconds on big data

    def __post_init__(self) -> None:
        for field in (
            "vocab_size",
            "hidden_size",
            "num_layers",
            "num_heads",
            "num_kv_heads",
            "intermediate_size",
            "context_length",
            "max_corpus_chars",
        ):
            value = getattr(self, field)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{field} must be a positive integer (not {value!r})")
        if self.vocab_size < 300:
            raise ValueError(
                f"vocab_size must be at least 300 (256 bytes + special tokens), "
                f"not {self.vocab_size!r}"
            )
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads "
                f"({self.num_heads})"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads ({self.num_heads}) must be divisible by num_kv_heads "
                f"({self.num_kv_heads})"
            )
        if self.initializer_range <= 0:
            raise ValueError(f"initializer_range must be positive (not {self.initializer_range!r})")


build_count = 0  # folders written by this process; tests check the cache is reused


def training_corpus(data_texts: list[str] | None, spec: TinySpec) -> list[str]:
    """Seed corpus plus the pilot's texts, cut at ``spec.max_corpus_chars``."""
    corpus = list(SEED_CORPUS)
    room = spec.max_corpus_chars
    for text in data_texts or []:
        if room <= 0:
            break
        corpus.append(text[:room])
        room -= len(corpus[-1])
    return corpus


def train_tokenizer(texts: list[str], vocab_size: int = 2000, chat_template: bool = True) -> Any:
    """A byte-level BPE wrapped as a fast HF tokenizer: every string round-trips exactly.

    Byte-level (no normaliser, no prefix space) is what makes ``decode(encode(x)) == x``
    hold for JSON, whitespace and any unicode, so metrics on the smoke model compare the
    same characters the user wrote.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        clean_up_tokenization_spaces=False,
    )
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_config_values(spec: TinySpec, vocab_size: int) -> dict[str, Any]:
    """The config.json values of the built-in model, without importing transformers: the
    pilot's estimate reads its shape from these before anything is built."""
    return {
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "max_position_embeddings": spec.context_length,
        "initializer_range": spec.initializer_range,
        "tie_word_embeddings": False,
    }


def tiny_config(tokenizer: Any, spec: TinySpec) -> Any:
    """LlamaConfig sized by ``spec`` with the tokenizer's vocabulary and special ids."""
    from transformers import LlamaConfig

    values = tiny_config_values(spec, len(tokenizer))
    del values["model_type"]  # LlamaConfig's own
    return LlamaConfig(
        **values,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def write_tiny_model(folder: Path, corpus: list[str], spec: TinySpec) -> None:
    """Train the tokenizer, build seeded random weights, save an ordinary HF folder."""
    global build_count
    from advisor.runtime import configure_threads

    configure_threads()
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = train_tokenizer(corpus, spec.vocab_size)
    tokenizer.model_max_length = spec.context_length
    torch.manual_seed(spec.seed)
    model = LlamaForCausalLM(tiny_config(tokenizer, spec))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    build_count += 1


def _digest(corpus: list[str], spec: TinySpec) -> str:
    h = hashlib.sha256(f"tiny-v{TINY_VERSION}\x00{sorted(asdict(spec).items())}".encode())
    for text in corpus:
        data = text.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))  # length prefix: ["ab","c"] != ["a","bc"]
        h.update(data)
    return h.hexdigest()[:16]


def _complete(folder: Path) -> bool:
    names = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
    return all((folder / n).is_file() for n in names)


def tiny_model_dir(
    data_texts: list[str] | None = None,
    spec: TinySpec | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """The built-in model's folder for these texts, building it only if it is not cached.

    Built in a temporary sibling and renamed into place, so a crash or a concurrent run
    never leaves a half-written folder that a later run would trust.
    """
    from advisor.retrieval.embeddings import default_cache_dir

    spec = spec or TinySpec()
    root = Path(cache_dir) if cache_dir else default_cache_dir() / "models"
    corpus = training_corpus(data_texts, spec)
    folder = root / f"tiny-{_digest(corpus, spec)}"
    if _complete(folder):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    if folder.exists():  # incomplete leftovers (files deleted by hand): rebuild
        shutil.rmtree(folder, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=root))
    try:
        write_tiny_model(tmp, corpus, spec)
        try:
            tmp.rename(folder)
        except OSError:
            if not _complete(folder):  # lost a race to a complete folder: fine; else fail
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_tiny_generator(
    data_texts: list[str] | None = None, spec: TinySpec | None = None
) -> HFGenerator:
    """``builtin:tiny`` as a generator, loaded by path like any downloaded model."""
    folder = tiny_model_dir(data_texts, spec)
    return HFGenerator.from_pretrained(str(folder), name=BUILTIN_MODEL, smoke=True)
