"""The pilot: the arms head to head on the user's data, written into a run folder.

Private modules behind this face: ``context`` (``PilotSettings`` and the parts the arms
share), ``arms`` (the arm registry and the arms), ``prompts`` (prompt building within a
token budget), ``runner`` (``run_pilot``: resume, progress, the run folder), ``results``
(scoring an arm, assembling results.json), ``estimate`` (time and memory before a run),
``rundir`` (crash-safe run-folder I/O), ``jobs`` and ``worker`` (pilots as background
processes for the app) and ``tracking`` (optional MLflow logging).
"""

from __future__ import annotations

from advisor.pilot.arms import ARMS, ArmSpec, register_arm
from advisor.pilot.context import PilotContext, PilotSettings, Prediction
from advisor.pilot.estimate import PilotEstimate, describe_estimate, estimate_pilot
from advisor.pilot.runner import choose_arms, run_pilot, save_answers

__all__ = [
    "ARMS",
    "ArmSpec",
    "PilotContext",
    "PilotEstimate",
    "PilotSettings",
    "Prediction",
    "choose_arms",
    "describe_estimate",
    "estimate_pilot",
    "register_arm",
    "run_pilot",
    "save_answers",
]
