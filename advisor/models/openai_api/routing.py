"""Routing the pilot's arms between the endpoint and the local model.

See the package docstring (:mod:`advisor.models.openai_api`) for the smoke rule this keeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from advisor.models.hf import GenerationResult, ProgressFn
from advisor.models.openai_api.client import APIGenerator
from advisor.models.openai_api.settings import APISettings, Usage


def api_settings_from(pilot_settings: Any) -> APISettings:
    """The endpoint part of :class:`advisor.pilot.context.PilotSettings`."""
    return APISettings(
        base_url=pilot_settings.api_base,
        model=pilot_settings.api_model,
        key_env=pilot_settings.api_key_env,
        concurrency=pilot_settings.api_concurrency,
        timeout_s=float(pilot_settings.api_timeout_s),
    )


# -- routing arms between the endpoint and the local model -----------------------------------


class RoutedGenerator:
    """What ``PilotContext.generator()`` returns when the pilot has an endpoint.

    The pilot calls :meth:`use` before each arm: arms that train (``ArmSpec.trains``) go to
    the local model, every other LLM arm to the endpoint. Each attribute of the Generator
    protocol is the current target's, so prompt formatting, token budgets and generation
    all follow the arm. The local model loads only when a training arm first needs it.
    ``state`` is the pilot's model state: ``state["ref"]`` names the model in
    ``results.json`` (the local one as soon as a training arm is part of the run, which
    keeps the smoke rule above), ``state["local"]`` the local model to load.
    """

    def __init__(
        self, api: APIGenerator, local_loader: Callable[[], Any], state: dict[str, Any]
    ) -> None:
        self.api = api
        self._local_loader = local_loader
        self._local: Any = None
        self._state = state
        self._target: Any = api
        self._arm_start: dict[str, Usage] = {}
        state["ref"] = api.name

    def use(self, arm: str) -> None:
        from advisor.pilot.arms import ARMS

        spec = ARMS[arm]
        self._arm_start[arm] = Usage(**self.api.usage.to_dict())
        if not spec.needs_llm:
            return
        if spec.trains:
            self._state["ref"] = self._state["local"]
            self._target = None  # resolved (and loaded) on first use
        else:
            self._target = self.api

    def describe(self, arm: str) -> dict[str, Any]:
        """``model``, ``backend`` and, for endpoint arms, ``usage`` of this arm's block."""
        from advisor.pilot.arms import ARMS

        spec = ARMS[arm]
        if not spec.needs_llm:
            return {"model": None, "backend": None}
        if spec.trains:
            return {"model": self._state["local"], "backend": "local"}
        start = self._arm_start.get(arm, Usage())
        return {
            "model": self.api.name,
            "backend": "api",
            "api_base": self.api.base_url,
            "usage": self.api.usage.minus(start).to_dict(),
        }

    def _current(self) -> Any:
        if self._target is None:
            if self._local is None:
                self._local = self._local_loader()
            self._target = self._local
        return self._target

    @property
    def name(self) -> str:
        return self._current().name

    @property
    def smoke(self) -> bool:
        return bool(self._current().smoke)

    @property
    def context_length(self) -> int:
        return self._current().context_length

    def format_prompt(self, system: str, user: str) -> str:
        return self._current().format_prompt(system, user)

    def count_tokens(self, text: str) -> int:
        return self._current().count_tokens(text)

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int,
        batch_size: int = 16,
        progress: ProgressFn | None = None,
    ) -> list[GenerationResult]:
        return self._current().generate(prompts, max_new_tokens, batch_size, progress)


def routed_loader(
    settings: Any, load_local: Callable[[], Any], state: dict[str, Any]
) -> Callable[[], Any]:
    """The pilot's generator loader with an endpoint.

    ``PilotContext`` asks its loader once for the shared generator (and caches it), then
    again for every fresh base model a training arm wraps with peft. So the first call
    returns the :class:`RoutedGenerator` and every later call a new local model.
    """
    router = RoutedGenerator(APIGenerator(api_settings_from(settings)), load_local, state)
    state["router"] = router
    handed_out = threading.Event()

    def load() -> Any:
        if not handed_out.is_set():
            handed_out.set()
            return router
        return load_local()

    return load
