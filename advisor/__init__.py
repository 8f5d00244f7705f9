"""advisor: prompting, RAG or finetuning? Decide with numbers from your own data."""

import os as _os

__version__ = "0.1.0"

# OpenMP threads that spin-wait at every barrier collapse when another process holds a
# core: a LoRA step of the default model took 21 s instead of 2.5 s on a busy 2-core
# machine (experiments/README.md, "A LoRA step on a shared machine"). Passive threads
# sleep instead. It must be set before torch (and its OpenMP runtime) loads, which is why
# it is here and not in advisor.runtime.configure_threads; a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
