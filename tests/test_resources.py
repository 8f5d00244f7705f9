"""The per-arm memory figures and the memory handed back between arms."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux RSS")
def test_release_memory_hands_freed_heap_back_to_the_os():
    """A fragmented heap (big blocks freed between small live ones) stays resident until
    released: what a finished LoRA loop leaves under the next arm."""
    import numpy as np

    from advisor.resources import current_rss_mb, release_memory

    np.ones(2_000_000)  # a freed 16 MB array raises glibc's mmap threshold: 1 MB goes to heap
    blocks, pins = [], []
    for _ in range(200):
        blocks.append(np.ones(125_000))
        pins.append(np.ones(20_000))  # small live blocks keep the freed ones from the top
    del blocks
    held = current_rss_mb()
    release_memory()
    assert current_rss_mb() < held - 100, "the freed 200 MB stayed resident"
    del pins
