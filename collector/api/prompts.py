"""Versioned prompts: ``/api/prompts`` (list, push, versions, labels with their audit,
diff) and the console playground's ``/api/playground`` (replay an LLM call against the
OpenAI-compatible endpoint configured on the server, stored as a new linked trace).

Versions are content-addressed (``common.prompts``): the server recomputes the id from the
content, the same content never makes a new version, and versions are never rewritten.
Labels (``production``, ``staging``, any name) point at versions; every move is appended
to ``prompt_label_events`` (who, when, from, to).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Response

from collector.queries import prompts as Q
from collector.queries.access import scoped_project, storage_of
from collector.queries.errors import (
    EXCEPTION_HANDLERS,
    ApiError,
    BadParameter,
    NotFound,
    reject_unknown_parameters,
)
from collector.queries.params import parse_hex_id
from collector.queries.spans import SPAN_SELECT
from collector.queries.sql import parse_json_text
from collector.queries.traces import find_trace_spans
from common import attributes as A
from common import prompts as P
from common.pricing import cost_usd
from common.wire.prompts import (
    LabelAudit,
    LabelEvent,
    LabelMove,
    PlaygroundConfig,
    PlaygroundResult,
    PlaygroundRun,
    PlaygroundSource,
    PromptDiff,
    PromptList,
    PromptPush,
    PromptSummary,
    PromptVersion,
    PushResult,
    VersionList,
)

PARAM_KEYS = ("temperature", "max_tokens", "top_p", "stop", "seed", "tools", "tool_choice",
              "response_format")


def _body_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, str]]:
    # msgspec's message names the field ("Expected `str`, got `int` - at `$.name`").
    details = [str(e.get("message")) for e in (exc.extra or []) if isinstance(e, dict)
               and e.get("message")]
    keys = [f"'{e['key']}': " for e in (exc.extra or []) if isinstance(e, dict)
            and e.get("key") and e.get("key") != "data"]  # "data" is the whole body
    text = "; ".join(details) or str(exc.detail)
    prefix = f"invalid parameter {keys[0]}" if keys else "invalid body: "
    return Response({"error": f"{prefix}{text}"}, status_code=400)


HANDLERS = {**EXCEPTION_HANDLERS, ValidationException: _body_error}


def _author(request: Request[Any, Any, Any], given: str | None) -> str:
    if given and given.strip():
        return given.strip()[:200]
    project = scoped_project(request, None)
    return f"api-key:{project}" if project else "anonymous"


def _content(data: PromptPush | PlaygroundRun, text: str | None = None) -> dict[str, Any]:
    messages = [msgspec.to_builtins(m) for m in data.messages] if data.messages is not None else None
    try:
        return P.content_of(
            messages=messages, text=text, model=data.model,
            params=msgspec.to_builtins(data.params) if data.params else None,
            tags=getattr(data, "tags", None), metadata=getattr(data, "metadata", None))
    except P.PromptError as exc:
        field = "text" if messages is None and text is not None else "messages"
        raise BadParameter(field, str(exc)) from None


class PromptsController(Controller):
    """Prompts and their immutable, content-addressed versions."""

    path = "/api/prompts"
    exception_handlers = HANDLERS
    before_request = reject_unknown_parameters
    tags = ["prompts"]

    @get("/", sync_to_thread=True)
    def list_prompts(self, request: Request[Any, Any, Any],
                     project: FromQuery[str | None] = None) -> PromptList:
        """Every prompt (of ``project`` when given) with its latest version and labels."""
        storage = storage_of(request)
        scoped = scoped_project(request, project)
        where, params = ("WHERE project = {project:String}", {"project": scoped}) if scoped else ("", {})
        rows = storage.query(
            "SELECT project, name, max(version) AS latest, argMax(version_id, version) AS vid, "
            "count() AS n, toString(max(created_at)) AS updated FROM prompt_versions FINAL "
            f"{where} GROUP BY project, name ORDER BY name, project", params)
        out = []
        for r in rows:
            numbers = {v.version_id: v.version for v in Q.versions_of(storage, r["project"], r["name"])}
            labels = {k: numbers.get(v, "?")
                      for k, v in Q.current_labels(storage, r["project"], r["name"]).items()}
            out.append(PromptSummary(project=r["project"], name=r["name"],
                                     latest=f"v{int(r['latest'])}", version_id=r["vid"],
                                     versions=int(r["n"]), labels=labels,
                                     updated_at=Q.iso(r["updated"])))
        return PromptList(prompts=out)

    @post("/", sync_to_thread=True, status_code=201)
    def push_prompt(self, request: Request[Any, Any, Any], data: JSONBody[PromptPush]) -> Response[PushResult]:
        """Push a version: 201 with ``created: true`` for new content, 200 with ``created:
        false`` when a version of this name already has exactly this content. ``label``
        moves that label to the version (audited). 400 names the bad field."""
        name = Q.check_name(data.name)
        if data.label is not None:
            Q.check_label(data.label)
        content = _content(data, data.text)
        project = scoped_project(request, data.project) or Q.DEFAULT_PROJECT
        storage = storage_of(request)
        author = _author(request, data.author)
        version, created = Q.push(storage, project, name, content, author)
        if data.label:
            Q.move_label(storage, project, name, data.label, version, author)
            version = Q.resolve(storage, project, name, version.version)
        result = PushResult(**msgspec.structs.asdict(version), created=created)
        return Response(result, status_code=201 if created else 200)

    @get("/{name:str}", sync_to_thread=True)
    def get_prompt(self, request: Request[Any, Any, Any], name: FromPath[str],
                   version: str | None = Parameter(default=None, description="vN, a version id or prefix"),
                   label: str | None = Parameter(default=None, description="a label, e.g. production"),
                   project: FromQuery[str | None] = None) -> PromptVersion:
        """One version: ``label``, else ``version``, else the latest. 404 names what is missing."""
        storage = storage_of(request)
        project = Q.prompt_project(storage, scoped_project(request, project), Q.check_name(name))
        if label is not None and version is not None:
            raise BadParameter("label", "give label or version, not both")
        if label is not None:
            return Q.resolve(storage, project, name, Q.check_label(label), "label")
        return Q.resolve(storage, project, name, version)

    @get("/{name:str}/versions", sync_to_thread=True)
    def list_versions(self, request: Request[Any, Any, Any], name: FromPath[str],
                      project: FromQuery[str | None] = None) -> VersionList:
        """Every version, oldest first, each with its content, variables and labels."""
        storage = storage_of(request)
        project = Q.prompt_project(storage, scoped_project(request, project), Q.check_name(name))
        return VersionList(project=project, name=name, versions=Q.versions_of(storage, project, name))

    @post("/{name:str}/labels", sync_to_thread=True, status_code=200)
    def move_label(self, request: Request[Any, Any, Any], name: FromPath[str], data: JSONBody[LabelMove]) -> LabelEvent:
        """Point a label at a version; the answer is the audit entry (who, when, from, to).
        Moving a label to where it already points records nothing and answers the last
        entry of that label."""
        storage = storage_of(request)
        project = Q.prompt_project(storage, scoped_project(request, data.project), Q.check_name(name))
        label = Q.check_label(data.label)
        target = Q.resolve(storage, project, name, data.version, "version")
        event = Q.move_label(storage, project, name, label, target, _author(request, data.author))
        if event is None:
            event = [e for e in Q.label_events(storage, project, name) if e.label == label][-1]
        return event

    @get("/{name:str}/labels", sync_to_thread=True)
    def label_audit(self, request: Request[Any, Any, Any], name: FromPath[str],
                    project: FromQuery[str | None] = None) -> LabelAudit:
        """The audit log of the prompt's labels, oldest first."""
        storage = storage_of(request)
        project = Q.prompt_project(storage, scoped_project(request, project), Q.check_name(name))
        return LabelAudit(project=project, name=name, events=Q.label_events(storage, project, name))

    @get("/{name:str}/diff", sync_to_thread=True)
    def diff(self, request: Request[Any, Any, Any], name: FromPath[str],
             a: str = Parameter(description="vN, version id or label"),
             b: str = Parameter(description="vN, version id or label"),
             project: FromQuery[str | None] = None) -> PromptDiff:
        """Two versions and a unified diff of their content as pretty JSON."""
        storage = storage_of(request)
        project = Q.prompt_project(storage, scoped_project(request, project), Q.check_name(name))
        va = Q.resolve(storage, project, name, a, "a")
        vb = Q.resolve(storage, project, name, b, "b")
        return PromptDiff(a=va, b=vb, same=va.version_id == vb.version_id,
                          diff=P.diff_lines(va.content, vb.content))


