"""Guardrails: scorers in a request path that may block, redact or flag a response.

``Guardrail([pii(), secrets(), llm_judge.toxicity()], on_fail="block", fail_open=True)``
runs the cheap rule scorers first, inline, and the slow ones (judges, embeddings)
concurrently with a timeout each, skipping them when a cheap check already blocked.
Every check is one span of kind ``guardrail`` carrying its verdict; the raw text is not
recorded on it (it is what the guardrail is protecting).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scorers import _tracing
from scorers.base import Score, Scorer, ScorerError
from scorers.rules.redact import redact

log = logging.getLogger("spyglass.scorers")

ACTIONS = ("block", "redact", "flag")


class GuardrailBlocked(Exception):
    """Raised by ``check(..., raise_on_block=True)`` when the guardrail blocks."""

    def __init__(self, result: GuardrailResult) -> None:
        names = ", ".join(s.name for s in result.failed) or ", ".join(result.errors)
        super().__init__(f"blocked by guardrail {result.guardrail!r}: {names}")
        self.result = result


@dataclass
class GuardrailResult:
    """The outcome of one guardrail check.

    ``passed``: no scorer failed (errors count per ``fail_open``). ``action``: what was
    done — ``None`` when passed, else ``"block"``, ``"redact"`` or ``"flag"``. ``text``:
    what may be sent on: the original text, or the redacted one; ``None`` when blocked.
    """

    guardrail: str
    passed: bool
    action: str | None
    text: str | None
    original_text: str
    scores: list[Score] = field(default_factory=list)
    failed: list[Score] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    latency_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        """True when the response must not be sent."""
        return self.action == "block"

    @property
    def redacted_text(self) -> str | None:
        """The redacted text when the action was ``redact``."""
        return self.text if self.action == "redact" else None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready verdict without the original text."""
        return {
            "guardrail": self.guardrail, "passed": self.passed, "action": self.action,
            "failed": [s.name for s in self.failed], "errors": self.errors, "skipped": self.skipped,
        }


# The text travels to the traced call through this, not as an argument, so the tracer
# never records the text the guardrail is protecting.
_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("spyglass_guardrail_call", default=None)


class _SlowCall:
    """One slow scorer running on its own daemon thread, in the caller's context.

    Daemon threads, not a pool: a scorer that outlives its timeout (a hung HTTP call) can
    be abandoned without holding up later checks or the interpreter's exit.
    """

    __slots__ = ("done", "error", "fields", "score", "scorer")

    def __init__(self, scorer: Scorer, fields: Mapping[str, Any]) -> None:
        self.scorer, self.fields = scorer, fields
        self.score: Score | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        ctx = contextvars.copy_context()  # the current span and the scorer kind
        threading.Thread(target=ctx.run, args=(self._run,), daemon=True,
                         name=f"spyglass-guard-{scorer.name}").start()

    def _run(self) -> None:
        try:
            self.score = self.scorer.score(self.fields)
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()


