"""Endpoints by name, in promptfoo's provider-id style: ``--provider ollama:llama3.2``.

Why: comparing a hosted or local model against the LoRA arm should not start with looking
up which port Ollama listens on or which path llama.cpp serves the OpenAI API at. A
provider id presets ``--api-base``, ``--api-model`` and the NAME of the key variable;
flags given explicitly win over the preset. The same ids go into the exported
``promptfooconfig.yaml``, so the team keeps evaluating against the same endpoint.

Forms (``chat:`` may follow the prefix, as promptfoo writes ``openai:chat:gpt-4o-mini``):

| id | endpoint | model |
|---|---|---|
| ``ollama:MODEL`` | http://localhost:11434/v1 | MODEL |
| ``openai:MODEL`` | https://api.openai.com/v1 (key in OPENAI_API_KEY) | MODEL |
| ``vllm[:URL]`` | URL, default http://localhost:8000/v1 | ``--api-model`` or the first served |
| ``llamacpp[:URL]`` (or ``llama.cpp``) | URL, default http://localhost:8080/v1 | the loaded one |

A URL without a path gets ``/v1`` (where all four serve the OpenAI-compatible API).
Local servers get their own key variable (``OLLAMA_API_KEY``...), so an OpenAI key in the
environment is never sent to them; unset, a dummy key is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from advisor.models.openai_api.settings import check_base_url

PROVIDER_FORMS = "ollama:MODEL, openai:MODEL, vllm[:URL], llamacpp[:URL]"


@dataclass(frozen=True)
class Provider:
    kind: str  # ollama, openai, vllm, llamacpp
    base_url: str  # the OpenAI-compatible endpoint, ending in /v1 unless given otherwise
    model: str | None  # None: the server's first (or only) model
    key_env: str  # NAME of the variable that holds the key, if the server wants one

    @property
    def promptfoo_id(self) -> str:
        """How promptfoo names this provider (its ``openai`` provider for servers that
        speak the OpenAI API under another base URL)."""
        if self.kind == "ollama":
            return f"ollama:chat:{self.model}"
        return f"openai:chat:{self.model or 'default'}"


# kind -> (default base URL, needs a model in the id, key variable)
_KINDS: dict[str, tuple[str, bool, str]] = {
    "ollama": ("http://localhost:11434/v1", True, "OLLAMA_API_KEY"),
    "openai": ("https://api.openai.com/v1", True, "OPENAI_API_KEY"),
    "vllm": ("http://localhost:8000/v1", False, "VLLM_API_KEY"),
    "llamacpp": ("http://localhost:8080/v1", False, "LLAMACPP_API_KEY"),
}
_ALIASES = {"llama.cpp": "llamacpp", "llama-cpp": "llamacpp", "llama": "llamacpp"}


def _with_v1(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_provider(text: str) -> Provider:
    """A provider id as a :class:`Provider`; ``ValueError`` says which forms exist."""
    raw = (text or "").strip()
    prefix, _, rest = raw.partition(":")
    kind = _ALIASES.get(prefix.lower(), prefix.lower())
    if kind not in _KINDS:
        raise ValueError(f"unknown provider {raw!r}: use one of {PROVIDER_FORMS}")
    if rest.startswith("chat:"):
        rest = rest[len("chat:") :]
    base, needs_model, key_env = _KINDS[kind]
    rest = rest.strip()
    if needs_model:
        if not rest or rest.startswith(("http://", "https://")):
            raise ValueError(
                f"provider {raw!r} needs a model name, like {kind}:llama3.2 (the server's "
                "address, if not the default, goes in --api-base)"
            )
        return Provider(kind, base, rest, key_env)
    if rest and not rest.startswith(("http://", "https://")):
        raise ValueError(
            f"provider {raw!r}: after '{kind}:' comes the server's URL, like "
            f"{kind}:http://localhost:8000 (pick the model with --api-model)"
        )
    url = _with_v1(rest) if rest else base
    check_base_url(url)
    return Provider(kind, url, None, key_env)
