"""Where a model comes from: hub id or local folder, offline detection, one plain error.

Why apart from :mod:`advisor.models.hf`: these answer "can this reference be loaded here, and
if not, what should the user do?" before any weights move, and keep the generator module
about generation. Offline matters on this machine class: the hub client would otherwise
retry for about a minute before failing.
"""

from __future__ import annotations

import os

from advisor.errors import ModelLoadError

BUILTIN_MODEL = "builtin:tiny"  # the offline smoke-test model (advisor.models.tiny)


def dtype_kwarg() -> str:
    """transformers renamed ``torch_dtype`` to ``dtype`` in 4.56; pass whichever it knows."""
    import transformers

    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def looks_like_path(ref: str) -> bool:
    return ref.startswith(("/", "./", "../", "~", ".\\")) or "\\" in ref or ref.count("/") > 1


def hub_offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_unreachable(host: str = "huggingface.co") -> bool:
    """True when the hub's name does not resolve: the machine is offline.

    Why: with no network the hub client retries with backoff for about a minute before it
    gives up; a DNS lookup answers at once, and then only the local cache is read.
    """
    import socket

    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return True
    return False


def load_error(ref: str, exc: Exception) -> ModelLoadError:
    """Turn the many "not found / offline / wrong format" errors into one plain message."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    hint = "pass --model builtin:tiny for a smoke run that tests the pipeline, or a local folder"
    text = str(exc).lower()
    if "trust_remote_code" in text:
        hint = (
            "this model needs its own Python code; opt in to trust_remote_code only if you "
            f"trust its author, or {hint}"
        )
    elif "safetensors" in text:
        hint = (
            "only .safetensors weights are loaded (pickled .bin files can run code); "
            f"convert the model to safetensors, or {hint}"
        )
    where = " offline" if hub_offline() or "connect" in text or "local_files_only" in text else ""
    return ModelLoadError(f"could not load {ref!r}{where} ({reason}); {hint}")
