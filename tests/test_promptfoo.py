"""The promptfoo export: valid against promptfoo's own config schema, and it carries the pilot
over exactly (the prompts the pilot sent, its test split, its metric, its model)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from advisor.errors import AdvisorError
from advisor.finetune.export import export_training_setup
from advisor.finetune.export.promptfoo import literal

SCHEMA = Path(__file__).parent / "fixtures" / "promptfoo" / "config-schema.json"


def validate(config: dict) -> list[str]:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(config)]


def render(template: str, variables: dict[str, str]) -> str:
    """Nunjucks as promptfoo uses it here: {{name}} substitution and {% raw %} blocks."""
    parts = re.split(r"\{% raw %\}(.*?)\{% endraw %\}", template, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
        else:
            out.append(re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: variables[m.group(1)], part))
    return "".join(out)


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """A pilot whose prompting and RAG arms answered through a fake OpenAI endpoint (every
    request recorded) and whose LoRA arm trained on the built-in model."""
    from openai_server import serve_builtin

    from advisor.finetune.lora import LoraSettings
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.runner import run_pilot

    folder = tmp_path_factory.mktemp("pf")
    facts = [(f"Island {i}", f"Port {chr(65 + i)}{i}") for i in range(16)]
    rows = [
        {"input": f'What is the "port" of {name}?', "output": port, "doc_id": f"d{i}"}
        for i, (name, port) in enumerate(facts)
    ]
    (folder / "ex.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs = [
        {"id": f"d{i}", "text": f"{name} trades through {port}. Ferries leave daily."}
        for i, (name, port) in enumerate(facts)
    ]
    (folder / "kb.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVISOR_CACHE", str(folder / "cache"))
        with serve_builtin("served-model") as (url, control):
            settings = PilotSettings(
                data=str(folder / "ex.jsonl"),
                kb=str(folder / "kb.jsonl"),
                out=str(folder / "run"),
                model="builtin:tiny",
                arms=("zero_shot", "few_shot", "bm25_rag", "lora"),
                task="Name the port. Use {{braces}} literally.",
                embedder="hashing",
                test_size=5,
                validation_size=0.2,
                max_new_tokens=4,
                few_shot_k=2,
                api_base=url,
                api_model="served-model",
                api_key_env="PF_TEST_KEY",
                lora=LoraSettings(epochs=1, batch_size=4, max_steps=2, learning_rate=3e-3),
            )
            results = run_pilot(settings)
            sent = control.chat_requests()
    return folder, results, sent, url


@pytest.fixture(scope="module")
def exported(api_run):
    folder, _, _, _ = api_run
    out = folder / "export"
    paths = export_training_setup(None, "promptfoo", out, run_dir=folder / "run")
    config = yaml.safe_load((out / "promptfoo" / "promptfooconfig.yaml").read_text())
    return out / "promptfoo", config, paths


def test_the_config_validates_against_promptfoos_schema(exported):
    _, config, paths = exported
    assert validate(config) == []
    assert {p.name for p in paths} >= {
        "promptfooconfig.yaml",
        "advisor_provider.py",
        "advisor_metric.py",
        "README.md",
    }


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["defaultTest"]["assert"][0].update(threshold="high"),
        lambda c: c.pop("prompts"),
        lambda c: c["tests"][0].update(expected="x"),
        lambda c: c["prompts"][0].pop("label"),
    ],
)
def test_the_schema_check_catches_a_broken_config(exported, break_it):
    config = copy.deepcopy(exported[1])
    break_it(config)
    assert validate(config)


def test_the_prompts_are_exactly_what_the_pilot_sent(api_run, exported):
    _, results, sent, _ = api_run
    _, config, _ = exported
    prompts = {p["label"]: json.loads(p["raw"]) for p in config["prompts"]}
    assert list(prompts) == ["zero_shot", "few_shot", "bm25_rag", "lora"]
    sent_by_arm = {"zero_shot": [], "few_shot": [], "bm25_rag": []}
    order = ["zero_shot", "few_shot", "bm25_rag"]  # the pilot ran them in this order
    n = results["data"]["n_test"]
    for i, arm in enumerate(order):
        sent_by_arm[arm] = [r["body"]["messages"] for r in sent[i * n : (i + 1) * n]]
    assert len(config["tests"]) == n
    for arm in order:  # requests run concurrently: compare as sets
        rendered = [
            [{"role": m["role"], "content": render(m["content"], t["vars"])} for m in prompts[arm]]
            for t in config["tests"]
        ]
        assert sorted(map(json.dumps, rendered)) == sorted(map(json.dumps, sent_by_arm[arm]))
    assert "{% raw %}" in prompts["zero_shot"][0]["content"]  # the task's {{braces}} kept


def test_tests_are_the_test_split_with_expected_answers(api_run, exported):
    folder, _, _, _ = api_run
    _, config, _ = exported
    split = json.loads((folder / "run" / "split.json").read_text())
    assert [t["description"] for t in config["tests"]] == split["test"]
    rows = {f"ex{i}": json.loads(line) for i, line in enumerate(
        (folder / "ex.jsonl").read_text().splitlines(), start=1
    )}  # fmt: skip
    for test in config["tests"]:
        assert test["vars"]["expected"] == rows[test["description"]]["output"]


def test_the_assertion_is_the_primary_metric_scored_by_advisor(api_run, exported):
    from advisor.evaluation.metrics import METRICS

    folder_pf, config, _ = exported
    _, results, _, _ = api_run
    [check] = config["defaultTest"]["assert"]
    assert check["metric"] == results["primary_metric"] == "answer_containment"
    assert check["type"] == "python" and check["threshold"] == 1.0
    module, function = check["value"].removeprefix("file://").split(":")
    scorer = getattr(load_module(folder_pf / module), function)
    for output, expected in [("It is Port A0.", "Port A0"), ("no idea", "Port A0")]:
        context = {"vars": {"expected": expected}}
        assert scorer(output, context) == METRICS[function].fn(output, expected)
    assert scorer("It is Port A0.", {"vars": {"expected": "Port A0"}}) == 1.0


def test_providers_are_the_runs_endpoint_and_the_lora_adapter(api_run, exported):
    _, _, _, url = api_run
    _, config, _ = exported
    base, lora = config["providers"]
    assert base["id"] == "openai:chat:served-model"
    assert base["config"]["apiBaseUrl"] == url
    assert base["config"]["apiKeyEnvar"] == "PF_TEST_KEY"
    assert base["prompts"] == ["zero_shot", "few_shot", "bm25_rag"]
    assert lora["id"] == "file://advisor_provider.py" and lora["prompts"] == ["lora"]
    assert Path(lora["config"]["adapter"], "adapter_model.safetensors").is_file()


def test_the_provider_file_answers_with_the_local_model_and_the_adapter(exported, monkeypatch):
    folder_pf, config, _ = exported
    provider = load_module(folder_pf / "advisor_provider.py")
    lora = config["providers"][1]
    prompt = json.dumps(
        [{"role": "system", "content": "Name the port."}, {"role": "user", "content": "Island 1?"}]
    )
    for cfg in (lora["config"], {"model": "builtin:tiny", "max_new_tokens": 3}):
        answer = provider.call_api(prompt, {"config": cfg}, {})
        assert isinstance(answer["output"], str)
        assert answer["tokenUsage"]["completion"] <= 3 or cfg is lora["config"]


def test_provider_flag_picks_promptfoos_provider_for_the_endpoint(api_run, tmp_path):
    folder, _, _, _ = api_run
    export_training_setup(
        None, "promptfoo", tmp_path, run_dir=folder / "run", provider="ollama:llama3.2"
    )
    config = yaml.safe_load((tmp_path / "promptfoo" / "promptfooconfig.yaml").read_text())
    assert config["providers"][0]["id"] == "ollama:chat:llama3.2"
    assert validate(config) == []
    export_training_setup(
        None, "promptfoo", tmp_path / "v", run_dir=folder / "run", provider="vllm:http://gpu:8000"
    )
    config = yaml.safe_load((tmp_path / "v" / "promptfoo" / "promptfooconfig.yaml").read_text())
    assert config["providers"][0]["config"]["apiBaseUrl"] == "http://gpu:8000/v1"
    with pytest.raises(AdvisorError, match="unknown provider"):
        export_training_setup(None, "promptfoo", tmp_path, run_dir=folder / "run", provider="x:y")


def test_a_local_run_uses_the_provider_file_and_a_format_adds_its_check(tmp_path):
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.runner import run_pilot

    rows = [{"input": f"Give item {i} as JSON", "output": json.dumps({"id": i})} for i in range(12)]
    (tmp_path / "ex.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_pilot(
        PilotSettings(
            data=str(tmp_path / "ex.jsonl"),
            out=str(tmp_path / "run"),
            model="builtin:tiny",
            arms=("zero_shot",),
            format="json",
            embedder="hashing",
            test_size=5,
            max_new_tokens=4,
        )
    )
    export_training_setup(None, "promptfoo", tmp_path / "out", run_dir=tmp_path / "run")
    config = yaml.safe_load((tmp_path / "out/promptfoo/promptfooconfig.yaml").read_text())
    assert validate(config) == []
    [provider] = config["providers"]
    assert provider["id"] == "file://advisor_provider.py"
    assert provider["config"]["model"] == "builtin:tiny"
    primary, fmt = config["defaultTest"]["assert"]
    assert (primary["metric"], primary["threshold"]) == ("field_accuracy", 0.5)
    assert fmt == {"type": "is-json", "metric": "format_valid"}
    readme = (tmp_path / "out/promptfoo/README.md").read_text()
    assert "smoke model" in readme and "PROMPTFOO_PYTHON" in readme


def test_promptfoo_needs_a_finished_run(tmp_path, capsys):
    from advisor.cli import main

    with pytest.raises(AdvisorError, match="needs a pilot run"):
        export_training_setup(None, "promptfoo", tmp_path)
    with pytest.raises(AdvisorError, match="not a pilot run folder"):
        export_training_setup(None, "promptfoo", tmp_path, run_dir=tmp_path)
    code = main(["export", "--format", "promptfoo", "--out", str(tmp_path / "o")])
    assert code == 2 and "needs a pilot run" in capsys.readouterr().err


def test_literal_keeps_nunjucks_markers_out_of_the_template():
    assert literal("plain {json}") == "plain {json}"
    assert literal("use {{x}}") == "{% raw %}use {{x}}{% endraw %}"
