"""Optional MLflow logging of a finished pilot: params, metrics and artifacts.

Why: teams that already track experiments in MLflow want the pilot next to their other
runs, compared with the same UI. The run folder stays the source of truth; this copies
what a tracking server shows well: the settings as params, every arm's metric means and
95% CI bounds, latency, token and training figures as metrics, and results.json,
predictions.jsonl and settings.json as artifacts.

Needs ``mlflow-skinny`` (or ``mlflow``). A local file store (``file:///path/mlruns`` or a
plain folder path) is the simplest target; MLflow 3 keeps that backend in maintenance mode
and refuses it unless ``MLFLOW_ALLOW_FILE_STORE`` is set, so this module sets it (only for
file stores, only when the user has not set it): naming a file URI is the opt-in.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from advisor.errors import AdvisorError
from advisor.pilot.rundir import read_json
from advisor.schema import PilotResults, parse_results, read_results

PARAM_VALUE_MAX = 500  # MLflow's historical limit; newer servers allow 6000
ARTIFACTS = ("results.json", "predictions.jsonl", "settings.json")
_BAD_KEY_CHARS = re.compile(r"[^\w.\- /]")


def check_tracking_uri(uri: str) -> None:
    """A usable URI without an embedded password (it is saved with the run's settings)."""
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError("mlflow URI must be non-empty, e.g. file:///path/mlruns")
    if urlsplit(uri).password:
        raise ValueError(
            "mlflow URI must not carry a password (it is saved with the run); set "
            "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD in the environment instead"
        )


def _resolve_uri(uri: str) -> str:
    """Plain folder paths become file URIs; file stores get MLflow's opt-in (module doc)."""
    scheme = urlsplit(uri).scheme
    if not scheme or (len(scheme) == 1 and os.name == "nt"):  # a path (or a drive letter)
        uri = Path(uri).expanduser().resolve().as_uri()
        scheme = "file"
    if scheme == "file":
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def metric_key(*parts: str) -> str:
    """MLflow allows letters, digits, ``_ - . / space``: ``recall@5`` -> ``recall_at_5``."""
    key = ".".join(p.replace("@", "_at_") for p in parts if p)
    return _BAD_KEY_CHARS.sub("_", key)


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
        return
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    out[metric_key(prefix)] = text[:PARAM_VALUE_MAX]


def pilot_params(settings: dict[str, Any]) -> dict[str, str]:
    """Settings flattened (``lora.rank``), as strings within MLflow's value limit."""
    out: dict[str, str] = {}
    _flat("", settings, out)
    return out


def pilot_metrics(results: Mapping[str, Any] | PilotResults) -> dict[str, float]:
    """One flat name per figure: ``<arm>.<metric>.mean`` / ``.ci95_lo`` / ``.ci95_hi``...

    Read by :mod:`advisor.schema` like everywhere else: a malformed file is an AdvisorError
    naming the field, and what was not measured (null) is not logged."""
    pilot = results if isinstance(results, PilotResults) else parse_results(results)
    out: dict[str, float] = {}

    def put(value: float | None, *parts: str) -> None:
        if value is not None:
            out[metric_key(*parts)] = float(value)

    for arm in pilot.arms.values():
        if not arm.ok:
            continue
        for name, m in arm.metrics.items():
            put(m.mean, arm.name, name, "mean")
            put(m.ci95[0], arm.name, name, "ci95_lo")
            put(m.ci95[1], arm.name, name, "ci95_hi")
        for group, values in (
            ("latency_ms", arm.latency_ms),
            ("tokens", arm.tokens),
            ("usage", arm.usage),
        ):
            for stat, v in values.items():
                put(v, arm.name, group, stat)
        put(arm.peak_memory_mb, arm.name, "peak_memory_mb")
        put(arm.seconds, arm.name, "seconds")
        if (train := arm.train) is not None:
            put(train.seconds, arm.name, "train", "seconds")
            put(train.trainable_params, arm.name, "train", "trainable_params")
            put(train.final_loss, arm.name, "train", "final_loss")
            put(train.peak_memory_mb, arm.name, "train", "peak_memory_mb")
    for kind, stats in pilot.retrieval.items():
        for stat, v in stats.items():
            put(v, "retrieval", kind, stat)
    return out


def log_pilot_to_mlflow(run_dir: str | Path, uri: str, experiment: str = "advisor") -> str:
    """Log a finished pilot's folder to MLflow; returns the MLflow run id."""
    run_dir = Path(run_dir)
    if not (run_dir / "results.json").is_file():
        raise AdvisorError(
            f"no pilot results in {run_dir}: run `advisor pilot --out {run_dir}` first"
        )
    pilot = read_results(run_dir)
    results = pilot.raw
    check_tracking_uri(uri)
    try:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise AdvisorError(
            "MLflow is not installed: pip install mlflow-skinny (or mlflow), or drop --mlflow"
        ) from None
    import time

    settings = read_json(run_dir / "settings.json") or results.get("config") or {}
    client = MlflowClient(tracking_uri=_resolve_uri(uri))
    run_id = None
    try:
        found = client.get_experiment_by_name(experiment)
        exp_id = found.experiment_id if found else client.create_experiment(experiment)
        tags = {
            "advisor.model": str(pilot.model),
            "advisor.smoke": str(pilot.smoke).lower(),
            "advisor.run_dir": str(run_dir.resolve()),
        }
        for arm, block in results["arms"].items():
            tags[metric_key("advisor.arm", arm, "status")] = pilot.arms[str(arm)].status
            if block.get("model"):
                tags[metric_key("advisor.arm", arm, "model")] = str(block["model"])[
                    :PARAM_VALUE_MAX
                ]
        run = client.create_run(exp_id, run_name=run_dir.name, tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in pilot_metrics(pilot).items()]
        for arm in pilot.arms.values():
            for curve in ("train_loss", "val_loss"):
                points = getattr(arm.train, curve) if arm.train is not None else ()
                for step, point in enumerate(points):
                    key = metric_key(arm.name, "train", curve)
                    metrics.append(Metric(key, point.loss, now, step))
        params = [Param(k, v) for k, v in pilot_params(settings).items()]
        for start in range(0, max(len(metrics), len(params), 1), 100):  # MLflow batch limits
            client.log_batch(
                run_id,
                metrics=metrics[start : start + 100],
                params=params[start : start + 100],
                tags=[],
            )
        for name in ARTIFACTS:
            if (run_dir / name).exists():
                client.log_artifact(run_id, str(run_dir / name))
        client.set_terminated(run_id)
    except Exception as exc:  # MLflow raises many types (store, REST, permissions)
        if run_id is not None:
            with contextlib.suppress(Exception):  # the store is what failed
                client.set_terminated(run_id, status="FAILED")
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise AdvisorError(f"could not log the pilot to MLflow at {uri}: {reason}") from None
    return run_id
