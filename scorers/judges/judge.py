"""``LLMJudge``: a scorer that asks an OpenAI-compatible chat model to grade an output."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorers import _tracing
from scorers._http import EndpointConfig, OpenAICompatClient, ProviderError, client_for
from scorers.base import Score, Scorer, ScorerError
from scorers.judges.cache import JudgeCache, cache_key, open_cache
from scorers.judges.parsing import JudgeReplyError, parse_reply
from scorers.judges.templates import Template


class JudgeConfigError(ScorerError):
    """No judge endpoint or model is configured."""


log = logging.getLogger("spyglass.scorers")
_CACHE_WARNED: list[bool] = []

# Endpoints that rejected response_format: later calls there go without it.
_NO_JSON_MODE: set[str] = set()
_NO_JSON_MODE_LOCK = threading.Lock()
_CHAT = "chat/completions"


def _content(response: Mapping[str, Any]) -> str | None:
    try:
        return response["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None


class LLMJudge(Scorer):
    """Grades fields with a chat model per a :class:`Template`; see ``llm_judge.*`` factories.

    Endpoint settings come from the arguments, else ``SPYGLASS_JUDGE_BASE_URL``,
    ``SPYGLASS_JUDGE_API_KEY`` and ``SPYGLASS_JUDGE_MODEL``, read at the first call.
    """

    cheap = False
    is_async = True

    def __init__(
        self,
        template: Template,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = 512,
        json_mode: bool = True,
        cache: bool | str | Path = True,
        max_concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        reparse_attempts: int = 1,
        threshold: float | None = None,
        name: str | None = None,
        column_map: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name=name or template.name, column_map=column_map, threshold=threshold)
        self.template = template
        self.required = template.required  # type: ignore[misc]
        self.optional = template.optional  # type: ignore[misc]
        self._base_url, self._api_key, self._model = base_url, api_key, model
        self.temperature, self.max_tokens, self.json_mode = temperature, max_tokens, json_mode
        self._cache_setting = cache
        self.max_concurrency, self.timeout_s = max_concurrency, timeout_s
        self.max_retries, self.backoff_s = max_retries, backoff_s
        self.reparse_attempts = max(0, reparse_attempts)
        self._llm_sync: Any = None
        self._llm_async: Any = None

    # -- configuration --------------------------------------------------------------------

    def _factory_call(self) -> str:
        """How this judge is made, for an example in a message: the built-in factory when
        there is one (``llm_judge.toxicity(...)``), else the rubric constructor."""
        import scorers.judges as judges  # the package imports this module: late import

        example = "base_url='http://localhost:8000/v1', model='...'"
        name = self.template.name
        if name in getattr(judges, "BUILTIN", {}) and callable(getattr(judges, name, None)):
            return f"llm_judge.{name}({example})"
        return f"llm_judge.rubric('<criteria>', name={name!r}, {example})"

    def endpoint(self) -> tuple[OpenAICompatClient, str]:
        """The client and model to use, from arguments or the environment."""
        base_url = self._base_url or os.environ.get("SPYGLASS_JUDGE_BASE_URL")
        model = self._model or os.environ.get("SPYGLASS_JUDGE_MODEL")
        api_key = self._api_key or os.environ.get("SPYGLASS_JUDGE_API_KEY")
        missing = [n for n, v in (("SPYGLASS_JUDGE_BASE_URL", base_url), ("SPYGLASS_JUDGE_MODEL", model)) if not v]
        if missing:
            raise JudgeConfigError(
                f"judge {self.name!r}: no judge endpoint configured; pass base_url= and model= "
                f"(e.g. {self._factory_call()}) or set {' and '.join(missing)}"
            )
        config = EndpointConfig(
            base_url=str(base_url), api_key=api_key, timeout_s=self.timeout_s,
            max_retries=self.max_retries, backoff_s=self.backoff_s,
            max_concurrency=self.max_concurrency,
        )
        return client_for(config), str(model)

    def cache(self) -> JudgeCache | None:
        """The reply cache in use (None when disabled)."""
        if self._cache_setting is False:
            return None
        if self._cache_setting is not True:
            return open_cache(self._cache_setting)  # an explicit path must work
        try:
            return open_cache(None)
        except ScorerError as exc:
            # The default location being unwritable (a read-only home) must not stop judging.
            if not _CACHE_WARNED:
                _CACHE_WARNED.append(True)
                log.warning("judges: reply cache disabled: %s (set SPYGLASS_JUDGE_CACHE)", exc)
            return None

    # -- request building -----------------------------------------------------------------

    def _payload(self, messages: list[dict[str, str]], model: str, base_url: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": model, "messages": messages, "temperature": self.temperature}
        if self.max_tokens:
            payload["max_tokens"] = self.max_tokens
        if self.json_mode and base_url not in _NO_JSON_MODE:
            payload["response_format"] = {"type": "json_object"}
        return payload

    @staticmethod
    def _json_mode_rejected(exc: ProviderError) -> bool:
        return exc.status in (400, 422) and "response_format" in str(exc)

    def _key(self, model: str, fields: Mapping[str, Any]) -> str:
        return cache_key(template=self.template.name, prompt=self.template.fingerprint(), model=model,
                         temperature=self.temperature, inputs=dict(fields))

    def _json_mode_fallback(self, payload: dict[str, Any], exc: ProviderError,
                            base_url: str) -> dict[str, Any] | None:
        """The payload to send again when the endpoint rejected ``response_format`` (the
        endpoint is remembered, so later calls leave it out), else None."""
        if "response_format" not in payload or not self._json_mode_rejected(exc):
            return None
        with _NO_JSON_MODE_LOCK:
            _NO_JSON_MODE.add(base_url)
        payload.pop("response_format")
        return payload

    def _llm(self, is_async: bool, client: OpenAICompatClient) -> Any:
        """The chat call as an ``llm`` op; the tracer reads model and usage from its return."""
        cached = self._llm_async if is_async else self._llm_sync
        if cached is not None and cached[0] is client:
            return cached[1]
        base_url = client.config.base_url
        judge = self

        if is_async:
            async def chat_completion(messages: list[dict[str, str]], model: str, **params: Any) -> dict:
                payload = judge._payload(messages, model, base_url) | params
                try:
                    return await client.apost(_CHAT, payload)
                except ProviderError as exc:
                    retry = judge._json_mode_fallback(payload, exc, base_url)
                    if retry is None:
                        raise
                    return await client.apost(_CHAT, retry)

            fn: Any = _tracing.traced_function(chat_completion, name=f"{self.name}.llm", kind="llm")
            self._llm_async = (client, fn)
        else:
            def chat_completion(messages: list[dict[str, str]], model: str, **params: Any) -> dict:  # type: ignore[misc]
                payload = judge._payload(messages, model, base_url) | params
                try:
                    return client.post(_CHAT, payload)
                except ProviderError as exc:
                    retry = judge._json_mode_fallback(payload, exc, base_url)
                    if retry is None:
                        raise
                    return client.post(_CHAT, retry)

            fn = _tracing.traced_function(chat_completion, name=f"{self.name}.llm", kind="llm")
            self._llm_sync = (client, fn)
        return fn

    # -- scoring --------------------------------------------------------------------------

    def _finish(self, value: bool | float, reasoning: str | None, meta: dict[str, Any]) -> Score:
        if self.template.kind == "binary":
            return self.make_score(value, reasoning, meta, passed=(value == self.template.pass_when))
        return self.make_score(float(value), reasoning, meta)

    def _from_cache(self, cache: JudgeCache | None, key: str) -> Score | None:
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            return None
        value, reasoning = parse_reply(hit["content"], self.template)
        return self._finish(value, reasoning, {"model": hit["model"], "cached": True, "usage": hit["usage"]})

    def _accept(self, response: dict[str, Any], call: _JudgeCall, last: bool) -> Score | None:
        content = _content(response)
        try:
            value, reasoning = parse_reply(content, self.template)
        except JudgeReplyError as exc:
            if last:
                raise JudgeReplyError(f"{exc.problem}; judge {self.name!r}, model {call.model!r}",
                                      exc.reply) from None
            return None
        usage = response.get("usage")
        used_model = response.get("model") or call.model
        if call.cache is not None:
            call.cache.put(call.key, content or "", used_model, usage)
        return self._finish(value, reasoning, {"model": used_model, "cached": False, "usage": usage})

    def _begin(self, fields: Mapping[str, Any], is_async: bool) -> Score | _JudgeCall:
        """The cached score, or what the chat call needs: the one preparation both
        :meth:`_score` and :meth:`_ascore` share."""
        client, model = self.endpoint()
        cache = self.cache()
        # The key hashes the prompt and inputs: only worth it when a cache is in use.
        key = self._key(model, fields) if cache is not None else ""
        score = self._from_cache(cache, key) if cache is not None else None
        if score is not None:
            return score
        messages = self.template.messages(fields)
        return _JudgeCall(self._llm(is_async, client), messages, model, cache, key)

    def _score(self, **fields: Any) -> Score:
        call = self._begin(fields, is_async=False)
        if isinstance(call, Score):
            return call
        for attempt in range(self.reparse_attempts + 1):
            response = call.llm(messages=call.messages, model=call.model)
            score = self._accept(response, call, attempt == self.reparse_attempts)
            if score is not None:
                return score
        raise AssertionError("unreachable")

    async def _ascore(self, **fields: Any) -> Score:
        call = self._begin(fields, is_async=True)
        if isinstance(call, Score):
            return call
        for attempt in range(self.reparse_attempts + 1):
            response = await call.llm(messages=call.messages, model=call.model)
            score = self._accept(response, call, attempt == self.reparse_attempts)
            if score is not None:
                return score
        raise AssertionError("unreachable")


@dataclass
class _JudgeCall:
    """One judging call past the cache: the traced chat op and what it is asked."""

    llm: Any
    messages: list[dict[str, str]]
    model: str
    cache: JudgeCache | None
    key: str
