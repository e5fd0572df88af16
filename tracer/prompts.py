"""Versioned prompts from the collector: ``tracer.prompts.push``, ``get`` and ``Prompt``.

    import tracer

    tracer.prompts.push("support-answer", messages=[
        {"role": "system", "content": "You answer for {{ product }}."},
        {"role": "user", "content": "{{ question }}"}], model="gpt-4o-mini",
        params={"temperature": 0.2}, label="production")

    p = tracer.prompts.get("support-answer", label="production")
    with p.use():                          # every span inside carries the prompt version
        reply = client.chat.completions.create(**p.request(product="Acme", question=q))

``get`` caches each answer for ``ttl_s`` seconds (60 by default) and writes a local copy
under ``SPYGLASS_PROMPT_CACHE_DIR`` (default ``~/.spyglass/prompts``), so an application
keeps working with the last version it saw when the collector is down or slow. The
collector, API key and project are those of ``tracer.init`` (else ``SPYGLASS_ENDPOINT``,
``SPYGLASS_API_KEY``, ``SPYGLASS_PROJECT``), or set with :func:`configure`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from common import attributes as A
from common import prompts as P
from common.canonical import canonical_json
from tracer._log import warn_once
from tracer.context import PROMPT_SCOPE
from tracer.handle import current_span
from tracer.settings import DEFAULT_ENDPOINT

DEFAULT_TTL_S = 60.0
TIMEOUT_S = 5.0
PromptError = P.PromptError


class PromptUnavailable(RuntimeError):
    """The collector could not be reached (or refused) and no local copy exists."""


@dataclass
class _Config:
    endpoint: str | None = None
    api_key: str | None = None
    project: str | None = None
    cache_dir: Path | None = None
    ttl_s: float = DEFAULT_TTL_S
    timeout_s: float = TIMEOUT_S


_config = _Config()
_cache: dict[tuple[str, str, str], tuple[float, Prompt]] = {}
_lock = threading.Lock()


def configure(endpoint: str | None = None, api_key: str | None = None, project: str | None = None,
              cache_dir: str | Path | None = None, ttl_s: float | None = None,
              timeout_s: float | None = None) -> None:
    """Override where prompts come from (default: ``tracer.init``'s settings, then env)."""
    if endpoint is not None:
        _config.endpoint = endpoint.rstrip("/")
    if api_key is not None:
        _config.api_key = api_key
    if project is not None:
        _config.project = project
    if cache_dir is not None:
        _config.cache_dir = Path(cache_dir)
    if ttl_s is not None:
        _config.ttl_s = float(ttl_s)
    if timeout_s is not None:
        _config.timeout_s = float(timeout_s)


def reset() -> None:
    """Forget :func:`configure` overrides and cached prompts (back to ``tracer.init``/env)."""
    global _config
    _config = _Config()
    clear_cache()


def clear_cache() -> None:
    """Forget cached prompts (the local copies on disk stay)."""
    with _lock:
        _cache.clear()


def _connection() -> tuple[str, dict[str, str], str | None]:
    from tracer.runtime import settings as live

    s = live()
    endpoint = _config.endpoint or (s.endpoint if s else None) or os.environ.get(
        "SPYGLASS_ENDPOINT") or DEFAULT_ENDPOINT
    key = _config.api_key or (s.api_key if s else None) or os.environ.get("SPYGLASS_API_KEY")
    project = _config.project or (s.project if s else None) or os.environ.get("SPYGLASS_PROJECT")
    return endpoint.rstrip("/"), ({"Authorization": f"Bearer {key}"} if key else {}), project


def _cache_dir() -> Path:
    return _config.cache_dir or Path(os.environ.get("SPYGLASS_PROMPT_CACHE_DIR")
                                     or Path("~/.spyglass/prompts").expanduser())


@dataclass(frozen=True)
class Prompt:
    """One immutable prompt version: ``format(**vars)`` fills its template."""

    name: str
    version: str  # vN
    version_id: str
    content: dict[str, Any]
    project: str | None = None
    labels: tuple[str, ...] = ()
    #: True when this came from a stale cache or the local copy (collector unreachable).
    from_fallback: bool = field(default=False, compare=False)

    @classmethod
    def from_api(cls, body: Mapping[str, Any], from_fallback: bool = False) -> Prompt:
        return cls(name=body["name"], version=body["version"], version_id=body["version_id"],
                   content=dict(body["content"]), project=body.get("project"),
                   labels=tuple(body.get("labels") or ()), from_fallback=from_fallback)

    @property
    def ref(self) -> str:
        """``name:vN``."""
        return f"{self.name}:{self.version}"

    @property
    def messages(self) -> list[dict[str, Any]] | None:
        return self.content.get("messages")

    @property
    def text(self) -> str | None:
        return self.content.get("text")

    @property
    def model(self) -> str | None:
        return self.content.get("model")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.content.get("params") or {})

    @property
    def variables(self) -> list[str]:
        return P.variables(self.content)

    @property
    def span_attributes(self) -> dict[str, str]:
        """The attributes that tie a span to this version (``common.attributes``)."""
        return {A.PROMPT_NAME: self.name, A.PROMPT_VERSION: self.version,
                A.PROMPT_VERSION_ID: self.version_id}

    def format(self, **variables: Any) -> Any:
        """Provider-ready chat messages (``[{role, content}]``), or the text of a text
        prompt, with ``{{ variables }}`` filled in; :class:`PromptError` names a missing
        one. The current span (the op calling this) records the prompt version and the
        values."""
        result = P.render(self.content, variables)
        span = current_span()
        span.set_attributes(self.span_attributes)
        if variables:
            span.set_attribute(A.PROMPT_VARIABLES, canonical_json(
                {k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
                 for k, v in variables.items()}))
        return result

    def request(self, **variables: Any) -> dict[str, Any]:
        """Keyword arguments for an OpenAI-style ``chat.completions.create``: ``model``,
        ``messages`` and the stored parameters."""
        out: dict[str, Any] = {**self.params, "messages": self.format(**variables)}
        if self.model:
            out["model"] = self.model
        return out

    @contextmanager
    def use(self) -> Iterator[Prompt]:
        """Every span started inside the block carries this prompt's name and version, so
        traces filter (``/api/traces?prompt=name:vN``) and dashboards group by it."""
        token = PROMPT_SCOPE.set({**(PROMPT_SCOPE.get() or {}), **self.span_attributes})
        try:
            yield self
        finally:
            PROMPT_SCOPE.reset(token)


