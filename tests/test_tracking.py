"""MLflow logging of a pilot, read back with MLflow's own client from a local file store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from advisor.pilot.tracking import (
    check_tracking_uri,
    log_pilot_to_mlflow,
    metric_key,
    pilot_metrics,
)

mlflow = pytest.importorskip("mlflow", reason="MLflow is optional: pip install mlflow-skinny")


@pytest.fixture(autouse=True)
def _offline_mlflow(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # the module must opt in


def write_examples(folder: Path) -> Path:
    rows = [
        {"input": f"What colour is item {i}?", "output": ["red", "blue", "green"][i % 3]}
        for i in range(30)
    ]
    path = folder / "ex.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_pilot_run_through_the_cli_is_logged_and_read_back(tmp_path):
    from mlflow.tracking import MlflowClient

    from advisor.cli import main

    store = (tmp_path / "mlruns").as_uri()
    run_dir = tmp_path / "run"
    code = main(
        [
            "pilot",
            "--data",
            str(write_examples(tmp_path)),
            "--out",
            str(run_dir),
            "--arms",
            "nearest_neighbor",
            "--embedder",
            "hashing",
            "--quiet",
            "--mlflow",
            store,
        ]
    )
    assert code == 0
    results = json.loads((run_dir / "results.json").read_text())

    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("advisor")
    [run] = client.search_runs([experiment.experiment_id])
    params, metrics = run.data.params, run.data.metrics
    assert params["seed"] == "0" and params["mlflow"] == store
    assert params["lora.rank"] == str(results["config"]["lora"]["rank"])
    assert json.loads(params["arms"]) == ["nearest_neighbor"]
    block = results["arms"]["nearest_neighbor"]
    for metric, m in block["metrics"].items():
        assert metrics[f"nearest_neighbor.{metric}.mean"] == pytest.approx(m["mean"])
        assert metrics[f"nearest_neighbor.{metric}.ci95_lo"] == pytest.approx(m["ci95"][0])
        assert metrics[f"nearest_neighbor.{metric}.ci95_hi"] == pytest.approx(m["ci95"][1])
    assert metrics["nearest_neighbor.latency_ms.p95"] == pytest.approx(block["latency_ms"]["p95"])
    assert run.data.tags["advisor.arm.nearest_neighbor.status"] == "ok"
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"results.json", "predictions.jsonl", "settings.json"} <= artifacts


def test_training_figures_curves_and_retrieval_are_metrics(tmp_path):
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    results = {
        "model": "org/m",
        "smoke": False,
        "arms": {
            "lora": {
                "status": "ok",
                "model": "org/m",
                "metrics": {"token_f1": {"mean": 0.5, "ci95": [0.4, 0.6]}},
                "latency_ms": {"p50": 10.0, "p95": 20.0},
                "train": {
                    "seconds": 12.5,
                    "trainable_params": 1024,
                    "final_loss": 0.7,
                    "train_loss": [2.0, 1.5, 0.7],
                    "val_loss": [2.1, None],
                },
            },
            "zero_shot": {"status": "failed", "error": "boom"},
        },
        "retrieval": {"bm25": {"recall@1": 0.25, "recall@5": 0.75, "mrr": 0.4}},
    }
    (run_dir / "results.json").write_text(json.dumps(results))
    (run_dir / "settings.json").write_text(json.dumps({"seed": 3, "lora": {"rank": 8}}))
    store = (tmp_path / "store").as_uri()
    run_id = log_pilot_to_mlflow(run_dir, store, experiment="pilots")

    client = MlflowClient(tracking_uri=store)
    run = client.get_run(run_id)
    m = run.data.metrics
    assert m["lora.train.seconds"] == 12.5 and m["lora.train.trainable_params"] == 1024
    assert m["retrieval.bm25.recall_at_5"] == 0.75
    assert not any(k.startswith("zero_shot.") for k in m)  # a failed arm has no numbers
    assert run.data.tags["advisor.arm.zero_shot.status"] == "failed"
    history = client.get_metric_history(run_id, "lora.train.train_loss")
    assert [(h.step, h.value) for h in sorted(history, key=lambda h: h.step)] == [
        (0, 2.0),
        (1, 1.5),
        (2, 0.7),
    ]
    assert run.data.params == {"seed": "3", "lora.rank": "8"}
    assert client.get_experiment(run.info.experiment_id).name == "pilots"


def test_a_plain_folder_path_is_a_file_store(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps({"arms": {}}))
    monkeypatch.chdir(tmp_path)
    log_pilot_to_mlflow(run_dir, "mlruns")
    assert any((tmp_path / "mlruns").iterdir())


def test_bad_inputs_are_advisor_errors(tmp_path):
    with pytest.raises(AdvisorError, match="no pilot results"):
        log_pilot_to_mlflow(tmp_path, (tmp_path / "s").as_uri())
    with pytest.raises(ValueError, match="password"):
        check_tracking_uri("http://me:secret@mlflow.example.com")


def test_metric_names_are_ones_mlflow_accepts():
    assert metric_key("bm25", "recall@5") == "bm25.recall_at_5"
    assert metric_key("a b", "c:d") == "a b.c_d"
    metrics = {
        "em": {"mean": float("nan"), "ci95": [0.0, 1.0]},  # not measured: nothing logged
        "f1": {"mean": 0.5, "ci95": [0.4, 0.6]},
    }
    assert pilot_metrics({"arms": {"x": {"status": "ok", "metrics": metrics}}}) == {
        "x.f1.mean": 0.5,
        "x.f1.ci95_lo": 0.4,
        "x.f1.ci95_hi": 0.6,
    }
