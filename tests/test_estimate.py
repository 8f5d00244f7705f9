"""The pilot's up-front estimate: memory follows what the chosen arms load and train."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from advisor.finetune.lora import LoraSettings
from advisor.memory import count_params, shape_from_config
from advisor.memory.cpu import estimate_cpu_training_peak
from advisor.pilot.context import PilotSettings
from advisor.pilot.estimate import BASE_PROCESS_MB, LONGEST_VS_MEAN, RESPONSE_TOKENS, estimate_pilot

QWEN = Path(__file__).parent / "fixtures" / "configs" / "qwen2-0.5b"


@pytest.fixture(autouse=True)
def fp32_cpu(monkeypatch):
    """The same figures on every CI machine: as on a CPU without native bf16."""
    monkeypatch.setattr("advisor.runtime.cpu_has_native_bf16", lambda: False)


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "qwen"
    shutil.copytree(QWEN, folder)
    return folder


def _settings(model, arms, **lora):
    return PilotSettings(
        data="unused.jsonl", out="unused", model=str(model), arms=arms, lora=LoraSettings(**lora)
    )


def test_arms_without_a_model_cost_only_the_base_process(model_dir):
    est = estimate_pilot(_settings(model_dir, ("nearest_neighbor",)), 200, 400.0)
    assert est.peak_memory_mb == BASE_PROCESS_MB


def test_prompting_arms_add_the_served_model(model_dir):
    params = count_params(shape_from_config(model_dir))
    est = estimate_pilot(_settings(model_dir, ("zero_shot", "bm25_rag")), 200, 400.0)
    assert est.model_params == params
    assert est.peak_memory_mb == pytest.approx(BASE_PROCESS_MB + params * 4 / 1e6 * 1.2, abs=1)


def test_training_arms_use_the_cpu_peak_model_for_the_longest_batch(model_dir):
    est = estimate_pilot(_settings(model_dir, ("lora",), batch_size=4), 200, 400.0)
    tokens = 400 / 4 + 40 + 48  # mean example + template, plus the default new tokens
    peak = estimate_cpu_training_peak(
        shape_from_config(model_dir),
        batch_size=4,
        seq_len=round(tokens * LONGEST_VS_MEAN),
        weight_dtype="fp32",
        compute="fp32",
        logit_positions=RESPONSE_TOKENS,
    )
    assert est.peak_memory_mb == pytest.approx(BASE_PROCESS_MB + peak.total_gb * 1000, abs=2)
    bigger = estimate_pilot(_settings(model_dir, ("lora",), batch_size=16), 200, 400.0)
    assert bigger.peak_memory_mb > est.peak_memory_mb
    served = estimate_pilot(_settings(model_dir, ("zero_shot",)), 200, 400.0)
    assert est.peak_memory_mb > served.peak_memory_mb


def test_rag_training_prompts_are_capped_by_max_seq_len(model_dir):
    short = estimate_pilot(_settings(model_dir, ("lora_rag",), max_seq_len=128), 200, 400.0)
    long = estimate_pilot(_settings(model_dir, ("lora_rag",), max_seq_len=1024), 200, 400.0)
    assert short.peak_memory_mb < long.peak_memory_mb


def test_a_broken_config_falls_back_instead_of_failing(model_dir):
    (model_dir / "config.json").write_text("{not json")
    est = estimate_pilot(_settings(model_dir, ("lora",)), 200, 400.0)
    assert est.peak_memory_mb > BASE_PROCESS_MB and est.model_params > 0


def test_builtin_model_is_counted_as_the_tiny_model():
    est = estimate_pilot(
        PilotSettings(data="x", out="y", model="builtin:tiny", arms=("lora",)), 50, 200.0
    )
    assert est.model_params < 1_000_000
    assert BASE_PROCESS_MB < est.peak_memory_mb < BASE_PROCESS_MB + 200
    json.dumps(est.to_dict())  # goes into results.json as it is
