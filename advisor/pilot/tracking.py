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
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from advisor.errors import AdvisorError
from advisor.pilot.rundir import read_json

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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def pilot_metrics(results: dict[str, Any]) -> dict[str, float]:
    """One flat name per figure: ``<arm>.<metric>.mean`` / ``.ci95_lo`` / ``.ci95_hi``..."""
    out: dict[str, float] = {}

    def put(value: Any, *parts: str) -> None:
        if (v := _number(value)) is not None:
            out[metric_key(*parts)] = v

    for arm, block in (results.get("arms") or {}).items():
        if not isinstance(block, dict) or block.get("status") != "ok":
            continue
        for name, m in (block.get("metrics") or {}).items():
            if isinstance(m, dict):
                put(m.get("mean"), arm, name, "mean")
                ci = m.get("ci95") or [None, None]
                put(ci[0], arm, name, "ci95_lo")
                put(ci[1], arm, name, "ci95_hi")
        for stat, v in (block.get("latency_ms") or {}).items():
            put(v, arm, "latency_ms", stat)
        for stat, v in (block.get("tokens") or {}).items():
            put(v, arm, "tokens", stat)
        for stat, v in (block.get("usage") or {}).items():
            put(v, arm, "usage", stat)
        put(block.get("peak_memory_mb"), arm, "peak_memory_mb")
        put(block.get("seconds"), arm, "seconds")
        train = block.get("train") or {}
        for stat in ("seconds", "trainable_params", "final_loss", "peak_memory_mb"):
            put(train.get(stat), arm, "train", stat)
    for kind, r in (results.get("retrieval") or {}).items():
        for stat, v in (r or {}).items():
            put(v, "retrieval", kind, stat)
    return out


def log_pilot_to_mlflow(run_dir: str | Path, uri: str, experiment: str = "advisor") -> str:
    """Log a finished pilot's folder to MLflow; returns the MLflow run id."""
    run_dir = Path(run_dir)
    results = read_json(run_dir / "results.json")
    if not isinstance(results, dict):
        raise AdvisorError(
            f"no pilot results in {run_dir}: run `advisor pilot --out {run_dir}` first"
        )
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
            "advisor.model": str(results.get("model")),
            "advisor.smoke": str(bool(results.get("smoke"))).lower(),
            "advisor.run_dir": str(run_dir.resolve()),
        }
        for arm, block in (results.get("arms") or {}).items():
            tags[metric_key("advisor.arm", arm, "status")] = str(block.get("status"))
            if block.get("model"):
                tags[metric_key("advisor.arm", arm, "model")] = str(block["model"])[
                    :PARAM_VALUE_MAX
                ]
        run = client.create_run(exp_id, run_name=run_dir.name, tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in pilot_metrics(results).items()]
        for arm, block in (results.get("arms") or {}).items():
            for curve in ("train_loss", "val_loss"):
                values = ((block or {}).get("train") or {}).get(curve) or []
                for step, v in enumerate(values):
                    if (x := _number(v)) is not None:
                        metrics.append(Metric(metric_key(arm, "train", curve), x, now, step))
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
