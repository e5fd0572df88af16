"""Bodies of ``/api/prompts`` and ``/api/playground`` (collector/api/prompts.py), also
decoded by ``tracer.prompts`` and the ``spyglass prompts`` command."""

from __future__ import annotations

from typing import Any

import msgspec


class PromptMessage(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One chat message of a template: ``{{ variable }}`` placeholders in ``content``."""

    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class PromptParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Model parameters sent with the prompt (OpenAI chat-completions names)."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None


class PromptPush(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/prompts``: the content of a version (``messages`` or ``text``).
    Pushing content equal to an existing version of ``name`` returns that version."""

    name: str
    messages: list[PromptMessage] | None = None
    text: str | None = None
    model: str | None = None
    params: PromptParams | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    project: str | None = None
    #: Move this label to the pushed version (audited like ``POST .../labels``).
    label: str | None = None
    #: Who pushes (recorded with the version and any label move).
    author: str | None = None


class LabelMove(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/prompts/{name}/labels``: point ``label`` at ``version`` (vN, a
    version id or prefix, or another label)."""

    label: str
    version: str
    project: str | None = None
    author: str | None = None


class PromptVersion(msgspec.Struct, kw_only=True):
    """One immutable version of a prompt."""

    project: str
    name: str
    version: str  # vN
    number: int
    version_id: str
    content: dict[str, Any]
    variables: list[str]
    labels: list[str]
    author: str
    created_at: str


class PushResult(PromptVersion, kw_only=True):
    """A pushed version; ``created`` is false when the content already was a version."""

    created: bool


class PromptSummary(msgspec.Struct, kw_only=True):
    """One prompt of the list: its latest version and its labels."""

    project: str
    name: str
    latest: str
    version_id: str
    versions: int
    labels: dict[str, str]  # label -> vN
    updated_at: str


class PromptList(msgspec.Struct, kw_only=True):
    prompts: list[PromptSummary]


class VersionList(msgspec.Struct, kw_only=True):
    project: str
    name: str
    versions: list[PromptVersion]


class LabelEvent(msgspec.Struct, kw_only=True):
    """An audit entry: ``label`` moved from one version to another (``from`` is None the
    first time), by whom and when."""

    label: str
    from_version: str | None
    from_version_id: str | None
    to_version: str
    to_version_id: str
    author: str
    at: str


class LabelAudit(msgspec.Struct, kw_only=True):
    project: str
    name: str
    events: list[LabelEvent]


class PromptDiff(msgspec.Struct, kw_only=True):
    """The content of two versions and a unified diff of their pretty JSON."""

    a: PromptVersion
    b: PromptVersion
    same: bool
    diff: list[str]


class PlaygroundRun(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/playground/run``: call the configured OpenAI-compatible endpoint with
    these messages and parameters; the call is stored as a new trace whose span links to
    ``replay_of`` (the original trace and span) when given."""

    messages: list[PromptMessage]
    model: str | None = None
    params: PromptParams | None = None
    project: str | None = None
    replay_trace_id: str | None = None
    replay_span_id: str | None = None
    #: ``name:vN`` of the prompt version being tried, recorded on the replay span.
    prompt: str | None = None


class PlaygroundResult(msgspec.Struct, kw_only=True):
    output: str | None
    message: dict[str, Any] | None
    model: str | None
    input_tokens: int
    output_tokens: int
    duration_ms: float
    trace_id: str
    span_id: str
    project: str
    error: str | None = None


class PlaygroundSource(msgspec.Struct, kw_only=True):
    """What the playground opens for an LLM span: its messages, model, parameters and the
    output it had."""

    trace_id: str
    span_id: str
    project: str
    name: str
    messages: list[dict[str, Any]]
    model: str | None
    params: dict[str, Any]
    output: str | None
    prompt: str | None  # name:vN when the span carried a prompt version


class PlaygroundConfig(msgspec.Struct, kw_only=True):
    """Whether the server has an endpoint configured (the key is never sent)."""

    configured: bool
    base_url: str | None
    default_model: str | None
