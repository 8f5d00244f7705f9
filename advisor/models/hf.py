"""Text generators behind one small protocol, with a Hugging Face backend.

Why a protocol: every prompting arm, the RAG arms and the finetuned arms ask the same
question (prompts in, texts out, with token counts and latency), and tests must be able to
run it on a model built in a second. ``HFGenerator`` wraps any Hugging Face causal LM
loaded by hub id or local folder; ``load_generator`` is what the pilot calls, and maps
``builtin:tiny`` to the offline model of :mod:`advisor.models.tiny`.

Generation is greedy so a pilot is reproducible, batched with LEFT padding and attention
masks (a decoder-only model continues from the last position, so padding must come first),
and sorted by prompt length so a batch wastes little compute on padding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from advisor.errors import AdvisorError, ModelLoadError
from advisor.models.loading import (
    BUILTIN_MODEL,
    dtype_kwarg,
    hub_offline,
    hub_unreachable,
    load_error,
    looks_like_path,
)

DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # small enough for a CPU pilot

# (prompts done, prompts total); ``done`` may be fractional while a batch is generating
ProgressFn = Callable[[float, int], None]

_DTYPES = ("float32", "bfloat16", "float16", "auto")
_FALLBACK_CONTEXT = 2048  # when neither config nor tokenizer states a usable length


@dataclass(frozen=True)
class GenerationResult:
    """One prompt's answer and what it cost.

    ``latency_ms`` is the batch's wall time divided by the batch size: batching is how the
    pilot runs, so this is the per-item cost a batched deployment would see, not the
    latency of a lone request.
    """

    text: str  # new tokens only, special tokens removed, stripped
    prompt_tokens: int  # tokens actually fed to the model (after truncation)
    output_tokens: int  # generated tokens, counting the end-of-sequence token if reached
    latency_ms: float
    truncated: bool = False  # the prompt's start was cut to fit the context window


@runtime_checkable
class Generator(Protocol):
    """What the pilot needs from a language model."""

    name: str
    smoke: bool  # True for the built-in model: outputs test the pipeline, not the decision
    context_length: int

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int,
        batch_size: int = 16,
        progress: ProgressFn | None = None,
    ) -> list[GenerationResult]: ...

    def count_tokens(self, text: str) -> int: ...

    def format_prompt(self, system: str, user: str) -> str: ...


def plain_prompt(system: str, user: str) -> str:
    """Alpaca-style template for tokenizers without a chat template (base models)."""
    if system.strip():
        return f"### Instruction:\n{system}\n\n### Input:\n{user}\n\n### Response:\n"
    return f"### Instruction:\n{user}\n\n### Response:\n"


def max_new_tokens_for(
    references: list[str],
    count_tokens: Callable[[str], int],
    factor: float = 1.25,
    extra: int = 8,
    cap: int = 512,
    default: int = 64,
    floor: int = 32,
) -> int:
    """Generation budget from the reference outputs' lengths.

    Why: an unbounded budget lets a rambling model spend most of the pilot's time on tokens
    no metric rewards; the longest reference plus a margin leaves room for every good answer.
    ``floor``: a real small model answers a one-word question in a sentence ("The firm that
    makes it is Saltbright Glassworks."); cut at 12 tokens, the answer it holds is lost
    (on the facts sample, RAG answer containment 0.30 at 12 tokens, 0.65 at 32).
    """
    if cap <= 0:
        raise ValueError(f"cap must be positive (not {cap!r})")
    if not references:
        return min(default, cap)
    longest = max(count_tokens(r) for r in references)
    return max(1, min(cap, max(floor, int(longest * factor) + extra)))


class HFGenerator:
    """A Hugging Face causal LM on the CPU, greedy and batched.

    Build it with :meth:`from_pretrained` (hub id or folder) or directly from a loaded
    ``(model, tokenizer)`` pair, which is how the finetuned arms wrap a model carrying a
    LoRA adapter. ``model`` and ``tokenizer`` stay public for that reason.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        name: str,
        smoke: bool = False,
        context_length: int | None = None,
        max_batch_tokens: int = 16384,
    ) -> None:
        if max_batch_tokens <= 0:
            raise ValueError(f"max_batch_tokens must be positive (not {max_batch_tokens!r})")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.smoke = smoke
        self.source = ""  # where the weights came from (advisor.models.sources), for reports
        self.max_batch_tokens = max_batch_tokens  # caps padded batch size x length (memory)
        if tokenizer.pad_token is None:  # many causal LMs ship without one
            tokenizer.pad_token = tokenizer.eos_token
        self.context_length = context_length or self._context_length()
        self._adds_bos = self._tokenizer_adds_bos()

    @classmethod
    def from_pretrained(
        cls,
        ref: str,
        *,
        name: str | None = None,
        smoke: bool = False,
        trust_remote_code: bool = False,
        dtype: str | None = None,
        context_length: int | None = None,
    ) -> HFGenerator:
        """Load by hub id (from the local cache when offline) or by folder, on the CPU.

        Weights load only from safetensors and remote code stays off unless the caller
        opts in: a model repository must not be able to run code on the user's machine.
        ``dtype=None`` keeps a bf16 checkpoint in bf16 on CPUs that multiply bf16 natively
        (SmolLM2 and Qwen2.5 are published in bf16; there it generates ~3x faster than
        upcast to fp32, experiments/README.md) and loads fp32 otherwise: never below the
        published precision, never a dtype the CPU would emulate.
        """
        native_bf16 = False
        if dtype is None:
            from advisor.runtime import cpu_has_native_bf16

            native_bf16 = cpu_has_native_bf16()
            dtype = "auto" if native_bf16 else "float32"
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)} (not {dtype!r})")
        path = Path(ref).expanduser()
        if looks_like_path(ref) and not path.exists():
            raise ModelLoadError(
                f"model folder {ref!r} does not exist; give a folder holding config.json, "
                "tokenizer files and .safetensors weights, a Hugging Face model id, or "
                f"{BUILTIN_MODEL} for a smoke run"
            )
        if path.is_dir() and not (path / "config.json").exists():
            raise ModelLoadError(
                f"model folder {ref!r} has no config.json; give the folder a Hugging Face "
                "model was saved to (save_pretrained), or a model id"
            )
        from advisor.runtime import configure_threads

        configure_threads()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = str(path) if path.exists() else ref
        torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
        # a hub id on an offline machine: read the local cache only, without the retries
        local_only = not path.exists() and (hub_offline() or hub_unreachable())
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                source, trust_remote_code=trust_remote_code, local_files_only=local_only
            )
            model = AutoModelForCausalLM.from_pretrained(
                source,
                trust_remote_code=trust_remote_code,
                local_files_only=local_only,
                use_safetensors=True,
                **{dtype_kwarg(): torch_dtype},
            )
        except Exception as exc:  # hub, config and weight loaders raise many unrelated types
            raise load_error(ref, exc) from exc
        model.to("cpu")
        if native_bf16 and model.dtype not in (torch.float32, torch.bfloat16):
            model.float()  # an fp16 checkpoint: CPUs emulate fp16 matmuls
        return cls(model, tokenizer, name or ref, smoke=smoke, context_length=context_length)

    # -- the Generator protocol -------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def format_prompt(self, system: str, user: str) -> str:
        """The tokenizer's chat template when it has one (instruct models expect it)."""
        if not getattr(self.tokenizer, "chat_template", None):
            return plain_prompt(system, user)
        with_system = [{"role": "system", "content": system}] if system.strip() else []
        user_turn = [{"role": "user", "content": user}]
        from jinja2 import TemplateError

        try:
            return self._chat(with_system + user_turn)
        except (TemplateError, ValueError):  # some templates (e.g. Gemma's) reject a system turn
            merged = f"{system}\n\n{user}" if system.strip() else user
            return self._chat([{"role": "user", "content": merged}])

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int,
        batch_size: int = 16,
        progress: ProgressFn | None = None,
    ) -> list[GenerationResult]:
        """Greedy answers in the prompts' order; see :class:`GenerationResult` for latency."""
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive (not {batch_size!r})")
        if max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be positive (not {max_new_tokens!r})")
        budget = self.context_length - max_new_tokens
        if budget < 1:
            raise AdvisorError(
                f"max_new_tokens ({max_new_tokens}) leaves no room for the prompt in "
                f"{self.name}'s context of {self.context_length} tokens; lower it"
            )
        from advisor.runtime import configure_threads

        configure_threads()
        encoded = [self._encode(p) for p in prompts]
        truncated = [len(ids) > budget for ids in encoded]
        encoded = [self._truncate(ids, budget) for ids in encoded]
        results: list[GenerationResult | None] = [None] * len(prompts)
        done = 0
        for batch in self._batches(encoded, batch_size, max_new_tokens):
            start = time.perf_counter()

            def on_step(step: int, before: int = done, size: int = len(batch)) -> None:
                # a batch answers all its prompts at once: count its token steps instead
                if progress:
                    progress(before + size * min(1.0, step / max_new_tokens), len(prompts))

            outputs = self._generate_batch([encoded[i] for i in batch], max_new_tokens, on_step)
            per_item_ms = (time.perf_counter() - start) * 1000 / len(batch)
            for i, (text, n_out) in zip(batch, outputs, strict=True):
                results[i] = GenerationResult(
                    text, len(encoded[i]), n_out, per_item_ms, truncated[i]
                )
            done += len(batch)
            if progress:
                progress(done, len(prompts))
        return [r for r in results if r is not None]

    # -- internals ----------------------------------------------------------------------------

    def _chat(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def _context_length(self) -> int:
        config = getattr(self.model, "config", None)
        lengths = [getattr(config, "max_position_embeddings", None)]
        lengths.append(getattr(self.tokenizer, "model_max_length", None))
        usable = [n for n in lengths if isinstance(n, int) and 0 < n < 1_000_000]
        return min(usable) if usable else _FALLBACK_CONTEXT

    def _tokenizer_adds_bos(self) -> bool:
        """Whether this tokenizer prepends BOS on its own (Llama 2 does, SmolLM2 does not)."""
        bos = self.tokenizer.bos_token_id
        if bos is None:
            return False
        ids = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        return bool(ids) and ids[0] == bos

    def _encode(self, prompt: str) -> list[int]:
        """Token ids as the model was trained to see them, with exactly one BOS if it uses one.

        Chat templates often write the BOS text themselves, so adding special tokens blindly
        would double it.
        """
        ids = list(self.tokenizer.encode(prompt, add_special_tokens=False))
        bos = self.tokenizer.bos_token_id
        if self._adds_bos and (not ids or ids[0] != bos):
            ids.insert(0, bos)
        if not ids:  # an empty prompt still needs one position to continue from
            ids = [bos if bos is not None else self.tokenizer.eos_token_id]
        return ids

    def _truncate(self, ids: list[int], budget: int) -> list[int]:
        """Keep the end of a long prompt (the question and answer cue come last), and BOS."""
        if len(ids) <= budget:
            return ids
        bos = self.tokenizer.bos_token_id
        if self._adds_bos and ids[0] == bos and budget > 1:
            return [bos, *ids[len(ids) - budget + 1 :]]
        return ids[len(ids) - budget :]

    def _batches(self, encoded: list[list[int]], batch_size: int, max_new: int) -> list[list[int]]:
        """Indices grouped by length, longest first, under the batch-size and token caps.

        Longest first so a memory problem shows in the first batch, not after an hour.
        """
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        batches: list[list[int]] = []
        for i in order:
            current = batches[-1] if batches else None
            if current:
                width = len(encoded[current[0]]) + max_new  # the first is the longest
                if (
                    len(current) < batch_size
                    and width * (len(current) + 1) <= self.max_batch_tokens
                ):
                    current.append(i)
                    continue
            batches.append([i])
        return batches

    def _stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        config_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(config_eos if isinstance(config_eos, list) else [config_eos])
        return sorted(i for i in ids if i is not None)

    def _generate_batch(
        self,
        batch: list[list[int]],
        max_new: int,
        on_step: Callable[[int], None] | None = None,
    ) -> list[tuple[str, int]]:
        import torch
        from transformers import GenerationConfig

        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):  # left padding: real tokens end at the last column
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            mask[row, width - len(ids) :] = 1
        stops = self._stop_ids()
        config = GenerationConfig(
            max_new_tokens=max_new,
            do_sample=False,
            num_beams=1,
            eos_token_id=stops,
            pad_token_id=pad,
        )
        self.model.eval()  # a finetune may have left it in training mode
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                generation_config=config,
                streamer=_StepCounter(on_step) if on_step else None,
            )
        results = []
        for row in out[:, width:].tolist():
            end = next((k for k, t in enumerate(row) if t in stops), None)
            kept = row if end is None else row[:end]
            n_out = len(row) if end is None else end + 1
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            results.append((text.strip(), n_out))
        return results


class _StepCounter:
    """A ``generate`` streamer that only counts decoding steps (transformers' BaseStreamer
    protocol: ``put`` once with the prompt, then once per new token; ``end`` at the end)."""

    def __init__(self, on_step: Callable[[int], None]) -> None:
        self.on_step = on_step
        self.calls = 0

    def put(self, value: Any) -> None:
        self.calls += 1
        if self.calls > 1:  # the first call carries the prompt, not a new token
            self.on_step(self.calls - 1)

    def end(self) -> None:
        pass
