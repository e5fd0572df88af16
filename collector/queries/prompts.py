"""Prompt versions and labels in storage (tables of migration 0200), shared by the prompt
routes, the playground and the ``prompt`` filter of ``/api/traces``."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from collector.queries.errors import BadParameter, NotFound
from common import prompts as P
from common.wire.prompts import LabelEvent, PromptVersion

DEFAULT_PROJECT = "default"
# Pushing reads the versions of a name and writes the next number; one collector process
# serializes that so two concurrent pushes never both claim vN (nor store one content twice).
PUSH_LOCK = threading.Lock()

_VERSIONS_SQL = ("SELECT project, name, version, version_id, content, author, "
                 "toString(created_at) AS created_at FROM prompt_versions FINAL "
                 "WHERE project = {project:String} AND name = {name:String} ORDER BY version")


def iso(text: Any) -> str:
    """ClickHouse DateTime64 text -> RFC 3339 UTC."""
    text = str(text or "")
    return text.replace(" ", "T") + "Z" if text else ""


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not P.NAME_RE.match(name):
        raise BadParameter(field, "must be 1-200 characters of letters, digits, '.', '_' or '-' "
                                  f"starting with a letter or digit, got {name!r}")
    return name


def check_label(label: Any, field: str = "label") -> str:
    if (not isinstance(label, str) or not P.LABEL_RE.match(label)
            or re.fullmatch(r"v\d+|latest", label)):
        raise BadParameter(field, "must start with a letter, be at most 64 letters, digits, "
                                  f"'.', '_' or '-', and not be 'latest' or vN; got {label!r}")
    return label


def current_labels(storage: Any, project: str, name: str) -> dict[str, str]:
    """label -> version id it points at now (its latest move)."""
    rows = storage.query(
        "SELECT label, argMax(to_version_id, at) AS v FROM prompt_label_events "
        "WHERE project = {project:String} AND name = {name:String} GROUP BY label ORDER BY label",
        {"project": project, "name": name})
    return {r["label"]: r["v"] for r in rows}


def versions_of(storage: Any, project: str, name: str) -> list[PromptVersion]:
    """Every version of a prompt, oldest first, with the labels pointing at each."""
    rows = storage.query(_VERSIONS_SQL, {"project": project, "name": name})
    labels = current_labels(storage, project, name) if rows else {}
    out = []
    for r in rows:
        content = json.loads(r["content"])
        out.append(PromptVersion(
            project=r["project"], name=r["name"], version=f"v{int(r['version'])}",
            number=int(r["version"]), version_id=r["version_id"], content=content,
            variables=P.variables(content),
            labels=sorted(k for k, v in labels.items() if v == r["version_id"]),
            author=r["author"], created_at=iso(r["created_at"])))
    return out


def prompt_project(storage: Any, scoped: str | None, name: str) -> str:
    """The project holding prompt ``name``: the given one, else the one project that has
    it (400 when several do, 404 when none)."""
    if scoped:
        return scoped
    rows = storage.query("SELECT DISTINCT project FROM prompt_versions WHERE name = {name:String} "
                         "ORDER BY project", {"name": name})
    if not rows:
        raise NotFound(f"no prompt named {name!r}")
    if len(rows) > 1:
        raise BadParameter("project", f"prompt {name!r} exists in projects "
                                      f"{', '.join(r['project'] for r in rows)}; pass one")
    return rows[0]["project"]


def resolve(storage: Any, project: str, name: str, spec: str | None,
            field: str = "version") -> PromptVersion:
    """``latest``, ``vN``, a version id (or 8+ character prefix) or a label -> the version."""
    versions = versions_of(storage, project, name)
    if not versions:
        raise NotFound(f"no prompt named {name!r} in project {project!r}")
    text = (spec or "latest").strip()
    if text == "latest":
        return versions[-1]
    match = re.fullmatch(r"v?(\d{1,9})", text)
    if match:
        for v in versions:
            if v.number == int(match.group(1)):
                return v
        raise NotFound(f"prompt {name!r} has no version v{match.group(1)} "
                       f"(latest is {versions[-1].version})")
    if re.fullmatch(r"[0-9a-f]{8,64}", text):
        hits = [v for v in versions if v.version_id.startswith(text)]
        if hits:
            return hits[-1]
    labels = current_labels(storage, project, name)
    if text in labels:
        for v in versions:
            if v.version_id == labels[text]:
                return v
    raise NotFound(f"prompt {name!r} has no version or label {text!r} "
                   f"(labels: {', '.join(sorted(labels)) or 'none'})")


def move_label(storage: Any, project: str, name: str, label: str, target: PromptVersion,
               author: str) -> LabelEvent | None:
    """Point ``label`` at ``target``, appending an audit event; None when it already does."""
    before = current_labels(storage, project, name).get(label)
    if before == target.version_id:
        return None
    storage.insert("prompt_label_events", [{
        "project": project, "name": name, "label": label, "from_version_id": before or "",
        "to_version_id": target.version_id, "author": author}])
    events = label_events(storage, project, name)
    return [e for e in events if e.label == label][-1]


def label_events(storage: Any, project: str, name: str) -> list[LabelEvent]:
    """Every label move of a prompt, oldest first."""
    numbers = {v.version_id: v.version for v in versions_of(storage, project, name)}
    rows = storage.query(
        "SELECT label, from_version_id, to_version_id, author, toString(at) AS at "
        "FROM prompt_label_events WHERE project = {project:String} AND name = {name:String} "
        "ORDER BY at, label", {"project": project, "name": name})
    return [LabelEvent(label=r["label"], from_version=numbers.get(r["from_version_id"]),
                       from_version_id=r["from_version_id"] or None,
                       to_version=numbers.get(r["to_version_id"], "?"),
                       to_version_id=r["to_version_id"], author=r["author"], at=iso(r["at"]))
            for r in rows]


def push(storage: Any, project: str, name: str, content: dict[str, Any],
         author: str) -> tuple[PromptVersion, bool]:
    """Store ``content`` as the next version of ``name`` unless some version already has
    it; returns (version, created). Versions are never rewritten."""
    vid = P.version_id(content)
    with PUSH_LOCK:
        versions = versions_of(storage, project, name)
        for v in versions:
            if v.version_id == vid:
                return v, False
        number = versions[-1].number + 1 if versions else 1
        storage.insert("prompt_versions", [{
            "project": project, "name": name, "version": number, "version_id": vid,
            "content": P.canonical_json(content), "author": author}])
    return resolve(storage, project, name, f"v{number}"), True


def version_ids_for_filter(storage: Any, scoped: str | None, ref: str) -> tuple[str, str]:
    """The ``prompt`` filter of the trace list: ``name`` -> (name attribute, name);
    ``name:spec`` -> (version-id attribute, the resolved version id)."""
    from common import attributes as A

    name, _, spec = ref.partition(":")
    check_name(name, "prompt")
    if not spec:
        return A.PROMPT_NAME, name
    project = prompt_project(storage, scoped, name)
    return A.PROMPT_VERSION_ID, resolve(storage, project, name, spec, "prompt").version_id
