"""Shared pieces of the benchmark: models from real configs, prompts, the machine's peak.

Why random weights: speed depends on shapes (layers, widths, heads, vocabulary), not on
weight values, and no model hub is reachable here. Each ``configs/*.json`` is the published
``config.json`` of a real small model; ``build_model`` instantiates it with random weights.
The tokenizer is a byte-level BPE trained on the sample data (``advisor.models.tiny``); its
ids are all below the models' vocabulary sizes, which is all generation and training need.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
TINY = "tiny"  # a 2-layer Llama built in code: the --tiny mode and tests
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")  # what LoraSettings "auto" adapts


def config_path(name: str) -> Path:
    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
        raise SystemExit(f"no config {name!r} in {CONFIG_DIR}; choose from {', '.join(known)}")
    return path


def load_config(name: str, vocab_size: int = 512) -> Any:
    """A transformers config: a published one by name, or the tiny one for ``--tiny``."""
    from transformers import AutoConfig, LlamaConfig

    if name == TINY:
        return LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=64,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            tie_word_embeddings=False,
        )
    values = json.loads(config_path(name).read_text())
    values = {k: v for k, v in values.items() if not k.startswith("_")}
    return AutoConfig.for_model(**values)


def param_count(name: str, config: Any) -> int:
    """Parameters of the model (tied embeddings counted once), from our memory calculator."""
    from advisor.memory import count_params, shape_from_config

    if name == TINY:
        return count_params(shape_from_config(config.to_dict()))
    return count_params(shape_from_config(config_path(name)))


def pilot_dtype(config: Any) -> str:
    """The dtype ``HFGenerator.from_pretrained`` would load this checkpoint in on this CPU:
    a bf16 checkpoint stays bf16 where bf16 is native, everything else runs in fp32."""
    import torch

    from advisor.runtime import cpu_has_native_bf16

    published = getattr(config, "dtype", None)
    return "bfloat16" if published == torch.bfloat16 and cpu_has_native_bf16() else "float32"


def build_model(config: Any, seed: int = 0, dtype: str | None = None) -> Any:
    """Random weights (seeded), in ``dtype`` or else the dtype the pilot would use.

    Built directly in that dtype, as loading a checkpoint holds it: initialising in fp32
    and casting left ~40 MB of the freed fp32 copy resident (glibc), which the memory
    benchmark would otherwise count against the calculator.
    """
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(
        config, dtype=getattr(torch, dtype or pilot_dtype(config))
    )
    return model.eval()


def sample_texts(sample: str) -> tuple[Any, list[Any], list[Any]]:
    """(Sample, examples, documents) of a bundled sample."""
    from advisor.data.load import load_examples, load_knowledge_base
    from advisor.data.samples import get_sample

    s = get_sample(sample)
    examples = load_examples(s.data).examples
    documents = load_knowledge_base(s.kb) if s.kb else []
    return s, examples, documents


def bench_tokenizer(sample: str) -> Any:
    """A BPE trained on the sample (deterministic: workers rebuild the same one)."""
    from advisor.models.tiny import TinySpec, train_tokenizer, training_corpus

    _, examples, documents = sample_texts(sample)
    texts = [t for e in examples for t in (e.input, e.output)] + [d.text for d in documents]
    tok = train_tokenizer(training_corpus(texts, TinySpec()), vocab_size=2000)
    tok.model_max_length = 2048
    return tok


def match_special_ids(model: Any, tokenizer: Any) -> None:
    """Stop and pad on the tokenizer's ids, so both generation paths stop on the same token."""
    for cfg in (model.config, model.generation_config):
        cfg.eos_token_id = tokenizer.eos_token_id
        cfg.pad_token_id = tokenizer.pad_token_id
        cfg.bos_token_id = tokenizer.bos_token_id


def rag_prompts(generator: Any, sample: str, n: int, offset: int = 0) -> list[tuple[str, str]]:
    """(prompt, reference) pairs shaped like the pilot's bm25_rag arm: task, gold passage, input.

    Lengths vary from example to example, as a pilot's do, so padding and bucketing matter.
    """
    from advisor.pilot.prompts import Context, system_message, user_message

    s, examples, documents = sample_texts(sample)
    by_id = {d.id: d for d in documents}
    system = system_message(s.task)
    pairs = []
    for ex in (examples[offset:] + examples[:offset])[:n]:
        contexts = [Context(ex.doc_id, by_id[ex.doc_id].text)] if ex.doc_id in by_id else []
        pairs.append(
            (generator.format_prompt(system, user_message(ex.input, contexts=contexts)), ex.output)
        )
    return pairs


def bf16_matmul_supported() -> bool:
    """True when this CPU has native bf16 dot products (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in (" avx512_bf16", " amx_bf16"))


def matmul_peak(dtype_name: str, n: int, seconds: float) -> float:
    """Best sustained FLOP/s of an n x n matmul loop in this dtype (the roofline we divide by)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    out = torch.empty(n, n, dtype=dtype)
    torch.matmul(a, b, out=out)  # warm-up: kernel selection, page faults
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(4):
            torch.matmul(a, b, out=out)
        best = max(best, 4 * 2 * n**3 / (time.perf_counter() - t0))
    return best


def machine() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the machine was."""
    import torch

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from advisor.runtime import cpu_count

    return {
        "cpu": model,
        "cores": cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "bf16_native": bf16_matmul_supported(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def rss_mb() -> float:
    from advisor.resources import current_rss_mb

    return current_rss_mb()


def cpu_pressure() -> float | None:
    """Share of the last 10 s in which some task waited for a CPU (Linux PSI), in percent.

    Why: on a shared machine other processes steal the two cores and every timing here
    degrades; the figure is recorded beside the numbers so a reader can tell.
    """
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return float(first.split("avg10=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None


def cpu_stall_us() -> int | None:
    """Microseconds some task has waited for a CPU since boot (PSI ``some total``)."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return int(first.split("total=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None


class Contention:
    """Share of a block's wall time in which some task waited for a CPU (0 = had the
    machine to itself). Our own threads count too, so a few percent is normal."""

    def __enter__(self) -> Contention:
        self.share: float | None = None
        self._us, self._t0 = cpu_stall_us(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        end = cpu_stall_us()
        if self._us is not None and end is not None:
            wall = time.perf_counter() - self._t0
            self.share = round((end - self._us) / 1e6 / max(wall, 1e-9), 3)


def wait_quiet(max_wait_s: float, threshold: float = 10.0) -> dict[str, Any]:
    """Wait (up to ``max_wait_s``) until CPU pressure falls under ``threshold`` percent."""
    t0 = time.perf_counter()
    pressure = cpu_pressure()
    while pressure is not None and pressure > threshold and time.perf_counter() - t0 < max_wait_s:
        time.sleep(5)
        pressure = cpu_pressure()
    return {
        "waited_s": round(time.perf_counter() - t0, 1),
        "cpu_pressure_avg10": pressure,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