# ---------------------------------------------------------------- playground


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _messages_of(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    return None


def span_source(span: dict[str, Any]) -> PlaygroundSource:
    """What the playground opens for a stored span: its messages (from the bound
    arguments, or the GenAI input messages), model, parameters and output text."""
    inputs = parse_json_text(span.get("input"))
    attrs = parse_json_text(span.get("attributes")) or {}
    attrs = attrs if isinstance(attrs, dict) else {}
    args = inputs if isinstance(inputs, dict) else {}
    if isinstance(args.get("kwargs"), dict):
        args = {**args, **args["kwargs"]}
    messages = _messages_of(args.get("messages")) or _messages_of(inputs)
    if messages is None:
        messages = _messages_of(parse_json_text(attrs.get(A.GEN_AI_INPUT_MESSAGES)))
    if messages is None:
        prompt = args.get("prompt") if isinstance(args.get("prompt"), str) else inputs
        text = prompt if isinstance(prompt, str) else json.dumps(prompt)
        messages = [{"role": "user", "content": text}]
    params = {k: args[k] for k in PARAM_KEYS if args.get(k) is not None}
    model = args.get("model") if isinstance(args.get("model"), str) else None
    prompt_ref = None
    if attrs.get(A.PROMPT_NAME):
        prompt_ref = f"{attrs[A.PROMPT_NAME]}:{attrs.get(A.PROMPT_VERSION, 'latest')}"
    return PlaygroundSource(
        trace_id=span["trace_id"], span_id=span["span_id"], project=span["project"],
        name=span["name"], messages=messages, model=model or span.get("model") or None,
        params=params, output=output_text(parse_json_text(span.get("output")), attrs),
        prompt=prompt_ref)


def output_text(output: Any, attrs: dict[str, Any] | None = None) -> str | None:
    """The assistant text of a stored output: an OpenAI completion, an Anthropic message,
    a list of messages, or plain text."""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        choices = output.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message") or {}
            if isinstance(message, dict) and message.get("content") is not None:
                return str(message["content"])
        content = output.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    if isinstance(output, list) and output and isinstance(output[-1], dict):
        return output_text(output[-1])
    out_msgs = parse_json_text((attrs or {}).get(A.GEN_AI_OUTPUT_MESSAGES))
    if isinstance(out_msgs, list) and out_msgs:
        return output_text(out_msgs[-1])
    return None if output is None else json.dumps(output)


def _ts(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(secs))}.{frac:09d}"


