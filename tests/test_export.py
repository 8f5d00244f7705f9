"""Training setup export: real plans in, TRL / Axolotl / LLaMA-Factory setups out.

Each export is checked against the tool's documented schema fields (names and types), the
TRL script must compile and carry the plan's values, and the converted data must be what
the tool reads (chat messages JSONL; alpaca JSON registered in dataset_info.json).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from advisor.errors import AdvisorError
from advisor.finetune.export import build_spec, export_training_setup, load_plan
from advisor.memory import plan_finetune

PLANS = {  # (params_b, gpu_memory_gb, labeled_examples) -> the method the planner picks
    "lora": (7, 24, 500),
    "qlora": (13, 16, 500),
    "full": (0.5, 80, 50_000),
}
MODEL = "meta-llama/Llama-3.1-8B-Instruct"

AXOLOTL_KEYS = {  # documented Axolotl keys -> expected type
    "base_model": str,
    "datasets": list,
    "sequence_len": int,
    "micro_batch_size": int,
    "gradient_accumulation_steps": int,
    "num_epochs": int,
    "learning_rate": float,
    "optimizer": str,
    "lr_scheduler": str,
    "output_dir": str,
    "load_in_4bit": bool,
    "gradient_checkpointing": bool,
    "train_on_inputs": bool,
}
AXOLOTL_LORA_KEYS = {
    "adapter": str,
    "lora_r": int,
    "lora_alpha": int,
    "lora_dropout": float,
    "lora_target_modules": list,
}
LLAMAFACTORY_KEYS = {
    "model_name_or_path": str,
    "stage": str,
    "do_train": bool,
    "finetuning_type": str,
    "dataset": str,
    "dataset_dir": str,
    "template": str,
    "cutoff_len": int,
    "per_device_train_batch_size": int,
    "gradient_accumulation_steps": int,
    "learning_rate": float,
    "num_train_epochs": float,
    "output_dir": str,
    "bf16": bool,
}
LLAMAFACTORY_LORA_KEYS = {
    "lora_rank": int,
    "lora_alpha": int,
    "lora_dropout": float,
    "lora_target": str,
}
TRL_KEYS = {
    "model": str,
    "method": str,
    "lora_r": int,
    "lora_alpha": int,
    "lora_dropout": float,
    "target_modules": list,
    "learning_rate": float,
    "epochs": int,
    "micro_batch_size": int,
    "gradient_accumulation_steps": int,
    "seq_len": int,
    "bf16": bool,
    "gradient_checkpointing": bool,
    "train_on_prompt": bool,
    "output_dir": str,
}


def check_keys(cfg: dict, schema: dict[str, type]) -> None:
    for key, kind in schema.items():
        assert key in cfg, f"missing {key}"
        assert isinstance(cfg[key], kind), f"{key}={cfg[key]!r} is not {kind.__name__}"
        if kind is int:
            assert not isinstance(cfg[key], bool), key


def write_examples(path: Path, n: int = 40) -> list[dict]:
    rows = [
        {"input": f'Ticket {i}: "printer" is down\nhelp', "output": f"category-{i % 3}"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


@pytest.fixture(params=sorted(PLANS))
def plan(request) -> dict:
    plan = plan_finetune(*PLANS[request.param]).to_dict()
    assert plan["method"] == request.param  # the planner still picks this method
    return plan


def trl_config(script: str) -> dict:
    tree = ast.parse(script)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CONFIG":
            return ast.literal_eval(node.value)
    raise AssertionError("no CONFIG literal in the script")


def test_every_format_from_a_real_plan(plan, tmp_path):
    rows = write_examples(tmp_path / "ex.jsonl")
    paths = export_training_setup(
        plan,
        "trl,axolotl,llamafactory",
        tmp_path / "out",
        data_path=tmp_path / "ex.jsonl",
        model=MODEL,
    )
    assert all(p.exists() for p in paths)
    out, method = tmp_path / "out", plan["method"]
    lora = method in ("lora", "qlora")
    spec = json.loads((out / "training_spec.json").read_text())
    assert spec["method"] == method and spec["rank"] == plan["rank"]

    # TRL: compiles, uses SFTTrainer + LoraConfig, CONFIG carries the plan
    script = (out / "trl" / "train_trl.py").read_text()
    compile(script, "train_trl.py", "exec")
    imported = {
        a.name
        for n in ast.walk(ast.parse(script))
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    assert {"SFTTrainer", "SFTConfig", "LoraConfig"} <= imported
    cfg = trl_config(script)
    check_keys(cfg, TRL_KEYS)
    assert (cfg["model"], cfg["method"], cfg["epochs"]) == (MODEL, method, plan["epochs"])
    assert cfg["learning_rate"] == plan["learning_rate"]
    assert cfg["target_modules"] == plan["target_modules"]
    check_messages(out / "trl" / "data" / "train.jsonl", rows)

    # Axolotl
    ax = yaml.safe_load((out / "axolotl" / "axolotl.yaml").read_text())
    check_keys(ax, AXOLOTL_KEYS | (AXOLOTL_LORA_KEYS if lora else {}))
    assert ax["base_model"] == MODEL and ax["num_epochs"] == plan["epochs"]
    assert ax["learning_rate"] == plan["learning_rate"]
    assert ax["load_in_4bit"] is (method == "qlora")
    assert ax.get("adapter") == (method if lora else None)
    if lora:
        assert ax["lora_r"] == plan["rank"] and ax["lora_target_modules"] == plan["target_modules"]
    assert ax["gradient_checkpointing"] is plan["gradient_checkpointing"]
    [ds] = ax["datasets"]
    assert ds["type"] == "chat_template" and ds["field_messages"] == "messages"
    check_messages(out / "axolotl" / ds["path"], rows)

    # LLaMA-Factory
    lf = yaml.safe_load((out / "llamafactory" / "llamafactory.yaml").read_text())
    check_keys(lf, LLAMAFACTORY_KEYS | (LLAMAFACTORY_LORA_KEYS if lora else {}))
    assert lf["stage"] == "sft" and lf["do_train"] is True
    assert lf["finetuning_type"] == ("lora" if lora else "full")
    assert lf["template"] == "llama3" and lf["learning_rate"] == plan["learning_rate"]
    assert lf.get("quantization_bit") == (4 if method == "qlora" else None)
    if lora:
        assert lf["lora_target"].split(",") == plan["target_modules"]
    info = json.loads((out / "llamafactory" / lf["dataset_dir"] / "dataset_info.json").read_text())
    entry = info[lf["dataset"]]
    assert entry["formatting"] == "alpaca"
    alpaca = json.loads((out / "llamafactory" / "data" / entry["file_name"]).read_text())
    assert [(r["instruction"], r["output"]) for r in alpaca] == [
        (r["input"], r["output"]) for r in rows
    ]
    assert all(r[entry["columns"]["system"]] for r in alpaca)

    for fmt in ("trl", "axolotl", "llamafactory"):
        readme = (out / fmt / "README.md").read_text()
        assert MODEL in readme and method in readme


def check_messages(path: Path, rows: list[dict]) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        roles = [m["role"] for m in line["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert line["messages"][1]["content"] == row["input"]
        assert line["messages"][2]["content"] == row["output"]


def test_a_recommendation_file_works_and_one_without_a_plan_is_refused(tmp_path):
    from advisor.decide.questionnaire import parse_answers
    from advisor.decide.recommend import recommend

    write_examples(tmp_path / "ex.jsonl")
    rec = recommend(
        parse_answers(
            {
                "model_params_b": 7.0,
                "gpu_memory_gb": 24.0,
                "labeled_examples": 800,
                "model_access": "open_weights",
                "prompting_effort": "systematic",
                "few_shot_tried": True,
                "failures": ["wrong_format", "wrong_style"],
                "ml_expertise": "some",
                "can_serve_custom_model": True,
            }
        )
    )
    rec_dict = rec.to_dict()
    assert rec_dict["finetune_plan"]["method"] == "lora"
    (tmp_path / "rec.json").write_text(json.dumps(rec_dict))
    paths = export_training_setup(
        tmp_path / "rec.json",
        "axolotl",
        tmp_path / "out",
        data_path=tmp_path / "ex.jsonl",
        model=MODEL,
    )
    assert (tmp_path / "out" / "axolotl" / "axolotl.yaml") in paths
    with pytest.raises(AdvisorError, match="no finetune plan"):
        load_plan({**rec_dict, "finetune_plan": None})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"rank": 8}', "neither a finetune plan"),
        ('{"method": "prompting"}', "method must be one of"),
        ('{"method": "lora", "rank": "eight"}', "'rank' must be int"),
    ],
)
def test_a_bad_plan_file_is_an_advisor_error(tmp_path, content, message):
    write_examples(tmp_path / "ex.jsonl")
    (tmp_path / "plan.json").write_text(content)
    with pytest.raises(AdvisorError, match=message):
        export_training_setup(
            tmp_path / "plan.json",
            "trl",
            tmp_path / "out",
            data_path=tmp_path / "ex.jsonl",
            model=MODEL,
        )


def test_missing_inputs_say_what_to_pass(tmp_path):
    plan = plan_finetune(7, 24, 500).to_dict()
    write_examples(tmp_path / "ex.jsonl")
    with pytest.raises(AdvisorError, match="not found"):
        load_plan(tmp_path / "nope.json")
    with pytest.raises(AdvisorError, match="choose from trl, axolotl, llamafactory"):
        export_training_setup(plan, "trl,unsloth", tmp_path / "o", tmp_path / "ex.jsonl", MODEL)
    with pytest.raises(AdvisorError, match="--model"):
        export_training_setup(plan, "trl", tmp_path / "o", tmp_path / "ex.jsonl")
    with pytest.raises(AdvisorError, match="--data"):
        export_training_setup(plan, "trl", tmp_path / "o", model=MODEL)


def test_user_text_cannot_break_out_of_the_trl_config(tmp_path):
    write_examples(tmp_path / "ex.jsonl")
    evil = 'org/model"\nimport os; os.system("echo pwned")  # '
    export_training_setup(
        plan_finetune(7, 24, 500).to_dict(),
        "trl",
        tmp_path / "out",
        data_path=tmp_path / "ex.jsonl",
        model=evil,
    )
    script = (tmp_path / "out" / "trl" / "train_trl.py").read_text()
    compile(script, "train_trl.py", "exec")
    assert trl_config(script)["model"] == evil
    top_level_imports = [n for n in ast.parse(script).body if isinstance(n, ast.Import)]
    assert top_level_imports == []


# -- with a pilot run folder -----------------------------------------------------------------


def make_run(tmp_path: Path, *, model: str, lora_status: str = "ok") -> Path:
    """A run folder as the pilot writes it: settings, split and results (hand-made)."""
    rows = write_examples(tmp_path / "ex.jsonl", 30)
    run = tmp_path / "run"
    run.mkdir()
    ids = [f"ex{i + 1}" for i in range(len(rows))]  # the loader's ids for an id-less file
    (run / "split.json").write_text(
        json.dumps({"seed": 0, "train": ids[:20], "validation": ids[20:24], "test": ids[24:]})
    )
    settings = {
        "data": str(tmp_path / "ex.jsonl"),
        "out": str(run),
        "model": model,
        "task": "Classify the support ticket.",
        "input_col": "input",
        "output_col": "output",
        "doc_id_col": "doc_id",
        "format": None,
        "lora": {
            "rank": 16,
            "alpha": 32,
            "dropout": 0.1,
            "learning_rate": 1e-4,
            "prompt_loss_weight": 0.1,
            "warmup_ratio": 0.1,
            "seed": 7,
        },
    }
    (run / "settings.json").write_text(json.dumps(settings))
    (run / "results.json").write_text(
        json.dumps(
            {
                "model": model,
                "smoke": model == "builtin:tiny",
                "arms": {"lora": {"status": lora_status}},
            }
        )
    )
    return run


def test_a_pilot_that_worked_supplies_lora_settings_task_and_split(tmp_path):
    run = make_run(tmp_path, model="HuggingFaceTB/SmolLM2-360M-Instruct")
    plan = plan_finetune(7, 24, 500).to_dict()
    spec = build_spec(plan, run_dir=run)
    assert (spec.rank, spec.alpha, spec.dropout, spec.learning_rate) == (16, 32, 0.1, 1e-4)
    assert spec.train_on_prompt is True and spec.seed == 7
    assert spec.target_modules == tuple(plan["target_modules"])  # the plan's architecture
    assert spec.model == "HuggingFaceTB/SmolLM2-360M-Instruct"
    assert any("--model" in n for n in spec.notes)

    export_training_setup(plan, "trl,llamafactory", tmp_path / "out", run_dir=run)
    train = [
        json.loads(x) for x in (tmp_path / "out/trl/data/train.jsonl").read_text().splitlines()
    ]
    evals = [json.loads(x) for x in (tmp_path / "out/trl/data/eval.jsonl").read_text().splitlines()]
    assert (len(train), len(evals)) == (20, 4)  # the 6 test items are held out
    held_out = {f'Ticket {i}: "printer" is down\nhelp' for i in range(24, 30)}
    assert not held_out & {t["messages"][1]["content"] for t in train + evals}
    assert train[0]["messages"][0]["content"] == "Classify the support ticket."
    lf = yaml.safe_load((tmp_path / "out/llamafactory/llamafactory.yaml").read_text())
    assert lf["lora_rank"] == 16 and lf["train_on_prompt"] is True
    assert lf["eval_dataset"] in json.loads(
        (tmp_path / "out/llamafactory/data/dataset_info.json").read_text()
    )


@pytest.mark.parametrize(("model", "lora_status"), [("builtin:tiny", "ok"), ("org/m", "failed")])
def test_a_smoke_or_failed_pilot_leaves_the_plan_values(tmp_path, model, lora_status):
    run = make_run(tmp_path, model=model, lora_status=lora_status)
    plan = plan_finetune(7, 24, 500).to_dict()
    if model == "builtin:tiny":
        with pytest.raises(AdvisorError, match="--model"):
            build_spec(plan, run_dir=run)
    spec = build_spec(plan, run_dir=run, model=MODEL)
    assert (spec.rank, spec.learning_rate) == (plan["rank"], plan["learning_rate"])
    assert spec.system_prompt == "Classify the support ticket."
    assert any("not the pilot" in n for n in spec.notes)


def test_cli_export_writes_and_fails_cleanly(tmp_path, capsys):
    from advisor.cli import main

    write_examples(tmp_path / "ex.jsonl")
    (tmp_path / "plan.json").write_text(json.dumps(plan_finetune(13, 16, 500).to_dict()))
    code = main(
        [
            "export",
            "--plan",
            str(tmp_path / "plan.json"),
            "--format",
            "axolotl",
            "--out",
            str(tmp_path / "out"),
            "--data",
            str(tmp_path / "ex.jsonl"),
            "--model",
            "Qwen/Qwen2.5-7B-Instruct",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert str(tmp_path / "out" / "axolotl" / "axolotl.yaml") in printed
    (tmp_path / "bad.json").write_text("{}")
    code = main(
        [
            "export",
            "--plan",
            str(tmp_path / "bad.json"),
            "--out",
            str(tmp_path / "o2"),
            "--data",
            str(tmp_path / "ex.jsonl"),
            "--model",
            MODEL,
        ]
    )
    assert code == 2
    assert "advisor: error:" in capsys.readouterr().err


def test_the_app_download_is_a_zip_of_the_same_files(tmp_path):
    import io
    import zipfile

    from advisor.finetune.export import export_archive

    write_examples(tmp_path / "ex.jsonl")
    blob = export_archive(
        plan_finetune(7, 24, 500).to_dict(),
        "trl,llamafactory",
        data_path=tmp_path / "ex.jsonl",
        model=MODEL,
    )
    names = set(zipfile.ZipFile(io.BytesIO(blob)).namelist())
    assert {
        "trl/train_trl.py",
        "trl/data/train.jsonl",
        "llamafactory/llamafactory.yaml",
        "llamafactory/data/dataset_info.json",
        "training_spec.json",
    } <= names
