"""Shared fixtures: tiny, deterministic, offline. Nothing here downloads."""

from __future__ import annotations

import os

import pytest

# Tests never reach a model hub; fail fast instead of hanging on a network call.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The real default model, if this machine has pulled it (`advisor models pull`; .ci/run
# does). Read before any test isolates the cache; tests never download it themselves.
REAL_MODEL_CACHE = os.environ.get("ADVISOR_MODEL_CACHE") or os.path.join(
    os.environ.get("ADVISOR_CACHE")
    or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "advisor"),
    "models",
)


@pytest.fixture
def fake_embedder():
    from advisor.retrieval.embeddings import HashingEmbedder

    return HashingEmbedder(dim=256)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own cache so runs cannot leak into each other."""
    cache = tmp_path_factory.mktemp("advisor-cache")
    monkeypatch.setenv("ADVISOR_CACHE", str(cache))
    monkeypatch.setenv("ADVISOR_MODEL_CACHE", str(cache / "models"))
    monkeypatch.setenv("ADVISOR_OFFLINE", "1")  # no test fetches a model from PyPI


@pytest.fixture(scope="session")
def _real_model_entry():
    from advisor.models.cache import find_cached
    from advisor.models.hf import DEFAULT_MODEL

    return find_cached(DEFAULT_MODEL, REAL_MODEL_CACHE)


@pytest.fixture
def real_model(_real_model_entry, monkeypatch):
    """The real default model's id, with the cache that holds it; CI must have it.

    Skips (saying how to get the model) on a machine that has not pulled it; under CI it
    fails instead, because these are the tests that show the pilot measures evidence.
    """
    from advisor.models.hf import DEFAULT_MODEL

    if _real_model_entry is None:
        why = (
            f"the real default model is not in {REAL_MODEL_CACHE}: run `advisor models pull` "
            "(about 100 MB from PyPI) to run the real-model tests"
        )
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(why)
        pytest.skip(why)
    monkeypatch.setenv("ADVISOR_MODEL_CACHE", REAL_MODEL_CACHE)
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def make_samples():
    """The sample generator script, loaded once for every sample test."""
    from sample_helpers import load_make_samples

    return load_make_samples()


@pytest.fixture(scope="session")
def generated(make_samples, tmp_path_factory):
    """The bundled samples freshly generated with seed 0 (tests compare them, never edit)."""
    out = tmp_path_factory.mktemp("samples")
    make_samples.generate(out, seed=0)
    return out
