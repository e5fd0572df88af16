"""``@scorer``: a plain function becomes a scorer, its parameter names bound to fields."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

from scorers.base import Score, Scorer, ScorerError


class FunctionScorer(Scorer):
    """A scorer made from a function by :func:`scorer`.

    Parameters without defaults are required fields, those with defaults optional; a
    ``**kwargs`` parameter receives every field. The function may return a :class:`Score`,
    a bool, a number, a str label, a ``(value, reason)`` tuple or a dict with ``value`` and
    optional ``reason`` / ``metadata`` / ``passed``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        column_map: Mapping[str, str] | None = None,
        threshold: float | None = None,
        higher_is_better: bool = True,
        summarize: Callable[[list[Score]], dict[str, Any]] | None = None,
        cheap: bool | None = None,
    ) -> None:
        super().__init__(name=name or fn.__name__, column_map=column_map, threshold=threshold)
        self.fn = fn
        self._summarize = summarize
        self._higher_is_better = higher_is_better
        sig = inspect.signature(fn)
        required, optional, self._var_kw = [], [], False
        for p in sig.parameters.values():
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                self._var_kw = True
            elif p.kind is inspect.Parameter.VAR_POSITIONAL:
                raise ScorerError(f"@scorer {fn.__name__}: *args cannot be bound to fields")
            elif p.default is inspect.Parameter.empty:
                required.append(p.name)
            else:
                optional.append(p.name)
        # Instance attributes shadow the class-level protocol attributes.
        self.required = tuple(required)  # type: ignore[misc]
        self.optional = tuple(optional)  # type: ignore[misc]
        self.is_async = inspect.iscoroutinefunction(fn)  # type: ignore[misc]
        # Sync functions are taken as fast pure-Python checks unless declared otherwise
        # (cheap=False: a sync function doing I/O runs off the event loop, and a
        # guardrail treats it as a slow check with a timeout).
        self.cheap = (not self.is_async) if cheap is None else cheap  # type: ignore[misc]
        self.higher_is_better = higher_is_better  # type: ignore[misc]
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def bind(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Bind declared parameters; with ``**kwargs`` every other field is passed too."""
        bound = super().bind(fields)
        if self._var_kw:
            mapped_sources = {self.column_map.get(n, n) for n in self.required + self.optional}
            for key, value in fields.items():
                if key not in mapped_sources and key not in bound:
                    bound[key] = value
        return bound

    def _to_score(self, result: Any) -> Score:
        if isinstance(result, Score):
            return result
        if isinstance(result, tuple) and len(result) == 2:
            return self.make_score(result[0], str(result[1]) if result[1] is not None else None)
        if isinstance(result, Mapping):
            if "value" not in result:
                raise ScorerError(f"@scorer {self.name}: a dict result needs a 'value' key")
            return self.make_score(
                result["value"], result.get("reason"), dict(result.get("metadata") or {}),
                passed=result.get("passed"),
            )
        if isinstance(result, bool | int | float | str):
            return self.make_score(result)
        raise ScorerError(
            f"@scorer {self.name}: returned {type(result).__name__}; "
            "return a Score, bool, number, str, (value, reason) or dict"
        )

    def _score(self, **fields: Any) -> Score:
        if self.is_async:
            return super()._score(**fields)
        return self._to_score(self.fn(**fields))

    async def _ascore(self, **fields: Any) -> Score:
        if self.is_async:
            return self._to_score(await self.fn(**fields))
        if not self.cheap:
            return self._to_score(await asyncio.to_thread(self.fn, **fields))
        return self._to_score(self.fn(**fields))

    def summarize(self, scores: list[Score]) -> dict[str, Any]:
        """The function's own summary when given to ``@scorer(summarize=...)``."""
        if self._summarize is not None:
            return self._summarize(list(scores))
        return super().summarize(scores)


@overload
def scorer(fn: Callable[..., Any], /) -> FunctionScorer: ...
@overload
def scorer(
    *, name: str | None = None, column_map: Mapping[str, str] | None = None,
    threshold: float | None = None, higher_is_better: bool = True,
    summarize: Callable[[list[Score]], dict[str, Any]] | None = None, cheap: bool | None = None,
) -> Callable[[Callable[..., Any]], FunctionScorer]: ...


def scorer(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    column_map: Mapping[str, str] | None = None,
    threshold: float | None = None,
    higher_is_better: bool = True,
    summarize: Callable[[list[Score]], dict[str, Any]] | None = None,
    cheap: bool | None = None,
) -> Any:
    """Turn a function into a scorer: ``@scorer`` or ``@scorer(name=..., threshold=...)``.

    >>> @scorer
    ... def mentions_source(output: str, context: str) -> bool:
    ...     return context.split()[0] in output
    >>> mentions_source.score(output="Per Paris...", context="Paris is").value
    True
    """

    def wrap(f: Callable[..., Any]) -> FunctionScorer:
        return FunctionScorer(
            f, name=name, column_map=column_map, threshold=threshold,
            higher_is_better=higher_is_better, summarize=summarize, cheap=cheap,
        )

    return wrap(fn) if fn is not None else wrap
