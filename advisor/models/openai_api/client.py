"""The Generator protocol over an OpenAI-compatible ``/chat/completions`` endpoint.

Uses the ``openai`` client with its own retries off: ours are counted (usage), bounded,
cancellable when another request of the batch has failed for good, and honour Retry-After.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from advisor.errors import ModelLoadError
from advisor.models.hf import GenerationResult, ProgressFn
from advisor.models.openai_api.settings import (
    CHAT_PREFIX,
    DEFAULT_CONTEXT,
    DUMMY_KEY,
    MESSAGE_OVERHEAD_TOKENS,
    APIError,
    APISettings,
    Usage,
    _Cancelled,
    decode_chat,
    display_url,
    encode_chat,
    estimate_tokens,
)


class APIGenerator:
    """The Generator protocol over ``/chat/completions``, with bounded concurrency and retries.

    ``latency_ms`` of a result is the successful attempt's round trip (retry waits
    excluded), i.e. what one request costs a client, not a batch share as locally.
    """

    smoke = False  # a served model is never the built-in smoke model (see module doc)

    def __init__(self, settings: APISettings, client: Any = None) -> None:
        self.settings = settings
        self.base_url = display_url(settings.base_url)
        self._key = os.environ.get(settings.key_env) or DUMMY_KEY
        if client is None:
            import openai

            client = openai.OpenAI(
                base_url=settings.base_url,
                api_key=self._key,
                max_retries=0,  # retries are ours: counted, bounded, cancellable
                timeout=settings.timeout_s,
            )
        self._client = client
        self.usage = Usage()
        self._lock = threading.Lock()
        listed = self._listed_model() if settings.model is None else None
        self.name = settings.model or str(listed["id"])
        reported = _reported_context(listed or {})
        self.context_length = settings.context_length or reported or DEFAULT_CONTEXT

    # -- the Generator protocol ---------------------------------------------------------------

    def format_prompt(self, system: str, user: str) -> str:
        turns = [{"role": "system", "content": system}] if system.strip() else []
        return encode_chat([*turns, {"role": "user", "content": user}])

    def count_tokens(self, text: str) -> int:
        if not text.startswith(CHAT_PREFIX):
            return estimate_tokens(text)
        messages = decode_chat(text)
        return 2 + sum(MESSAGE_OVERHEAD_TOKENS + estimate_tokens(m["content"]) for m in messages)

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int,
        batch_size: int = 16,
        progress: ProgressFn | None = None,
    ) -> list[GenerationResult]:
        """Answers in the prompts' order. ``batch_size`` is unused: ``concurrency`` bounds.

        The first request that fails for good (retries spent, or an error retrying cannot
        fix) stops the rest, so a dead server fails an arm in seconds, not per prompt.
        """
        if max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be positive (not {max_new_tokens!r})")
        results: list[GenerationResult | None] = [None] * len(prompts)
        stop = threading.Event()
        workers = min(self.settings.concurrency, max(1, len(prompts)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="advisor-api") as pool:
            futures = {
                pool.submit(self._one, p, max_new_tokens, stop): i for i, p in enumerate(prompts)
            }
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    results[futures[future]] = future.result()
                    if progress:
                        progress(done, len(prompts))
            except BaseException:
                stop.set()
                for future in futures:
                    future.cancel()
                raise
        return [r for r in results if r is not None]

    # -- internals ----------------------------------------------------------------------------

    def _one(self, prompt: str, max_new: int, stop: threading.Event) -> GenerationResult:
        messages = decode_chat(prompt)
        response, latency_ms = self._call(messages, max_new, stop)
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise APIError(f"the API at {self.base_url} returned no answer (empty 'choices')")
        text = (choices[0].message.content or "").strip()
        usage = getattr(response, "usage", None)
        n_in = getattr(usage, "prompt_tokens", None)
        n_out = getattr(usage, "completion_tokens", None)
        estimated = n_in is None or n_out is None
        if n_in is None:
            n_in = self.count_tokens(prompt)
        if n_out is None:
            n_out = estimate_tokens(text)
        with self._lock:
            self.usage.requests += 1
            self.usage.prompt_tokens += int(n_in)
            self.usage.completion_tokens += int(n_out)
            self.usage.estimated += int(estimated)
        return GenerationResult(text, int(n_in), int(n_out), latency_ms, False)

    def _call(self, messages: list[dict[str, str]], max_new: int, stop: threading.Event):
        import openai

        attempt = 0
        while True:
            if stop.is_set():
                raise _Cancelled()
            start = time.perf_counter()
            try:
                response = self._client.chat.completions.create(
                    model=self.name,
                    messages=messages,
                    max_tokens=max_new,
                    temperature=self.settings.temperature,
                )
                return response, (time.perf_counter() - start) * 1000
            except openai.APIStatusError as exc:
                if not _retryable_status(exc.status_code):
                    raise self._error(exc, attempt + 1) from None
                failure: Exception = exc
            except openai.APIConnectionError as exc:  # includes timeouts
                failure = exc
            if attempt >= self.settings.max_retries:
                raise self._error(failure, attempt + 1) from None
            delay = self._delay(attempt, failure)
            attempt += 1
            with self._lock:
                self.usage.retries += 1
            if stop.wait(delay):
                raise _Cancelled()

    def _delay(self, attempt: int, failure: Exception) -> float:
        """Exponential backoff with jitter; a server's Retry-After wins when it says more."""
        wait = self.settings.backoff_s * (2**attempt)
        wait += random.uniform(0, 0.25 * wait)
        headers = getattr(getattr(failure, "response", None), "headers", None) or {}
        with contextlib.suppress(TypeError, ValueError):  # an HTTP date: keep our backoff
            wait = max(wait, float(headers.get("retry-after", 0) or 0))
        return min(wait, self.settings.max_backoff_s)

    def _error(self, exc: Exception, attempts: int) -> APIError:
        import openai

        where = f"the API at {self.base_url}"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(exc, openai.APITimeoutError):
            return APIError(
                f"{where} timed out (no answer within {self.settings.timeout_s:g} s){tries}; "
                "raise --api-timeout, lower --api-concurrency, or check the server's load"
            )
        if isinstance(exc, openai.APIConnectionError):
            return APIError(
                f"could not connect to {where}{tries}; check --api-base and that the server runs"
            )
        status = getattr(exc, "status_code", None)
        detail = self._scrub(_body_text(exc))
        if status in (401, 403):
            hint = (
                f"set the environment variable {self.settings.key_env} to a valid key "
                "(or name another variable with --api-key-env)"
            )
        elif status == 404:
            hint = f"check --api-base (it usually ends in /v1) and --api-model ({self.name!r})"
        elif status == 429:
            hint = "rate limited: lower --api-concurrency or raise your quota"
        elif status is not None and status >= 500:
            hint = "the server failed; see its log"
        else:
            hint = "the request was refused; see the server's message"
        return APIError(f"{where} answered HTTP {status}{tries}: {detail}; {hint}")

    def _scrub(self, text: str) -> str:
        if self._key != DUMMY_KEY and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text

    def _listed_model(self) -> dict[str, Any]:
        """The first model the server lists: vLLM and llama.cpp serve one, named oddly."""
        try:
            page = self._client.models.list()
            models = [m.model_dump() if hasattr(m, "model_dump") else dict(m) for m in page.data]
        except Exception as exc:  # connection, HTTP and parsing errors alike
            reason = self._scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise ModelLoadError(
                f"could not list the models at {self.base_url} ({reason[:200]}); check "
                "--api-base, or name the model with --api-model"
            ) from None
        if not models:
            raise ModelLoadError(
                f"the API at {self.base_url} lists no models; name one with --api-model"
            )
        return models[0]


def _retryable_status(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def _body_text(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        body = body.get("message") or body.get("error") or body
        if isinstance(body, dict):
            body = body.get("message") or json.dumps(body)
    text = str(body if body is not None else exc)
    return " ".join(text.split())[:300]


def _reported_context(model: dict[str, Any]) -> int | None:
    """vLLM says ``max_model_len``; others use ``context_length`` / ``context_window``."""
    meta = model.get("meta") if isinstance(model.get("meta"), dict) else {}
    for key in ("max_model_len", "context_length", "context_window", "n_ctx_train"):
        value = model.get(key, meta.get(key))
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
