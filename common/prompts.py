"""Prompt content: its canonical form, content id, variables and formatting.

Pure (standard library + :mod:`common.canonical`) because the tracer's client, the
collector's ``/api/prompts`` routes and the evals runner must agree byte for byte on what
a version's content is and on its id.

A prompt's *content* is ``{"type", "messages"|"text", "model", "params", "tags",
"metadata"}`` (empty fields dropped); its version id is the SHA-256 of the canonical JSON
of that content (:func:`common.canonical.canonical_json`). The name is not part of the
content: the same content under two names has the same id, and pushing the same content
under one name again never makes a new version.

Templates use ``{{ variable }}`` placeholders (mustache style, so JSON braces in a prompt
need no escaping).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from common.canonical import canonical_json

VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
ROLES = ("system", "developer", "user", "assistant", "tool")


class PromptError(ValueError):
    """Prompt content or a formatting call that cannot be used; the message names it."""


def content_of(*, messages: list[Mapping[str, Any]] | None = None, text: str | None = None,
               model: str | None = None, params: Mapping[str, Any] | None = None,
               tags: list[str] | None = None,
               metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The canonical content dict (empty fields dropped); exactly one of messages/text."""
    if (messages is None) == (text is None):
        raise PromptError("a prompt has either messages (chat) or text, not both or neither")
    content: dict[str, Any] = {}
    if messages is not None:
        if not messages:
            raise PromptError("messages must not be empty")
        clean = []
        for i, m in enumerate(messages):
            if not isinstance(m, Mapping) or not isinstance(m.get("role"), str):
                raise PromptError(f"messages[{i}] must be an object with a role")
            if m["role"] not in ROLES:
                raise PromptError(f"messages[{i}].role must be one of {', '.join(ROLES)}, "
                                  f"got {m['role']!r}")
            clean.append({k: v for k, v in m.items() if v is not None})
        content["type"] = "chat"
        content["messages"] = clean
    else:
        if not isinstance(text, str):
            raise PromptError("text must be a string")
        content["type"] = "text"
        content["text"] = text
    if model:
        content["model"] = model
    clean_params = {k: v for k, v in (params or {}).items() if v is not None}
    if clean_params:
        content["params"] = clean_params
    if tags:
        content["tags"] = sorted(dict.fromkeys(str(t) for t in tags))
    if metadata:
        content["metadata"] = dict(metadata)
    try:
        canonical_json(content)
    except (TypeError, ValueError) as exc:
        raise PromptError(f"prompt content is not JSON: {exc}") from None
    return content


def version_id(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``content``."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def _texts(content: Mapping[str, Any]) -> list[str]:
    if content.get("type") == "text":
        return [content.get("text") or ""]
    out: list[str] = []
    for m in content.get("messages") or []:
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out += [p["text"] for p in c if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
    return out


def variables(content: Mapping[str, Any]) -> list[str]:
    """The ``{{ variable }}`` names the template uses, in order of first use."""
    seen: dict[str, None] = {}
    for text in _texts(content):
        for name in VARIABLE_RE.findall(text):
            seen.setdefault(name, None)
    return list(seen)


def _fill(text: str, values: Mapping[str, Any]) -> str:
    def sub(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return value if isinstance(value, str) else canonical_json(value)

    return VARIABLE_RE.sub(sub, text)


def render(content: Mapping[str, Any], values: Mapping[str, Any]) -> list[dict[str, Any]] | str:
    """The template with ``values`` filled in: provider-ready chat messages (a list of
    ``{role, content, ...}``) or the text. A missing variable is a :class:`PromptError`
    naming it; unused values are ignored."""
    missing = [v for v in variables(content) if v not in values]
    if missing:
        raise PromptError(f"missing prompt variable(s): {', '.join(missing)}")
    if content.get("type") == "text":
        return _fill(content.get("text") or "", values)
    out = []
    for m in content.get("messages") or []:
        m = copy.deepcopy(dict(m))
        c = m.get("content")
        if isinstance(c, str):
            m["content"] = _fill(c, values)
        elif isinstance(c, list):
            m["content"] = [{**p, "text": _fill(p["text"], values)}
                            if isinstance(p, dict) and isinstance(p.get("text"), str) else p
                            for p in c]
        out.append(m)
    return out


def split_ref(ref: str) -> tuple[str, str]:
    """``"name:v3"`` / ``"name:production"`` / ``"name"`` -> (name, version-or-label)."""
    name, _, spec = ref.partition(":")
    return name, spec or "latest"


def diff_lines(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """A unified diff of two contents' pretty JSON (what ``spyglass prompts diff`` and
    ``/api/prompts/{name}/diff`` show)."""
    import difflib
    import json

    def pretty(c: Mapping[str, Any]) -> list[str]:
        return json.dumps(c, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    return list(difflib.unified_diff(pretty(a), pretty(b), "a", "b", lineterm=""))
