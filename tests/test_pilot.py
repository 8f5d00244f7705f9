"""The pilot runner: every arm through one contract, resume, failures, the run folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from advisor.finetune.lora import LoraSettings
from advisor.pilot.arms import ARMS
from advisor.pilot.context import PilotSettings
from advisor.pilot.runner import run_pilot

TOWNS = [
    "Velmora",
    "Quistrand",
    "Orbelle",
    "Tarnhollow",
    "Ysmere",
    "Brackwater",
    "Celdune",
    "Fennrow",
    "Glimhaven",
    "Harrowmere",
    "Istrel",
    "Jorvale",
]


def write_toy(folder: Path) -> tuple[Path, Path]:
    """Facts about invented towns: 36 questions over 12 documents, each with a doc_id."""
    docs, rows = [], []
    for i, town in enumerate(TOWNS):
        year, pop = 1700 + i * 13, 1000 + i * 371
        docs.append(
            {
                "id": f"d{i}",
                "text": f"{town} is a harbour town founded in {year}. "
                f"Its population is {pop}. The mayor of {town} is {town[:3]}ander Voss.",
            }
        )
        rows += [
            {"input": f"When was {town} founded?", "output": str(year), "doc_id": f"d{i}"},
            {"input": f"What is the population of {town}?", "output": str(pop), "doc_id": f"d{i}"},
            {
                "input": f"Who is the mayor of {town}?",
                "output": f"{town[:3]}ander Voss",
                "doc_id": f"d{i}",
            },
        ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kb.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "ex.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "ex.jsonl", folder / "kb.jsonl"


def settings(data: Path, kb: Path | None, out: Path, **kw) -> PilotSettings:
    base = dict(
        data=str(data),
        kb=str(kb) if kb else None,
        out=str(out),
        model="builtin:tiny",
        embedder="hashing",
        test_size=8,
        validation_size=0.15,
        batch_size=8,
        lora=LoraSettings(epochs=2, batch_size=8, learning_rate=3e-3),
    )
    base.update(kw)
    return PilotSettings(**base)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """One pilot with every arm on the built-in model (shared: it is the slow part)."""
    folder = tmp_path_factory.mktemp("pilot")
    os.environ.setdefault("ADVISOR_CACHE", str(folder / "cache"))
    data, kb = write_toy(folder)
    events: list[dict] = []
    results = run_pilot(settings(data, kb, folder / "run"), progress=events.append)
    return folder / "run", results, events


@pytest.mark.parametrize("name", sorted(ARMS))
def test_every_arm_answers_every_test_item(name, full_run):
    run_dir, results, _ = full_run
    block = results["arms"][name]
    assert block["status"] == "ok", block.get("error")
    n_test = results["data"]["n_test"]
    preds = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    mine = [p for p in preds if p["arm"] == name]
    assert len(mine) == n_test == block["n"]
    for metric in ("exact_match", "token_f1", "rouge_l", "semantic_similarity"):
        m = block["metrics"][metric]
        assert 0.0 <= m["ci95"][0] <= m["mean"] <= m["ci95"][1] <= 1.0
    assert block["latency_ms"]["p50"] <= block["latency_ms"]["p95"]
    assert block["peak_memory_mb"] > 0
    if ARMS[name].needs_kb and name.endswith("_rag"):
        assert all(p["retrieved_ids"] for p in mine), "RAG arms record what they retrieved"


def test_results_carry_the_contract_fields(full_run):
    run_dir, results, events = full_run
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["smoke"] is True and on_disk["model"] == "builtin:tiny"
    assert "smoke" in on_disk["smoke_notice"].lower()
    for key in ("config", "seed", "comparisons", "mde", "retrieval", "data"):
        assert key in on_disk
    for kind in ("bm25", "faiss", "hybrid"):
        assert set(on_disk["retrieval"][kind]) >= {"recall@1", "recall@5", "mrr"}
    train = on_disk["arms"]["lora"]["train"]
    assert train["trainable_params"] > 0 and train["seconds"] > 0
    assert (run_dir / train["adapter_dir"] / "adapter_model.safetensors").exists()
    assert {c["a"] for c in on_disk["comparisons"]} >= {"few_shot", "bm25_rag", "lora"}
    assert on_disk["arms"]["zero_shot"]["failures"]["correct"] >= 0
    assert any(e["stage"] == "generate" for e in events)
    assert any(e["stage"] == "train" for e in events)
    # the metric the decision, report and app lead with, and why
    primary = on_disk["primary_metric"]
    assert primary in on_disk["arms"]["zero_shot"]["metrics"]
    assert on_disk["task_kind"] in ("short_answer", "json", "free_text")
    assert on_disk["primary_metric_reason"]
    assert any(c["metric"] == primary for c in on_disk["comparisons"])


def test_demo_without_the_real_model_falls_back_loudly(tmp_path, capsys):
    """ADVISOR_OFFLINE=1 and an empty model cache (conftest): the default model cannot be
    had, so the demo runs the built-in model and says SMOKE, with the reason, everywhere."""
    from advisor.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--sample", "tiny", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr()
    results = json.loads((out / "results.json").read_text())
    assert results["smoke"] is True and results["model"] == "builtin:tiny"
    assert any("could not get model" in n and "advisor models pull" in n for n in results["notes"])
    assert "SMOKE" in printed.out and "advisor models pull" in printed.err
    assert not (out / "answers.json").exists()  # the demo gives no answers of its own
    report = (out / "report" / "report.md").read_text()
    assert "smoke" in report.lower()


def test_rerun_skips_finished_arms(full_run):
    run_dir, results, _ = full_run
    stamps = {p: p.stat().st_mtime_ns for p in (run_dir / "arms").glob("*.json")}
    folder = run_dir.parent
    events: list[dict] = []
    again = run_pilot(
        settings(folder / "ex.jsonl", folder / "kb.jsonl", run_dir), progress=events.append
    )
    assert {e["arm"] for e in events if e["stage"] == "skipped"} == set(ARMS)
    assert {p: p.stat().st_mtime_ns for p in (run_dir / "arms").glob("*.json")} == stamps
    assert again["arms"]["lora"]["metrics"] == results["arms"]["lora"]["metrics"]


def test_rerun_with_other_settings_is_refused(full_run):
    run_dir, _, _ = full_run
    folder = run_dir.parent
    with pytest.raises(AdvisorError, match="other settings"):
        run_pilot(settings(folder / "ex.jsonl", folder / "kb.jsonl", run_dir, seed=7))


def test_a_failing_arm_is_recorded_and_the_others_go_on(tmp_path, monkeypatch):
    data, kb = write_toy(tmp_path)
    spec = ARMS["few_shot"]

    def boom(ctx, test):
        raise RuntimeError("simulated failure")

    monkeypatch.setitem(ARMS, "few_shot", spec.__class__(**{**spec.__dict__, "run": boom}))
    results = run_pilot(settings(data, kb, tmp_path / "run", arms=("few_shot", "nearest_neighbor")))
    assert results["arms"]["few_shot"]["status"] == "failed"
    assert "simulated failure" in results["arms"]["few_shot"]["error"]
    assert results["arms"]["nearest_neighbor"]["status"] == "ok"


def test_rag_arms_without_a_knowledge_base_are_a_clear_error(tmp_path):
    data, _ = write_toy(tmp_path)
    with pytest.raises(AdvisorError, match="--kb"):
        run_pilot(settings(data, None, tmp_path / "run", arms=("bm25_rag",)))


def test_unknown_arm_names_the_allowed_ones(tmp_path):
    data, kb = write_toy(tmp_path)
    with pytest.raises(AdvisorError, match="nearest_neighbor"):
        run_pilot(settings(data, kb, tmp_path / "run", arms=("gpt5",)))


def test_killed_pilot_resumes_without_redoing_finished_arms(tmp_path):
    """SIGKILL the CLI once its first arm is on disk; the re-run must skip that arm."""
    data, kb = write_toy(tmp_path)
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "advisor",
        "pilot",
        "--data",
        str(data),
        "--kb",
        str(kb),
        "--model",
        "builtin:tiny",
        "--embedder",
        "hashing",
        "--test-size",
        "8",
        "--arms",
        "zero_shot,few_shot,lora,nearest_neighbor",
        "--lora-epochs",
        "30",
        "--out",
        str(run_dir),
        "--quiet",
    ]
    env = {**os.environ, "ADVISOR_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = run_dir / "arms" / "zero_shot.json"

    def zero_shot_reported() -> bool:
        try:
            partial = json.loads((run_dir / "results.json").read_text())
        except (OSError, ValueError):
            return False
        return partial["arms"]["zero_shot"].get("status") == "ok"

    deadline = time.monotonic() + 120
    while not zero_shot_reported() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert zero_shot_reported(), (
        proc.stderr.read().decode() if proc.poll() is not None else "timeout"
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stamp = first.stat().st_mtime_ns
    partial = json.loads((run_dir / "results.json").read_text())
    assert partial["state"] == "running"
    assert partial["arms"]["lora"]["status"] == "pending"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert first.stat().st_mtime_ns == stamp
    final = json.loads((run_dir / "results.json").read_text())
    assert final["state"] == "finished"
    assert all(
        final["arms"][a]["status"] == "ok"
        for a in ("zero_shot", "few_shot", "lora", "nearest_neighbor")
    )
