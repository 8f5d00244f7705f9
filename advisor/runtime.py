"""Process-wide runtime settings that must be made once, before heavy libraries spin up.

Why: on a 2-core laptop torch, faiss, tokenizers and BLAS each start their own thread pool
by default and oversubscribe the cores; one call here keeps them to the machine's size.
"""

from __future__ import annotations

import contextlib
import os

_configured = False


def cpu_count() -> int:
    """Cores this process may use (affinity-aware, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX).

    Why it matters: there, oneDNN runs bf16 matmuls several times faster than MKL runs fp32
    ones (measured 819 vs 189 GFLOP/s on a 2-core AMD EPYC, experiments/README.md); without
    those instructions bf16 is emulated and slower than fp32, so the answer must be exact.
    """
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:  # pragma: no cover - non-Linux: stay with fp32
        return False
    return any(f" {flag}" in flags for flag in ("avx512_bf16", "amx_bf16"))


def configure_threads(threads: int | None = None) -> int:
    """Set thread counts for torch/BLAS/tokenizers once; later calls are no-ops.

    The threads also wait passively (``OMP_WAIT_POLICY=PASSIVE``, set when ``advisor`` is
    imported, before torch loads): spinning threads collapse on a shared machine.
    """
    global _configured
    n = threads or cpu_count()
    if _configured:
        return n
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # library progress bars ("Loading weights", "Writing model shards") would interleave
    # with the pilot's own per-arm bars; the pilot reports progress itself
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    try:
        import torch

        torch.set_num_threads(n)
        if torch.get_num_interop_threads() != 1:
            with contextlib.suppress(RuntimeError):  # already started; harmless
                torch.set_num_interop_threads(1)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    _configured = True
    return n


def describe_threads() -> dict[str, object]:
    """The thread settings in force, as a pilot records them in results.json ``runtime``."""
    info: dict[str, object] = {
        var.lower(): os.environ.get(var)
        for var in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["torch_interop_threads"] = torch.get_num_interop_threads()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return info
