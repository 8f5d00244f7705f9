"""GGUF files (llama.cpp, Ollama, LM Studio) into safetensors folders the pilot can train.

Why convert rather than load the GGUF each time: transformers reads GGUF by dequantising
every tensor (~20 s for a 135M model), and a model loaded that way carries a GGUF
quantisation config that refuses ``save_pretrained`` and confuses peft. A fresh model built
from the same config, given the dequantised weights, is an ordinary Hugging Face model:
saved once as safetensors with its tokenizer and chat template, it loads in a second.

The weights are stored in bfloat16 (the precision SmolLM2, Llama and Qwen are published in)
unless the file holds only full-precision tensors; a 4-bit file gains nothing from fp32.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from advisor.errors import ModelLoadError
from advisor.models.cache import StageFn

GGUF_MAGIC = b"GGUF"
_FULL_PRECISION = ("F32", "F64")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_gguf_file(path: str | Path) -> Path:
    """The path, if it is a readable GGUF file; otherwise one line that says what is wrong."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelLoadError(f"GGUF file {str(path)!r} does not exist")
    if not p.is_file():
        raise ModelLoadError(f"{str(path)!r} is not a file; give the path of a .gguf file")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelLoadError(f"cannot read GGUF file {str(path)!r}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelLoadError(
            f"{str(path)!r} is not a GGUF file (it does not start with the GGUF signature); "
            "give a .gguf model file as written by llama.cpp, Ollama or LM Studio"
        )
    return p


def _save_dtype(path: Path) -> str:
    """bfloat16 for quantised or half-precision files, float32 for full-precision ones."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    types = {t.tensor_type.name for t in reader.tensors if len(t.shape) >= 2}
    return "float32" if types and types <= set(_FULL_PRECISION) else "bfloat16"


def convert_gguf(path: str | Path, out_dir: Path, stage: StageFn | None = None) -> dict[str, Any]:
    """Write ``out_dir`` as a Hugging Face folder holding the GGUF file's model.

    Returns facts for the cache manifest (architecture, parameters, stored dtype). Errors
    from the readers (an architecture transformers cannot read, a truncated file) become
    one :class:`ModelLoadError` line.
    """
    p = check_gguf_file(path)
    say = stage or (lambda _msg: None)
    try:
        import gguf  # noqa: F401  (transformers needs it to read the file)
    except ImportError:
        raise ModelLoadError(
            "reading a .gguf file needs the gguf package: pip install gguf"
        ) from None
    from advisor.models.loading import dtype_kwarg
    from advisor.runtime import configure_threads

    configure_threads()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    say(f"reading {p.name} ({p.stat().st_size / 1e6:.0f} MB) and dequantising its weights")
    try:
        save_dtype = _save_dtype(p)
        tokenizer = AutoTokenizer.from_pretrained(str(p.parent), gguf_file=p.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(p.parent), gguf_file=p.name)
    except Exception as exc:  # gguf, tokenizer and config readers raise many unrelated types
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelLoadError(f"could not read GGUF file {str(path)!r}: {reason}") from None
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)  # the converted copy is not quantised
    config_dict.pop("_name_or_path", None)
    config = AutoConfig.for_model(**config_dict)
    dtype = getattr(torch, save_dtype)
    model = AutoModelForCausalLM.from_config(config, **{dtype_kwarg(): dtype})
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.tie_weights()
    del loaded
    say(f"saving a safetensors copy ({save_dtype})")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    _drop_config_key(out_dir / "config.json", "quantization_config")
    return {
        "architecture": config.model_type,
        "parameters": int(sum(t.numel() for t in model.parameters())),
        "dtype": save_dtype,
        "chat_template": bool(getattr(tokenizer, "chat_template", None)),
    }


def _drop_config_key(path: Path, key: str) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if key in data:
        del data[key]
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