class Guardrail:
    """Runs scorers on a response and blocks, redacts or flags it when one fails.

    - ``on_fail``: ``"block"`` (``result.text`` is None), ``"redact"`` (spans reported by
      failing rule scorers such as :func:`~scorers.pii` are replaced by ``[ENTITY]``; a
      failure with nothing to redact blocks), or ``"flag"`` (record only).
    - ``fail_open``: when a scorer raises or times out, True lets the text through (the
      error is recorded), False treats it as a failure.
    - ``timeout_s``: per slow (network) scorer; rule scorers are pure Python and run inline.
    """

    def __init__(
        self,
        scorers: Iterable[Scorer],
        on_fail: str = "block",
        fail_open: bool = True,
        timeout_s: float | None = 5.0,
        *,
        name: str = "guardrail",
        redact_template: str = "[{entity}]",
    ) -> None:
        self.scorers = list(scorers)
        if not self.scorers:
            raise ScorerError("Guardrail needs at least one scorer")
        bad = [s for s in self.scorers if not isinstance(s, Scorer)]
        if bad:
            raise ScorerError(f"Guardrail: not scorers: {bad!r} (call the factory, e.g. pii())")
        if on_fail not in ACTIONS:
            raise ScorerError(f"Guardrail: on_fail must be one of {ACTIONS}, got {on_fail!r}")
        if timeout_s is not None and timeout_s <= 0:
            raise ScorerError(f"Guardrail: timeout_s must be positive, got {timeout_s}")
        self.on_fail, self.fail_open, self.timeout_s = on_fail, fail_open, timeout_s
        self.name, self.redact_template = name, redact_template
        self.cheap = [s for s in self.scorers if s.cheap]
        self.slow = [s for s in self.scorers if not s.cheap]
        self._names = [s.name for s in self.scorers]
        self._check_op = _tracing.traced_function(self._traced_sync, name=name, kind="guardrail")
        self._acheck_op = _tracing.traced_function(self._traced_async, name=name, kind="guardrail")

    # -- public ---------------------------------------------------------------------------

    def check(self, text: str, *, raise_on_block: bool = False, **fields: Any) -> GuardrailResult:
        """Check ``text`` (the ``output`` field; other fields by keyword) synchronously."""
        _require_text(text)
        with _Call(text, fields) as call:
            self._check_op(scorers=self._names, chars=len(text))
        return call.verdict(raise_on_block)

    async def acheck(self, text: str, *, raise_on_block: bool = False, **fields: Any) -> GuardrailResult:
        """Check ``text`` without blocking the event loop; slow scorers run concurrently."""
        _require_text(text)
        with _Call(text, fields) as call:
            await self._acheck_op(scorers=self._names, chars=len(text))
        return call.verdict(raise_on_block)

    # -- tracing shell --------------------------------------------------------------------

    def _traced_sync(self, scorers: list[str], chars: int) -> dict[str, Any]:
        call = _CALL.get()
        assert call is not None
        call.result = self._evaluate_sync(call.text, call.fields)
        return self._publish(call.result)

    async def _traced_async(self, scorers: list[str], chars: int) -> dict[str, Any]:
        call = _CALL.get()
        assert call is not None
        call.result = await self._evaluate_async(call.text, call.fields)
        return self._publish(call.result)

    def _publish(self, result: GuardrailResult) -> dict[str, Any]:
        span = _tracing.own_span()
        if span is not None:
            try:
                from common import attributes as attrs

                _tracing.set_attributes(span, {
                    attrs.GUARDRAIL_PASSED: result.passed,
                    attrs.GUARDRAIL_ACTION: result.action or "pass",
                    attrs.GUARDRAIL_FAILED_SCORERS: [s.name for s in result.failed]
                    + [e.split(":", 1)[0] for e in result.errors if not self.fail_open],
                })
            except Exception as exc:  # tracing never breaks the request path
                log.debug("scorers: guardrail attributes not recorded: %s", exc)
        # The op's recorded output: the verdict, never the protected text.
        out = result.summary()
        if result.action == "redact":
            out["redacted_text"] = result.text
        return out

    # -- evaluation -----------------------------------------------------------------------

    def _run_cheap(self, text: str, fields: Mapping[str, Any], state: _State) -> None:
        base = {**fields, "output": text}
        for s in self.cheap:
            try:
                score = s.score_untraced(base)
            except Exception as exc:
                state.error(s, exc)
                continue
            state.add(score)

    def _slow_fields(self, text: str, fields: Mapping[str, Any], state: _State) -> dict[str, Any]:
        # Slow scorers judge what would be sent: the redacted text when redacting.
        current = state.redacted(text, self.redact_template) if self.on_fail == "redact" else text
        return {**fields, "output": current}

    def _should_skip_slow(self, state: _State) -> bool:
        return self.on_fail != "flag" and state.blocking(self.on_fail, self.fail_open)

    def _cheap_pass(self, text: str, fields: Mapping[str, Any]) -> tuple[_State, dict[str, Any] | None]:
        """Run the rule scorers inline; then the fields for the slow ones, or None when
        there are none or a cheap check already decided (they are marked skipped)."""
        state = _State()
        self._run_cheap(text, fields, state)
        if not self.slow:
            return state, None
        if self._should_skip_slow(state):
            state.skipped = [s.name for s in self.slow]
            return state, None
        return state, self._slow_fields(text, fields, state)

    def _evaluate_sync(self, text: str, fields: Mapping[str, Any]) -> GuardrailResult:
        t0 = time.perf_counter()
        state, slow_fields = self._cheap_pass(text, fields)
        if slow_fields is not None:
            with _tracing.scorer_kind("guardrail"):
                calls = [_SlowCall(s, slow_fields) for s in self.slow]
            deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
            for call in calls:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not call.done.wait(remaining):
                    state.error(call.scorer, TimeoutError(f"timed out after {self.timeout_s}s"))
                elif call.error is not None:
                    state.error(call.scorer, call.error)
                else:
                    state.add(call.score)  # type: ignore[arg-type]
        return self._result(text, state, t0)

    async def _evaluate_async(self, text: str, fields: Mapping[str, Any]) -> GuardrailResult:
        t0 = time.perf_counter()
        state, slow_fields = self._cheap_pass(text, fields)
        if slow_fields is not None:
            with _tracing.scorer_kind("guardrail"):
                outcomes = await asyncio.gather(
                    *(asyncio.wait_for(s.ascore(slow_fields), self.timeout_s) for s in self.slow),
                    return_exceptions=True,
                )
            for s, outcome in zip(self.slow, outcomes, strict=True):
                if isinstance(outcome, Score):
                    state.add(outcome)
                elif isinstance(outcome, asyncio.TimeoutError | TimeoutError):
                    state.error(s, TimeoutError(f"timed out after {self.timeout_s}s"))
                elif isinstance(outcome, BaseException):
                    if isinstance(outcome, asyncio.CancelledError):
                        raise outcome
                    state.error(s, outcome)
        return self._result(text, state, t0)

    def _result(self, text: str, state: _State, t0: float) -> GuardrailResult:
        failed = state.failed
        error_fails = bool(state.errors) and not self.fail_open
        passed = not failed and not error_fails
        action: str | None = None
        out_text: str | None = text
        if not passed:
            if self.on_fail == "flag":
                action = "flag"
            elif self.on_fail == "redact" and not error_fails and all(state.has_spans(s) for s in failed):
                action = "redact"
                out_text = state.redacted(text, self.redact_template)
            else:
                action = "block"
                out_text = None
        for e in state.errors:
            log.warning("guardrail %r: %s (%s)", self.name, e, "fail-open" if self.fail_open else "fail-closed")
        return GuardrailResult(
            guardrail=self.name, passed=passed, action=action, text=out_text, original_text=text,
            scores=state.scores, failed=failed, errors=state.errors, skipped=state.skipped,
            latency_ms=(time.perf_counter() - t0) * 1000.0,
        )


