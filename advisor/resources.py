"""Peak memory and wall time of a block of work, as the pilot reports them per arm.

Why sample RSS in a thread: ``ru_maxrss`` is the peak of the whole process since it started,
so every arm after the largest one would report the same number. Sampling the resident set
while the block runs gives each arm its own peak (to within the sampling interval).
"""

from __future__ import annotations

import resource
import threading
import time
from types import TracebackType


def current_rss_mb() -> float:
    """Resident set size of this process now, in MB (1e6 bytes)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def release_memory() -> None:
    """Collect garbage and hand the freed heap back to the OS.

    Why: glibc keeps memory a process freed (a finished LoRA loop's activations, the
    estimate's training probe) for reuse, so the resident set stays at its high-water mark
    and the next arm's peak lands on top of it. ``malloc_trim`` returns it; where it does
    not exist (not glibc) this only collects.
    """
    import contextlib
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: collecting is all
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakMemory:
    """Context manager: ``with PeakMemory() as pm: ...; pm.peak_mb, pm.seconds``."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.start_mb = 0.0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_mb = max(self.peak_mb, current_rss_mb())

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = current_rss_mb()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_mb = max(self.peak_mb, current_rss_mb())
        self.seconds = time.perf_counter() - self._t0
