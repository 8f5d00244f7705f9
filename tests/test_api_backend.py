"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1.

The server (tests/openai_server.py) serves the built-in tiny model; tests switch it into
failing, rate-limiting and slow modes to exercise retries, timeouts and early stopping, and
run the zero_shot and faiss_rag arms through ``run_pilot`` with it.
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from openai_server import serve

from advisor.errors import AdvisorError, ModelLoadError
from advisor.finetune.lora import LoraSettings
from advisor.models.openai_api import (
    CHAT_PREFIX,
    APIError,
    APIGenerator,
    APISettings,
    check_base_url,
    check_key_env,
    decode_chat,
    encode_chat,
    estimate_tokens,
    routing,
)
from advisor.pilot.context import PilotSettings
from advisor.pilot.runner import run_pilot

MODEL = "tiny-served"
KEY_ENV = "ADVISOR_TEST_API_KEY"
FAKE_KEY = "sk-advisor-test-8f3c1e9d2b7a4f60-DO-NOT-LEAK"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The built-in model, built once in a cache of this module's own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVISOR_CACHE", str(tmp_path_factory.mktemp("api-cache")))
        from advisor.models.hf import load_generator

        return load_generator("builtin:tiny")


@pytest.fixture(scope="module")
def server(tiny):
    with serve(tiny, MODEL) as running:
        yield running


@pytest.fixture
def endpoint(server, monkeypatch):
    url, control = server
    control.reset()
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    # the pilot builds its own APISettings: shorten its retry waits (not its retry count)
    original = routing.api_settings_from
    monkeypatch.setattr(
        routing,
        "api_settings_from",
        lambda s: replace(original(s), backoff_s=0.01, max_backoff_s=0.05),
    )
    return url, control


def api(url: str, **kw) -> APIGenerator:
    base = dict(base_url=url, model=MODEL, key_env=KEY_ENV, backoff_s=0.01, max_backoff_s=0.05)
    base.update(kw)
    return APIGenerator(APISettings(**base))


# -- prompts, tokens and settings ------------------------------------------------------------


def test_chat_prompt_round_trips_and_plain_text_is_one_user_turn():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": 'Say "hi"\n\u00e9'},
    ]
    encoded = encode_chat(messages)
    assert encoded.startswith(CHAT_PREFIX)
    assert decode_chat(encoded) == messages
    assert decode_chat("hello") == [{"role": "user", "content": "hello"}]


def test_token_count_is_a_labelled_estimate_of_about_four_chars():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("a" * 401) == 101


def test_key_env_must_be_a_variable_name_and_the_error_never_echoes_it():
    check_key_env("OPENAI_API_KEY")
    with pytest.raises(ValueError) as err:
        check_key_env(FAKE_KEY)
    assert FAKE_KEY not in str(err.value)
    with pytest.raises(ValueError) as err:
        PilotSettings(data="x", out="y", api_key_env=FAKE_KEY)
    assert FAKE_KEY not in str(err.value)


@pytest.mark.parametrize(
    "url", ["localhost:8000", "ftp://h/v1", "http://u:pw@h/v1", "http://h/v1?key=abc", ""]
)
def test_bad_api_base_is_refused(url):
    with pytest.raises(ValueError):
        check_base_url(url)


def test_api_model_without_api_base_is_refused():
    with pytest.raises(ValueError, match="--api-base"):
        PilotSettings(data="x", out="y", api_model="m")


# -- the generator over HTTP -----------------------------------------------------------------