def _request(method: str, path: str, *, endpoint: str | None = None,
             api_key: str | None = None, **kw: Any) -> Any:
    import httpx  # here, not at module level: `import tracer` stays light

    default_endpoint, headers, _ = _connection()
    endpoint = (endpoint or default_endpoint).rstrip("/")
    if api_key:
        headers = {"Authorization": f"Bearer {api_key}"}
    try:
        answer = httpx.request(method, endpoint + path, headers=headers,
                               timeout=_config.timeout_s, **kw)
    except httpx.HTTPError as exc:
        raise PromptUnavailable(f"could not reach the collector at {endpoint}: {exc}") from None
    if answer.status_code >= 400:
        try:
            message = answer.json().get("error")
        except ValueError:
            message = answer.text[:300]
        if answer.status_code in (400, 404, 409):
            raise PromptError(message)
        raise PromptUnavailable(f"the collector answered HTTP {answer.status_code}: {message}")
    return answer.json()


def push(name: str, *, messages: list[Mapping[str, Any]] | None = None, text: str | None = None,
         model: str | None = None, params: Mapping[str, Any] | None = None,
         tags: list[str] | None = None, metadata: Mapping[str, Any] | None = None,
         label: str | None = None, author: str | None = None,
         project: str | None = None) -> Prompt:
    """Store a version of ``name`` (the existing one when the content already is a
    version) and optionally move ``label`` to it. Raises :class:`PromptError` for bad
    content, :class:`PromptUnavailable` when the collector cannot be reached."""
    P.content_of(messages=list(messages) if messages is not None else None, text=text,
                 model=model, params=params, tags=tags, metadata=metadata)  # fail early, locally
    body: dict[str, Any] = {"name": name, "tags": list(tags or []), "metadata": dict(metadata or {})}
    for key, value in (("messages", messages), ("text", text), ("model", model),
                       ("params", dict(params) if params else None), ("label", label),
                       ("author", author), ("project", project or _connection()[2])):
        if value is not None:
            body[key] = value
    answer = _request("POST", "/api/prompts", json=body)
    prompt = Prompt.from_api(answer)
    _save_copy(prompt, "v", prompt.version)
    return prompt


