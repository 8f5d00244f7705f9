"""``advisor memory``: the contract's JSON keys, the text table and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.memory import estimate_memory, shape_from_config

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
CONTRACT_KEYS = (
    "weights_gb",
    "gradients_gb",
    "optimizer_gb",
    "activations_gb",
    "total_train_gb",
    "inference_gb",
    "trainable_params",
    "total_params",
)


def _json(capsys, *argv: str) -> dict:
    assert main(["memory", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_from_config_matches_the_library(capsys):
    out = _json(
        capsys,
        "--config",
        str(CONFIGS / "mistral-7b" / "config.json"),
        "--method",
        "qlora",
        "--rank",
        "16",
        "--target-modules",
        "q_proj,k_proj,v_proj,o_proj",
        "--seq-len",
        "1024",
        "--batch-size",
        "2",
        "--gradient-checkpointing",
    )
    expected = estimate_memory(
        shape_from_config(CONFIGS / "mistral-7b"),
        "qlora",
        lora_rank=16,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        seq_len=1024,
        batch_size=2,
        gradient_checkpointing=True,
    ).to_dict()
    for key in CONTRACT_KEYS:
        assert out[key] == expected[key], key
    assert out["unit"] == "GB (1e9 bytes)"
    assert out["model"]["kv_heads"] == 8
    assert "fits" not in out  # no GPU given, no verdict


def test_no_options_means_the_libraries_defaults(capsys):
    """The flags' defaults are estimate_memory's: the CLI and a Python call agree."""
    out = _json(capsys, "--config", str(CONFIGS / "mistral-7b" / "config.json"))
    expected = estimate_memory(shape_from_config(CONFIGS / "mistral-7b")).to_dict()
    for key in CONTRACT_KEYS:
        assert out[key] == expected[key], key


def test_model_folder_works_like_its_config_file(capsys):
    a = _json(capsys, "--config", str(CONFIGS / "qwen2-0.5b"))
    b = _json(capsys, "--config", str(CONFIGS / "qwen2-0.5b" / "config.json"))
    assert a == b
    assert a["total_params"] == 494_032_768


def test_params_b_with_dimensions_gives_the_chapter_example(capsys):
    out = _json(
        capsys,
        *("--params-b", "13", "--layers", "40", "--hidden", "5120", "--heads", "40"),
        *("--kv-heads", "40", "--vocab", "32000", "--method", "full", "--dtype", "fp16"),
    )
    assert out["weights_gb"] == pytest.approx(26.0)
    assert out["inference_gb"] == pytest.approx(31.2)
    assert out["gradients_gb"] + out["optimizer_gb"] == pytest.approx(78.0)
    assert out["model"]["intermediate_size"] == 13824  # Llama's 8h/3 rounded to 256


def test_params_b_alone_borrows_a_llama_shape(capsys):
    out = _json(capsys, "--params-b", "7", "--method", "full", "--optimizer", "sgd")
    assert out["total_params"] == 7_000_000_000
    assert out["optimizer_gb"] == 0
    assert "7B stated" in out["model"]["source"]


def test_all_linear_and_gpu_verdict(capsys):
    out = _json(
        capsys,
        *("--config", str(CONFIGS / "llama-2-7b"), "--target-modules", "all-linear"),
        *("--rank", "8", "--gpu-memory-gb", "16"),
    )
    assert out["trainable_params"] == 32 * 8 * (3 * 8192 + 8192 + 3 * (4096 + 11008))
    assert out["gpu_memory_gb"] == 16
    assert out["fits"] is (out["total_train_gb"] * 1.2 <= 16)
    assert out["fits"] is False  # 13.5 GB of bf16 weights plus activations
    out = _json(capsys, "--config", str(CONFIGS / "gpt2"), "--gpu-memory-gb", "16")
    assert out["fits"] is True and out["fits_inference"] is True


def test_text_table_by_default(capsys):
    argv = ["memory", "--config", str(CONFIGS / "bert-base-uncased"), "--method", "full"]
    assert main([*argv, "--gpu-memory-gb", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "GB (1e9 bytes)" in text
    for label in ("weights", "gradients", "optimizer states", "activations", "inference"):
        assert label in text
    assert "109,482,240" in text
    assert "does NOT fit" in text
    assert "Conventions:" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--config", "no/such/config.json"], "not found"),
        (["--config", "{bad}"], "cannot read"),
        (["--params-b", "7", "--dtype", "fp64"], "dtype must be one of"),
        (["--params-b", "7", "--rank", "-3"], "--rank must be positive"),
        (["--params-b", "7", "--rank", "eight"], "--rank must be a number"),
        (["--params-b", "7", "--method", "prefix"], "method must be one of"),
        (["--params-b", "7", "--layers", "32"], "missing --hidden, --heads, --kv-heads, --vocab"),
        (["--params-b", "7", "--target-modules", "c_attn"], "matches no layer"),
        (["--params-b", "7", "--gpu-memory-gb", "-1"], "--gpu-memory-gb must be >= 0"),
        ([], "no model given"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, message):
    if "{bad}" in argv:
        bad = tmp_path / "config.json"
        bad.write_text("{not json")
        argv = [str(bad) if a == "{bad}" else a for a in argv]
    assert main(["memory", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("advisor: error:") and "\n" not in err
    assert message in err


def test_config_and_params_b_together_is_an_error(capsys):
    argv = ["memory", "--config", str(CONFIGS / "gpt2"), "--params-b", "7"]
    assert main(argv) == 2
    assert "not both" in capsys.readouterr().err
