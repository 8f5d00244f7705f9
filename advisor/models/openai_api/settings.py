"""Endpoint settings, chat prompts encoded as strings, token estimates and usage totals.

See the package docstring (:mod:`advisor.models.openai_api`) for why prompts are encoded and why
token counts here are estimates.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

from advisor.errors import AdvisorError

CHAT_PREFIX = "\x1eadvisor-chat\x1e"  # marks a prompt holding JSON chat messages
CHARS_PER_TOKEN = 4.0  # rough English average; an estimate, never a measurement
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators per message (OpenAI's rule of thumb)
DEFAULT_CONTEXT = 8192  # when the server does not report its context length
DUMMY_KEY = "EMPTY"  # what local servers (vLLM, llama.cpp, Ollama) accept without a key
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class APIError(AdvisorError):
    """The endpoint failed in a way retries could not fix; the message says what to check."""


class _Cancelled(Exception):
    """Another request of the same batch failed for good: stop this one quietly."""


@dataclass(frozen=True)
class APISettings:
    base_url: str  # e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama)
    model: str | None = None  # None = the first model the server lists at /models
    key_env: str = "OPENAI_API_KEY"  # NAME of the variable holding the key (never the key)
    concurrency: int = 4  # requests in flight at once: servers batch them, rate limits bite
    timeout_s: float = 60.0  # per request; a hung server must not hang the pilot
    max_retries: int = 4  # on 429, 408, 5xx, timeouts and dropped connections
    backoff_s: float = 1.0  # first retry wait; doubles each retry (plus jitter)
    max_backoff_s: float = 30.0  # cap on one wait, also on a server's Retry-After
    temperature: float = 0.0  # greedy-like, so a pilot is as repeatable as the server allows
    context_length: int | None = None  # None = from /models when reported, else 8192

    def __post_init__(self) -> None:
        check_base_url(self.base_url)
        check_key_env(self.key_env)
        if self.concurrency <= 0:
            raise ValueError(f"api concurrency must be positive (not {self.concurrency!r})")
        if not self.timeout_s > 0:
            raise ValueError(f"api timeout must be positive seconds (not {self.timeout_s!r})")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0 (not {self.max_retries!r})")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff times must be >= 0 seconds")
        if self.context_length is not None and self.context_length <= 0:
            raise ValueError(f"context_length must be positive (not {self.context_length!r})")


def check_base_url(url: str) -> None:
    """An http(s) URL without credentials: keys belong in the environment, not in settings."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"api base must be an http(s) URL like http://localhost:8000/v1 (not {url!r})"
        )
    if parts.username or parts.password or parts.query:
        raise ValueError(
            "api base must not carry credentials or a query string (it is saved with the run); "
            "put the key in an environment variable and name it with --api-key-env"
        )


def check_key_env(name: str) -> None:
    """The variable's NAME; the message never repeats the value (it may be a pasted key)."""
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise ValueError(
            "api key env must be the NAME of an environment variable (letters, digits, _), "
            "e.g. OPENAI_API_KEY, not the key itself"
        )


def display_url(url: str) -> str:
    """The URL without credentials or query, safe to show and save."""
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    return urlunsplit((p.scheme, host, p.path, "", ""))


# -- chat prompts as strings -----------------------------------------------------------------


def encode_chat(messages: list[dict[str, str]]) -> str:
    return CHAT_PREFIX + json.dumps(messages, ensure_ascii=False)


def decode_chat(prompt: str) -> list[dict[str, str]]:
    """Messages back from :func:`encode_chat`; any other string is one user turn."""
    if prompt.startswith(CHAT_PREFIX):
        return json.loads(prompt[len(CHAT_PREFIX) :])
    return [{"role": "user", "content": prompt}]


def estimate_tokens(text: str) -> int:
    """About 4 characters per token: an ESTIMATE for budgeting, not the server's count."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN)) if text else 0


# -- usage -----------------------------------------------------------------------------------


@dataclass
class Usage:
    """Totals over a run (or an arm): what the provider bills is built from these."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    estimated: int = 0  # requests whose counts were estimated (server sent no usage)

    def minus(self, other: Usage) -> Usage:
        return Usage(**{k: v - getattr(other, k) for k, v in asdict(self).items()})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
