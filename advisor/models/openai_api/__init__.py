"""A generator behind any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp, OpenAI...).

Why: the question teams ask most is "prompting a big hosted model, or a LoRA on a small
local one?" (framework §2, distillation). With ``--api-base`` the prompting and RAG arms
answer through the endpoint while the arms that train (``lora``, ``lora_rag``) keep the
local ``--model``; ``results.json`` records which model answered each arm
(``arms.<arm>.model`` / ``backend``) and the server-reported token usage
(``arms.<arm>.usage``), which feeds the cost projection through ``arms.<arm>.tokens``.

How prompts stay chat messages: the arms build prompts with
``gen.format_prompt(system, user)`` and pass the strings to ``gen.generate``. Here
``format_prompt`` returns the messages as JSON behind :data:`CHAT_PREFIX`, and ``generate``
decodes them back (:func:`encode_chat` / :func:`decode_chat`). A plain string is sent as one
user turn. ``count_tokens`` is an ESTIMATE (about 4 characters per token): the server's
tokenizer is unknown here, so it only budgets prompts; the token counts in the results are
the server's own (``usage``), estimated only when a server omits them.

The key: read from the environment variable named by ``api_key_env`` when the generator is
built, held only by the HTTP client, and never written anywhere (settings keep the variable's
NAME). Error messages are scrubbed of it in case a server echoes it back. Local servers that
need no key get a dummy one.

Smoke rule: ``results.json`` is ``smoke: true`` only when an arm's answers came from the
in-process built-in model (``builtin:tiny``), i.e. a training arm ran on it. An endpoint's
model is taken at its word and never counts as smoke, whatever it serves.
"""

from advisor.models.openai_api.client import APIGenerator
from advisor.models.openai_api.routing import RoutedGenerator, api_settings_from, routed_loader
from advisor.models.openai_api.settings import (
    CHARS_PER_TOKEN,
    CHAT_PREFIX,
    DEFAULT_CONTEXT,
    DUMMY_KEY,
    APIError,
    APISettings,
    Usage,
    check_base_url,
    check_key_env,
    decode_chat,
    display_url,
    encode_chat,
    estimate_tokens,
)

__all__ = [
    "CHARS_PER_TOKEN",
    "CHAT_PREFIX",
    "DEFAULT_CONTEXT",
    "DUMMY_KEY",
    "APIError",
    "APIGenerator",
    "APISettings",
    "RoutedGenerator",
    "Usage",
    "api_settings_from",
    "check_base_url",
    "check_key_env",
    "decode_chat",
    "display_url",
    "encode_chat",
    "estimate_tokens",
    "routed_loader",
]
