"""The benchmark script runs end to end (its --tiny mode) and reports every headline figure.

No timing is asserted: --tiny uses toy sizes and proves nothing about speed. What is checked
is the contract of ``python experiments/bench.py --json``: the last stdout line is one JSON
object with the keys issue 7 asks for, numbers where numbers are due, and goal verdicts
computed from those numbers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "experiments" / "bench.py"

HEADLINE = (
    "generation_tokens_per_s_batched",
    "generation_tokens_per_s_per_example",
    "generation_speedup",
    "lora_tokens_per_s",
    "trainer_tokens_per_s",
    "lora_vs_trainer",
    "lora_vs_trainer_rag",
    "lora_mfu",
    "matmul_peak_gflops_fp32",
    "memory_prediction_error",
    "embed_sentences_per_s",
    "bm25_queries_per_s",
    "faiss_queries_per_s",
    "embedding_cache_hit_rate",
    "smoke_pilot_seconds",
)


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last), json.loads(out.read_text())


def test_last_line_is_one_json_object_with_every_headline_key(tiny_result):
    result, _ = tiny_result
    missing = [k for k in HEADLINE if k not in result]
    assert not missing, f"missing keys: {missing}"
    for key in HEADLINE:
        value = result[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        assert math.isfinite(value), key
    assert result["generation_tokens_per_s_batched"] > 0
    assert result["lora_tokens_per_s"] > 0 and result["trainer_tokens_per_s"] > 0
    assert 0.0 <= result["embedding_cache_hit_rate"] <= 1.0


def test_ratios_are_computed_from_the_reported_rates(tiny_result):
    result, _ = tiny_result
    assert result["generation_speedup"] == pytest.approx(
        result["generation_tokens_per_s_batched"] / result["generation_tokens_per_s_per_example"],
        rel=0.01,
    )
    assert result["lora_vs_trainer"] == pytest.approx(
        result["lora_tokens_per_s"] / result["trainer_tokens_per_s"], rel=0.01
    )
    memory = result["details"]["training"][0]["memory"]
    measured, predicted = memory["measured_rss_delta_mb"], memory["predicted_total_train_mb"]
    assert result["memory_prediction_error"] == pytest.approx(
        (predicted - measured) / measured, abs=0.02
    )
    # the prediction is the CPU peak model's, part by part, for the batch the run really had
    assert sum(memory["predicted_parts_mb"].values()) == pytest.approx(predicted, abs=0.5)
    assert memory["predicted_for"]["seq_len"] <= result["details"]["training"][0]["spec"]["seq_len"]
    chapter = memory["chapter_total_train_mb"]
    assert result["memory_chapter_error"] == pytest.approx(
        (chapter - measured) / measured, abs=0.02
    )


def test_a_second_embedding_pass_is_served_from_the_cache(tiny_result):
    result, _ = tiny_result
    assert result["embedding_cache_hit_rate"] == 1.0


def test_goals_carry_a_verdict_for_each_measured_goal(tiny_result):
    result, saved = tiny_result
    goals = result["goals"]
    assert set(goals) == {
        "generation_speedup",
        "lora_vs_trainer",
        "lora_vs_trainer_rag",
        "lora_mfu",
        "abs_memory_prediction_error",
        "smoke_pilot_seconds",
    }
    assert goals["lora_vs_trainer_rag"]["met"] == (result["lora_vs_trainer_rag"] >= 1.3)
    assert goals["generation_speedup"]["met"] == (result["generation_speedup"] >= 3.0)
    assert goals["smoke_pilot_seconds"]["met"] == (result["smoke_pilot_seconds"] < 180.0)
    assert saved["goals"] == goals  # --out writes the same result
    assert result["details"]["pilot"]["all_ok"] is True
    assert set(result["details"]["machine"]) >= {"cpu", "cores", "torch", "bf16_native"}


def test_an_unknown_section_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--only", "generation,warp"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "warp" in proc.stderr and "choose from" in proc.stderr


def test_memory_grid_reports_each_run_against_both_calculators():
    """experiments/bench_memory.py on the tiny model: the JSON contract, errors computed
    from the figures it reports, and a clear message for a malformed run."""
    script = BENCH.parent / "bench_memory.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--runs", "tiny:2x32:fp32", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    (row,) = summary["runs"]
    assert row["run"] == "tiny:2x32:fp32" and row["measured_rss_mb"] > 0
    for measured, predicted, error in (
        ("measured_rss_mb", "predicted_mb", "error"),
        ("measured_live_mb", "predicted_live_mb", "error_vs_live"),
        ("measured_rss_mb", "chapter_mb", "chapter_error"),
    ):
        assert row[error] == pytest.approx(
            (row[predicted] - row[measured]) / row[measured], abs=0.01
        )
    assert summary["max_abs_error"] == abs(row["error"])
    bad = subprocess.run(
        [sys.executable, str(script), "--runs", "tiny:2by32:fp32"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0 and "MODEL:BATCHxSEQ" in bad.stderr
