"""Shared fixtures: tiny, deterministic, offline. Nothing here downloads."""

from __future__ import annotations

import os

import pytest

# Tests never reach a model hub; fail fast instead of hanging on a network call.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def fake_embedder():
    from advisor.embeddings import HashingEmbedder

    return HashingEmbedder(dim=256)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own cache so runs cannot leak into each other."""
    monkeypatch.setenv("ADVISOR_CACHE", str(tmp_path_factory.mktemp("advisor-cache")))


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