def _require_text(text: Any) -> None:
    if not isinstance(text, str):
        raise TypeError(f"Guardrail.check: text must be a str, got {type(text).__name__}")


class _Call:
    """One check in flight: its text and fields in, its result out.

    As a context manager it makes itself the current check (the traced op reads it from
    ``_CALL``) and remembers the caller's span: with tracing off no guardrail span exists,
    and the verdict must not be written onto the caller's span instead.
    """

    __slots__ = ("fields", "result", "text", "tokens")

    def __init__(self, text: str, fields: Mapping[str, Any]) -> None:
        self.text, self.fields = text, fields
        self.result: GuardrailResult | None = None
        self.tokens: tuple[Any, Any] | None = None

    def __enter__(self) -> _Call:
        self.tokens = (_CALL.set(self), _tracing._PARENT.set(_tracing._current_span()))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        call_token, parent_token = self.tokens  # type: ignore[misc]
        _tracing._PARENT.reset(parent_token)
        _CALL.reset(call_token)

    def take(self) -> GuardrailResult:
        if self.result is None:
            raise ScorerError("guardrail check produced no result")
        return self.result

    def verdict(self, raise_on_block: bool) -> GuardrailResult:
        """The result; with ``raise_on_block``, ``GuardrailBlocked`` when it blocks."""
        result = self.take()
        if raise_on_block and result.blocked:
            raise GuardrailBlocked(result)
        return result


class _State:
    """Scores gathered during one check."""

    __slots__ = ("errors", "failed", "scores", "skipped")

    def __init__(self) -> None:
        self.scores: list[Score] = []
        self.failed: list[Score] = []
        self.errors: list[str] = []
        self.skipped: list[str] = []

    def add(self, score: Score) -> None:
        self.scores.append(score)
        if score.passed is False:
            self.failed.append(score)

    def error(self, scorer: Scorer, exc: BaseException) -> None:
        self.errors.append(f"{scorer.name}: {type(exc).__name__}: {exc}")

    @staticmethod
    def has_spans(score: Score) -> bool:
        return bool(score.metadata.get("spans"))

    def blocking(self, on_fail: str, fail_open: bool) -> bool:
        if self.errors and not fail_open:
            return True
        if on_fail == "redact":
            return any(not self.has_spans(s) for s in self.failed)
        return bool(self.failed)

    def redacted(self, text: str, template: str) -> str:
        spans: Sequence[Mapping[str, Any]] = [sp for s in self.failed for sp in s.metadata.get("spans", ())]
        return redact(text, spans, template) if spans else text
