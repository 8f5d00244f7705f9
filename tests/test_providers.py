"""`--provider` ids in promptfoo's style preset the endpoint flags (api_backend.providers)."""

from __future__ import annotations

import json

import pytest

from advisor.cli import build_parser, main
from advisor.cli.pilot import settings_from_args
from advisor.models.openai_api.providers import Provider, parse_provider


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ollama:llama3.2",
            Provider("ollama", "http://localhost:11434/v1", "llama3.2", "OLLAMA_API_KEY"),
        ),
        (
            "ollama:chat:qwen2.5:7b",  # promptfoo's own spelling; Ollama tags keep their colon
            Provider("ollama", "http://localhost:11434/v1", "qwen2.5:7b", "OLLAMA_API_KEY"),
        ),
        (
            "openai:gpt-4o-mini",
            Provider("openai", "https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY"),
        ),
        ("vllm", Provider("vllm", "http://localhost:8000/v1", None, "VLLM_API_KEY")),
        (
            "vllm:http://gpu-box:8001",
            Provider("vllm", "http://gpu-box:8001/v1", None, "VLLM_API_KEY"),
        ),
        (
            "vllm:https://gpu-box/openai/v1/",
            Provider("vllm", "https://gpu-box/openai/v1", None, "VLLM_API_KEY"),
        ),
        ("llamacpp", Provider("llamacpp", "http://localhost:8080/v1", None, "LLAMACPP_API_KEY")),
        (
            "llama.cpp:http://127.0.0.1:9000",
            Provider("llamacpp", "http://127.0.0.1:9000/v1", None, "LLAMACPP_API_KEY"),
        ),
    ],
)
def test_provider_ids_resolve_to_endpoints(text, expected):
    assert parse_provider(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("anthropic:claude", "unknown provider 'anthropic:claude': use one of ollama:MODEL"),
        ("ollama", "needs a model name, like ollama:llama3.2"),
        ("openai:http://x", "needs a model name"),
        ("vllm:my-model", "comes the server's URL, like vllm:http://localhost:8000"),
        ("vllm:http://user:pw@host:8000", "must not carry credentials"),
    ],
)
def test_bad_provider_ids_say_which_forms_exist(text, message):
    with pytest.raises(ValueError, match=message):
        parse_provider(text)


def test_promptfoo_ids_name_the_same_endpoint():
    assert parse_provider("ollama:llama3.2").promptfoo_id == "ollama:chat:llama3.2"
    assert parse_provider("openai:gpt-4o").promptfoo_id == "openai:chat:gpt-4o"
    assert parse_provider("vllm").promptfoo_id == "openai:chat:default"


def _settings(*extra: str):
    args = build_parser().parse_args(["pilot", "--data", "d.csv", "--out", "o", *extra])
    return settings_from_args(args, args.data, args.out, None)


def test_provider_presets_the_api_flags_and_explicit_flags_win():
    s = _settings("--provider", "ollama:llama3.2")
    assert (s.api_base, s.api_model, s.api_key_env) == (
        "http://localhost:11434/v1",
        "llama3.2",
        "OLLAMA_API_KEY",
    )
    s = _settings(
        "--provider", "ollama:llama3.2", "--api-base", "http://box:11434/v1",
        "--api-model", "mistral", "--api-key-env", "MY_KEY",
    )  # fmt: skip
    assert (s.api_base, s.api_model, s.api_key_env) == (
        "http://box:11434/v1",
        "mistral",
        "MY_KEY",
    )
    assert _settings().api_key_env == "OPENAI_API_KEY"  # no provider: the old default
    assert _settings().api_base is None


def test_a_bad_provider_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["pilot", "--data", "x.csv", "--out", str(tmp_path), "--provider", "bard:x"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown provider 'bard:x'" in err


def test_a_pilot_runs_through_a_provider_id(tmp_path, capsys, monkeypatch):
    from openai_server import serve_builtin

    rows = [{"input": f"What is {i}+1?", "output": str(i + 1)} for i in range(12)]
    data = tmp_path / "ex.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with serve_builtin("served-model") as (url, control):
        code = main(
            ["pilot", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet",
             "--provider", f"vllm:{url.removesuffix('/v1')}", "--arms", "zero_shot",
             "--embedder", "hashing", "--max-new-tokens", "4", "--test-size", "5"]
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        assert len(control.chat_requests()) == 5
    saved = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert saved["api_base"] == url and saved["api_key_env"] == "VLLM_API_KEY"
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["arms"]["zero_shot"]["model"] == "served-model"
