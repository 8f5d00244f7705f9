"""The pilot's flags for an OpenAI-compatible endpoint (``--api-base``, ``--provider``...)
and how they resolve to one endpoint.

Why apart from :mod:`advisor.cli.pilot`: the endpoint is one feature (a server answers the
prompting and RAG arms; the LoRA arms keep the local model), with its own precedence
rule: flags given explicitly win over a ``--provider`` preset.
"""

from __future__ import annotations

import argparse

from advisor.cli.argtypes import finite_number
from advisor.pilot.context import PilotSettings
from advisor.settings_help import help_for


def add_api_arguments(p: argparse.ArgumentParser, defaults: PilotSettings) -> None:
    _S = defaults
    p.add_argument(
        "--api-base",
        help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, OpenAI), e.g. "
        "http://localhost:8000/v1: the prompting and RAG arms answer through it, the LoRA arms "
        "keep --model",
    )
    p.add_argument("--api-model", help="model name at the endpoint (default: the first listed)")
    p.add_argument(
        "--provider",
        metavar="ID",
        help="the endpoint by name, in promptfoo's style: ollama:MODEL, openai:MODEL, "
        "vllm[:URL], llamacpp[:URL]; presets --api-base, --api-model and --api-key-env "
        "(flags given explicitly win)",
    )
    p.add_argument(
        "--api-key-env",
        help="NAME of the environment variable holding the API key (default OPENAI_API_KEY, "
        "or the provider's own; the key itself is never saved)",
    )
    p.add_argument(
        "--api-concurrency",
        type=int,
        default=_S.api_concurrency,
        help=help_for(PilotSettings, "api_concurrency"),
    )
    p.add_argument(
        "--api-timeout",
        type=finite_number,
        default=_S.api_timeout_s,
        help=help_for(PilotSettings, "api_timeout_s"),
    )


def endpoint(args: argparse.Namespace) -> tuple[str | None, str | None, str | None]:
    """(base URL, model, key variable): the flags, completed from ``--provider``."""
    api_base, api_model, key_env = args.api_base, args.api_model, args.api_key_env
    if getattr(args, "provider", None):
        from advisor.models.openai_api.providers import parse_provider

        preset = parse_provider(args.provider)
        api_base = api_base or preset.base_url
        api_model = api_model or preset.model
        key_env = key_env or preset.key_env
    return api_base, api_model, key_env