def test_answers_come_back_in_order_with_server_usage_and_the_key(endpoint, tiny):
    url, control = endpoint
    gen = api(url, model=None, concurrency=3)  # discovers the model at /v1/models
    assert gen.name == MODEL and gen.smoke is False
    assert gen.context_length == tiny.context_length  # read from max_model_len
    questions = [f"What is item number {i}?" for i in range(6)]
    prompts = [gen.format_prompt("Answer briefly.", q) for q in questions]
    seen: list[tuple[int, int]] = []
    results = gen.generate(prompts, max_new_tokens=8, progress=lambda d, t: seen.append((d, t)))

    expected = [tiny.generate([tiny.format_prompt("Answer briefly.", q)], 8)[0] for q in questions]
    assert [r.text for r in results] == [e.text for e in expected]
    assert [r.prompt_tokens for r in results] == [e.prompt_tokens for e in expected]
    assert [r.output_tokens for r in results] == [e.output_tokens for e in expected]
    assert seen[-1] == (6, 6) and len(seen) == 6
    assert gen.usage.requests == 6 and gen.usage.estimated == 0
    assert gen.usage.prompt_tokens == sum(e.prompt_tokens for e in expected)
    chats = control.chat_requests()
    assert {r["auth"] for r in control.requests} == {f"Bearer {FAKE_KEY}"}
    assert chats[0]["body"]["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert chats[0]["body"]["max_tokens"] == 8


def test_no_key_in_the_environment_sends_a_dummy(endpoint, monkeypatch):
    url, control = endpoint
    monkeypatch.delenv(KEY_ENV)
    api(url).generate(["hi"], max_new_tokens=2)
    assert control.chat_requests()[0]["auth"] == "Bearer EMPTY"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_errors_are_retried_until_success(endpoint, status):
    url, control = endpoint
    control.fail_next, control.fail_status = 2, status
    gen = api(url, concurrency=1)
    [result] = gen.generate(["hello"], max_new_tokens=4)
    assert result.output_tokens > 0
    assert gen.usage.retries == 2
    assert len(control.chat_requests()) == 3


def test_a_server_that_always_fails_raises_a_clear_error_and_stops_early(endpoint):
    url, control = endpoint
    control.always_status = 500
    gen = api(url, concurrency=2, max_retries=2)
    with pytest.raises(APIError) as err:
        gen.generate([f"q{i}" for i in range(20)], max_new_tokens=4)
    message = str(err.value)
    assert "HTTP 500" in message and "after 3 attempts" in message and url in message
    assert len(control.chat_requests()) < 20  # the other 18+ prompts were never sent


def test_a_rejected_key_is_not_retried_and_names_the_variable(endpoint):
    url, control = endpoint
    control.always_status = 401
    with pytest.raises(APIError) as err:
        api(url).generate(["hi"], max_new_tokens=2)
    assert KEY_ENV in str(err.value) and FAKE_KEY not in str(err.value)
    assert len(control.chat_requests()) == 1


def test_a_slow_server_times_out_with_a_clear_error(endpoint):
    url, control = endpoint
    control.delay_s = 5.0
    gen = api(url, timeout_s=0.3, max_retries=1)
    with pytest.raises(APIError, match="timed out"):
        gen.generate(["hi"], max_new_tokens=2)
    assert len(control.chat_requests()) == 2  # the first try and one retry


def test_one_slow_answer_is_retried_after_the_timeout(endpoint):
    url, control = endpoint
    control.delay_s, control.slow_next = 5.0, 1
    gen = api(url, timeout_s=0.3, concurrency=1)
    [result] = gen.generate(["hi"], max_new_tokens=2)
    assert result.output_tokens > 0 and gen.usage.retries == 1


def test_missing_usage_is_estimated_and_counted_as_such(endpoint):
    url, control = endpoint
    control.report_usage = False
    gen = api(url)
    results = gen.generate(["one", "two"], max_new_tokens=3)
    assert gen.usage.estimated == 2
    assert all(r.prompt_tokens > 0 for r in results)


def test_an_unknown_model_fails_without_retries(endpoint):
    url, control = endpoint
    with pytest.raises(APIError, match="--api-model"):
        api(url, model="no-such-model").generate(["hi"], max_new_tokens=2)
    assert len(control.chat_requests()) == 1


def test_nothing_listening_fails_to_connect():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(APIError, match="could not connect"):
        api(url, max_retries=1).generate(["hi"], max_new_tokens=2)
    with pytest.raises(ModelLoadError, match="--api-model"):
        api(url, model=None)


# -- through the pilot -----------------------------------------------------------------------


def write_toy(folder: Path) -> tuple[Path, Path]:
    docs, rows = [], []
    towns = [
        "Velmora",
        "Quistrand",
        "Orbelle",
        "Tarnhollow",
        "Ysmere",
        "Brackwater",
        "Celdune",
        "Fennrow",
    ]
    for i, town in enumerate(towns):
        year = 1700 + 13 * i
        docs.append({"id": f"d{i}", "text": f"{town} is a harbour town founded in {year}."})
        rows.append({"input": f"When was {town} founded?", "output": str(year), "doc_id": f"d{i}"})
        rows.append({"input": f"Is {town} a harbour town?", "output": "yes", "doc_id": f"d{i}"})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kb.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "ex.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "ex.jsonl", folder / "kb.jsonl"


def pilot_settings(folder: Path, url: str, **kw) -> PilotSettings:
    data, kb = write_toy(folder)
    base = dict(
        data=str(data),
        kb=str(kb),
        out=str(folder / "run"),
        model="builtin:tiny",
        embedder="hashing",
        test_size=5,
        validation_size=0.2,
        max_new_tokens=6,
        api_base=url,
        api_model=MODEL,
        api_key_env=KEY_ENV,
        api_timeout_s=10,
        lora=LoraSettings(epochs=1, batch_size=4, learning_rate=3e-3),
    )
    base.update(kw)
    return PilotSettings(**base)


def test_prompting_and_rag_arms_run_against_the_endpoint_and_no_key_is_written(endpoint, tmp_path):
    url, control = endpoint
    settings = pilot_settings(tmp_path, url, arms=("zero_shot", "faiss_rag"))
    results = run_pilot(settings)
    n_test = results["data"]["n_test"]
    for arm in ("zero_shot", "faiss_rag"):
        block = results["arms"][arm]
        assert block["status"] == "ok", block.get("error")
        assert block["model"] == MODEL and block["backend"] == "api"
        assert block["usage"]["requests"] == n_test and block["usage"]["estimated"] == 0
        assert block["tokens"]["prompt_mean"] == block["usage"]["prompt_tokens"] / n_test
    assert results["model"] == MODEL and results["smoke"] is False
    assert len(control.chat_requests()) == 2 * n_test
    rag_prompts = [r["body"]["messages"][-1]["content"] for r in control.chat_requests()]
    assert sum("Context:" in p for p in rag_prompts) == n_test  # faiss_rag sent passages

    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert files and {"results.json", "settings.json", "predictions.jsonl"} <= {
        p.name for p in files
    }
    for path in files:
        assert FAKE_KEY.encode() not in path.read_bytes(), f"the key leaked into {path}"
    saved = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert saved["api_key_env"] == KEY_ENV and saved["api_base"] == url


def test_a_failing_endpoint_fails_its_arm_and_other_arms_go_on(endpoint, tmp_path):
    url, control = endpoint
    control.always_status = 500
    settings = pilot_settings(tmp_path, url, arms=("zero_shot", "nearest_neighbor"))
    results = run_pilot(settings)
    failed = results["arms"]["zero_shot"]
    assert failed["status"] == "failed"
    assert "HTTP 500" in failed["error"] and url in failed["error"]
    assert "after 5 attempts" in failed["error"]  # the default 4 retries were made
    assert results["arms"]["nearest_neighbor"]["status"] == "ok"
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes()


@pytest.mark.slow
def test_lora_arms_keep_the_local_model_while_prompting_uses_the_endpoint(endpoint, tmp_path):
    url, control = endpoint
    settings = pilot_settings(tmp_path, url, arms=("zero_shot", "lora"))
    results = run_pilot(settings)
    zero, lora = results["arms"]["zero_shot"], results["arms"]["lora"]
    assert zero["status"] == "ok" and lora["status"] == "ok", lora.get("error")
    assert (zero["model"], zero["backend"]) == (MODEL, "api")
    assert (lora["model"], lora["backend"]) == ("builtin:tiny", "local")
    assert "usage" not in lora
    n_test = results["data"]["n_test"]
    assert len(control.chat_requests()) == n_test  # only zero_shot went over HTTP
    # the built-in model's numbers are part of this run, so it is a smoke run
    assert results["smoke"] is True and results["model"] == "builtin:tiny"


def test_cli_flags_reach_the_endpoint(endpoint, tmp_path, capsys):
    from advisor.cli import main

    url, control = endpoint
    data, _ = write_toy(tmp_path)
    code = main(
        [
            "pilot",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--arms",
            "zero_shot",
            "--embedder",
            "hashing",
            "--test-size",
            "5",
            "--max-new-tokens",
            "4",
            "--api-base",
            url,
            "--api-model",
            MODEL,
            "--api-key-env",
            KEY_ENV,
            "--api-concurrency",
            "2",
            "--json",
        ]
    )
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert results["arms"]["zero_shot"]["backend"] == "api"
    assert results["config"]["api_concurrency"] == 2
    assert len(control.chat_requests()) == 5


def test_cli_refuses_a_key_passed_as_the_variable_name(tmp_path, capsys):
    from advisor.cli import main

    data, _ = write_toy(tmp_path)
    code = main(
        [
            "pilot",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "run"),
            "--api-base",
            "http://127.0.0.1:9/v1",
            "--api-key-env",
            FAKE_KEY,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "NAME of an environment variable" in err and FAKE_KEY not in err
    assert not (tmp_path / "run" / "settings.json").exists()


def test_errors_are_advisor_errors():
    assert issubclass(APIError, AdvisorError)
