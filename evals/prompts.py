"""Prompt versions as eval params: ``params={"prompt": ["qa:v3", "qa:v4"]}``.

A param named ``prompt`` or ending in ``_prompt`` whose value is a ``name:version`` text
(``vN``, a label, a version id or ``latest``; no spaces) is resolved to a
:class:`tracer.prompts.Prompt` before the run and passed to the task as that object. The
run records the reference as given and the content id next to it
(``params["prompt.version_id"]``), so a run says exactly which prompt content it measured
and a baseline is only ever a run of the same content.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import Any

from evals.suite import EvalConfigError
from tracer import prompts as tracer_prompts

VERSION_ID_SUFFIX = ".version_id"
# name:version with no spaces, so a param that holds prompt *text* is left alone.
REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}:[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_prompt_param(key: str, value: Any) -> bool:
    """True for the params that name a prompt version."""
    return ((key == "prompt" or key.endswith("_prompt")) and isinstance(value, str)
            and bool(REF_RE.match(value)))


def resolve_prompt_params(params: Mapping[str, Any], *, endpoint: str, api_key: str | None,
                          project: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params for the task with prompt refs as Prompt objects, params to record with the
    prompt version ids added). An unknown prompt is an :class:`EvalConfigError`."""
    task = dict(params)
    recorded = dict(params)
    for key, value in params.items():
        if not is_prompt_param(key, value):
            continue
        try:
            prompt = tracer_prompts.fetch(value, endpoint=endpoint, api_key=api_key, project=project)
        except (tracer_prompts.PromptError, tracer_prompts.PromptUnavailable) as exc:
            raise EvalConfigError(f"param {key}={value!r}: {exc}") from None
        task[key] = prompt
        recorded[key + VERSION_ID_SUFFIX] = prompt.version_id
    return task, recorded


def with_prompt_scope(task: Callable[..., Any], params: Mapping[str, Any]) -> Callable[..., Any]:
    """``task`` run inside ``prompt.use()`` for every Prompt in ``params``, so the spans
    the task starts (its LLM calls) carry the prompt version; ``task`` itself when there
    is none. The wrapper keeps the task's signature (binding) and sync/async nature."""
    prompts = [v for v in params.values() if isinstance(v, tracer_prompts.Prompt)]
    if not prompts:
        return task

    def scope() -> ExitStack:
        stack = ExitStack()
        for p in prompts:
            stack.enter_context(p.use())
        return stack

    if inspect.iscoroutinefunction(task):
        @functools.wraps(task)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with scope():
                return await task(*args, **kwargs)

        return run_async

    @functools.wraps(task)
    def run(*args: Any, **kwargs: Any) -> Any:
        with scope():
            return task(*args, **kwargs)

    return run