class PlaygroundController(Controller):
    """Replays of LLM calls from the console, made by the collector with the server's key."""

    path = "/api/playground"
    exception_handlers = HANDLERS
    before_request = reject_unknown_parameters
    tags = ["playground"]

    @get("/config", sync_to_thread=False)
    def config(self, request: Request[Any, Any, Any]) -> PlaygroundConfig:
        """Whether an endpoint is configured (``SPYGLASS_PLAYGROUND_BASE_URL``); never the key."""
        s = _settings(request)
        return PlaygroundConfig(configured=bool(s.playground_base_url),
                                base_url=s.playground_base_url or None,
                                default_model=s.playground_model or None)

    @get("/source", sync_to_thread=True)
    def source(self, request: Request[Any, Any, Any], trace_id: FromQuery[str], span_id: FromQuery[str],
               project: FromQuery[str | None] = None) -> PlaygroundSource:
        """The messages, model, parameters and output of a stored span, for the editor."""
        tid = parse_hex_id(trace_id, "trace_id", 32)
        sid = parse_hex_id(span_id, "span_id", 16)
        rows = find_trace_spans(storage_of(request), tid, scoped_project(request, project), SPAN_SELECT)
        span = next((r for r in rows if r["span_id"] == sid), None)
        if span is None:
            raise NotFound(f"no span {sid} in trace {tid}")
        return span_source(span)

    @post("/run", sync_to_thread=True, status_code=200)
    def run(self, request: Request[Any, Any, Any], data: JSONBody[PlaygroundRun]) -> PlaygroundResult:
        """Call the configured endpoint's ``/chat/completions`` with these messages and
        parameters and store the call as a new trace (one ``llm`` span carrying
        ``spyglass.replay.trace_id``/``span_id`` and an OTel link to the original span,
        and the prompt version when ``prompt`` is given). 400 when no endpoint is
        configured; the endpoint's error is returned in ``error`` (and stored)."""
        s = _settings(request)
        if not s.playground_base_url:
            raise ApiError("the playground has no endpoint: start the collector with "
                           "SPYGLASS_PLAYGROUND_BASE_URL (and SPYGLASS_PLAYGROUND_API_KEY)")
        replay = None
        if data.replay_trace_id or data.replay_span_id:
            replay = (parse_hex_id(data.replay_trace_id or "", "replay_trace_id", 32),
                      parse_hex_id(data.replay_span_id or "", "replay_span_id", 16))
        content = _content(data)
        messages = content["messages"]
        params = content.get("params", {})
        model = data.model or s.playground_model or None
        project = scoped_project(request, data.project) or Q.DEFAULT_PROJECT
        body: dict[str, Any] = {"messages": messages, **params}
        if model:
            body["model"] = model
        headers = {"Authorization": f"Bearer {s.playground_api_key}"} if s.playground_api_key else {}
        start = time.time_ns()
        error = None
        reply: dict[str, Any] = {}
        try:
            answer = httpx.post(s.playground_base_url.rstrip("/") + "/chat/completions",
                                json=body, headers=headers, timeout=120.0)
            if answer.status_code >= 400:
                error = f"the endpoint answered HTTP {answer.status_code}: {answer.text[:500]}"
            else:
                reply = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            error = f"could not call the endpoint: {type(exc).__name__}: {exc}"
        end = time.time_ns()
        usage = reply.get("usage") or {}
        input_tokens = int(usage.get("prompt_tokens") or 0)
        output_tokens = int(usage.get("completion_tokens") or 0)
        reply_model = str(reply.get("model") or model or "")
        message = None
        choices = reply.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
        attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: "chat"}
        if replay:
            attrs[A.REPLAY_OF_TRACE_ID], attrs[A.REPLAY_OF_SPAN_ID] = replay
            attrs["otel.links"] = [{"trace_id": replay[0], "span_id": replay[1],
                                    "attributes": {"spyglass.link": "replay_of"}}]
        if data.prompt:
            name, spec = P.split_ref(data.prompt)
            try:
                version = Q.resolve(storage_of(request), project, name, spec, "prompt")
                attrs.update({A.PROMPT_NAME: name, A.PROMPT_VERSION: version.version,
                              A.PROMPT_VERSION_ID: version.version_id})
            except ApiError:
                attrs[A.PROMPT_NAME] = name
        trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
        cost = cost_usd(reply_model, input_tokens, output_tokens) if reply_model else None
        storage_of(request).insert("spans", [{
            "project": project, "trace_id": trace_id, "span_id": span_id, "parent_span_id": "",
            "name": "playground.replay", "kind": "llm", "start_time": _ts(start),
            "end_time": _ts(end), "duration_ms": (end - start) / 1e6,
            "status": "error" if error else "ok", "error": error or "", "model": reply_model,
            "provider": "openai", "input": json.dumps(body), "output": json.dumps(reply) if reply else "",
            "input_tokens": input_tokens, "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens, "cached_tokens": 0, "cost_usd": cost,
            "user_id": "", "session_id": "", "tags": ["playground"], "metadata": "{}",
            "attributes": json.dumps(attrs), "events": "[]",
            "resource": json.dumps({"service.name": "spyglass-playground"}),
            "scope_name": "spyglass.playground", "ttl_days": 0,
        }])
        return PlaygroundResult(
            output=output_text(reply) if reply else None, message=message, model=reply_model or None,
            input_tokens=input_tokens, output_tokens=output_tokens,
            duration_ms=(end - start) / 1e6, trace_id=trace_id, span_id=span_id,
            project=project, error=error)


ROUTES = [PromptsController, PlaygroundController]