def _copy_path(project: str | None, name: str, spec: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{name}@{spec}")
    return _cache_dir() / (project or "_") / f"{safe}.json"


def _save_copy(prompt: Prompt, kind: str, spec: str) -> None:
    path = _copy_path(prompt.project if kind == "v" else _connection()[2], prompt.name, f"{kind}-{spec}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"name": prompt.name, "version": prompt.version,
                                   "version_id": prompt.version_id, "content": prompt.content,
                                   "project": prompt.project, "labels": list(prompt.labels)}))
        os.replace(tmp, path)
    except OSError as exc:
        warn_once("prompt_copy", "could not write the local prompt copy %s: %s", path, exc,
                  exc_info=False)


def get(name: str, *, label: str | None = None, version: str | None = None,
        project: str | None = None, ttl_s: float | None = None) -> Prompt:
    """The version of ``name`` that ``label`` points at (else ``version``: vN or a version
    id; else the latest), cached for ``ttl_s`` seconds. When the collector cannot answer,
    the last copy fetched (in memory, else on disk) is returned with ``from_fallback``
    set; :class:`PromptUnavailable` only when there is none. An unknown name or label
    raises :class:`PromptError`."""
    if label is not None and version is not None:
        raise PromptError("give label or version, not both")
    kind, spec = ("label", label) if label is not None else ("v", version or "latest")
    project = project or _connection()[2]
    key = (project or "", name, f"{kind}-{spec}")
    ttl = _config.ttl_s if ttl_s is None else ttl_s
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    query: dict[str, str] = {kind if kind == "label" else "version": spec}
    if project:
        query["project"] = project
    try:
        prompt = Prompt.from_api(_request("GET", f"/api/prompts/{quote(name, safe='')}", params=query))
    except PromptUnavailable as exc:
        if hit is not None:
            warn_once(f"prompt_stale:{name}", "prompt %s: %s; using the cached %s", name, exc,
                      hit[1].version, exc_info=False)
            return Prompt.from_api(_as_body(hit[1]), from_fallback=True)
        path = _copy_path(project, name, f"{kind}-{spec}")
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError):
            raise PromptUnavailable(f"prompt {name!r}: {exc}; and no local copy at {path}") from None
        warn_once(f"prompt_copy:{name}", "prompt %s: %s; using the local copy %s (%s)", name, exc,
                  path, body.get("version"), exc_info=False)
        prompt = Prompt.from_api(body, from_fallback=True)
        with _lock:
            _cache[key] = (now, prompt)
        return prompt
    with _lock:
        _cache[key] = (now, prompt)
    _save_copy(prompt, kind, spec)
    return prompt


def _as_body(p: Prompt) -> dict[str, Any]:
    return {"name": p.name, "version": p.version, "version_id": p.version_id,
            "content": p.content, "project": p.project, "labels": list(p.labels)}


def resolve(ref: str, project: str | None = None) -> Prompt:
    """``"name:v3"``, ``"name:production"`` (a label), ``"name:<version id>"`` or
    ``"name"`` (latest) -> the prompt (through :func:`get`)."""
    name, spec = P.split_ref(ref)
    if spec == "latest" or (spec[:1] == "v" and spec[1:].isdigit()) or (
            len(spec) >= 8 and all(c in "0123456789abcdef" for c in spec)):
        return get(name, version=spec, project=project)
    return get(name, label=spec, project=project)


def fetch(ref: str, *, endpoint: str | None = None, api_key: str | None = None,
          project: str | None = None) -> Prompt:
    """``name:vN`` / ``name:label`` / ``name:<id>`` / ``name`` straight from a collector
    (no cache, no fallback): what an eval run resolves its prompt params with."""
    name, spec = P.split_ref(ref)
    is_version = spec == "latest" or (spec[:1] == "v" and spec[1:].isdigit()) or (
        len(spec) >= 8 and all(c in "0123456789abcdef" for c in spec))
    query = {"version" if is_version else "label": spec}
    if project:
        query["project"] = project
    return Prompt.from_api(_request("GET", f"/api/prompts/{quote(name, safe='')}",
                                    endpoint=endpoint, api_key=api_key, params=query))


def label(name: str, label_: str, version: str, *, author: str | None = None,
          project: str | None = None) -> dict[str, Any]:
    """Move ``label_`` to ``version`` (vN, id or label); returns the audit entry."""
    body = {"label": label_, "version": version}
    if author:
        body["author"] = author
    if project or _connection()[2]:
        body["project"] = project or _connection()[2]
    return _request("POST", f"/api/prompts/{quote(name, safe='')}/labels", json=body)


__all__ = ["Prompt", "PromptError", "PromptUnavailable", "clear_cache", "configure", "fetch", "get",
           "label", "push", "reset", "resolve"]
