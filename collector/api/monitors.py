"""``/api/monitors``: online monitors stored with their project (CRUD). The collector only
stores them; the monitors worker (a ``spyglass.workers`` entry point registered by the
scorers package) reads them and scores spans, so the collector never imports scorers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, delete, post, put
from litestar.params import FromPath, JSONBody

from collector.auth import is_internal, key_project
from collector.queries.access import scoped_project, storage_of
from collector.queries.controller import NamedDependency, QueryController, query_get
from collector.queries.errors import ApiError, BadParameter, NotFound, error_responses
from collector.queries.sql import rfc3339_from_micros, to_ch_time
from common.wire.monitors import (
    FILTER_KEYS,
    MonitorIn,
    MonitorList,
    MonitorOut,
    MonitorStatus,
    MonitorStatusIn,
)

MAX_MONITORS = 200
STALE_AFTER_S = 60.0
"""A running monitor's worker reports every few seconds; older than this, it is ``stale``."""


def _validate(request: Request[Any, Any, Any], body: MonitorIn) -> MonitorIn:
    scoped_project(request, body.project)
    unknown = sorted(set(body.filter) - set(FILTER_KEYS))
    if unknown:
        raise BadParameter("filter", f"unknown keys {unknown}; known: {list(FILTER_KEYS)}")
    for i, spec in enumerate(body.scorers):
        if isinstance(spec, dict) and not isinstance(spec.get("type"), str):
            raise BadParameter(f"scorers[{i}]", "a mapping needs a 'type'")
    return body


def _list(storage: Any, project: str | None = None, monitor_id: str | None = None) -> list[MonitorOut]:
    where, params = ["deleted = 0"], {}
    if project is not None:
        where.append("project = {project:String}")
        params["project"] = project
    if monitor_id is not None:
        where.append("id = {id:String}")
        params["id"] = monitor_id
    rows = storage.query(
        "SELECT id, body, toUnixTimestamp64Micro(created_at) AS created_us FROM monitors FINAL "
        f"WHERE {' AND '.join(where)} ORDER BY created_at, id LIMIT {MAX_MONITORS}", params)
    return [MonitorOut(**msgspec.structs.asdict(msgspec.json.decode(r["body"], type=MonitorIn)), id=r["id"],
                       created_at=rfc3339_from_micros(r["created_us"]) or "") for r in rows]


def _save(storage: Any, body: MonitorIn, monitor_id: str, created: str | None, deleted: bool = False) -> None:
    now = datetime.now(UTC)
    created_at = datetime.fromisoformat(created.replace("Z", "+00:00")) if created else now
    storage.insert("monitors", [{
        "id": monitor_id, "project": body.project, "name": body.name,
        "body": msgspec.json.encode(body).decode(), "deleted": 1 if deleted else 0,
        "created_at": to_ch_time(created_at), "updated_at": to_ch_time(now)}])


def _age_s(rfc3339: str) -> float:
    try:
        return datetime.now(UTC).timestamp() - datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")


def _status(storage: Any, monitor: MonitorOut) -> MonitorStatus:
    rows = storage.query(
        "SELECT body, toUnixTimestamp64Micro(updated_at) AS updated_us FROM monitor_status FINAL "
        "WHERE monitor_id = {id:String} LIMIT 1", {"id": monitor.id})
    report = msgspec.json.decode(rows[0]["body"], type=MonitorStatusIn) if rows else MonitorStatusIn(running=False)
    updated_us = int(rows[0]["updated_us"]) if rows else None
    today = datetime.now(UTC).date().isoformat()
    spent = report.judge_cost_usd_today if report.budget_day == today else 0.0
    budget = monitor.judge_budget_usd_per_day
    exceeded = budget is not None and spent >= budget
    if not monitor.enabled:
        state = "paused"
    elif updated_us is None:
        state = "pending"
    elif not report.running or datetime.now(UTC).timestamp() - updated_us / 1e6 > STALE_AFTER_S:
        state = "stale"
    elif report.last_error_at and _age_s(report.last_error_at) < STALE_AFTER_S:
        state = "error"
    else:
        state = "budget_exceeded" if exceeded else "running"
    fields = msgspec.structs.asdict(report) | {"judge_cost_usd_today": spent, "budget_day": today}
    return MonitorStatus(**fields, monitor_id=monitor.id, project=monitor.project, name=monitor.name,
                         state=state, enabled=monitor.enabled, judge_budget_usd_per_day=budget,
                         budget_exceeded=exceeded, updated_at=rfc3339_from_micros(updated_us))


class MonitorsController(QueryController):
    """Online monitors: score a sample of a project's new spans and store the scores."""

    path = "/api/monitors"
    tags = ["monitors"]

    @query_get("/")
    def list_monitors(self, request: Request[Any, Any, Any],
                      project_scope: NamedDependency[str | None]) -> MonitorList:
        """Every monitor (of ``project`` when given), oldest first."""
        return MonitorList(monitors=_list(storage_of(request), project_scope))

    @post("/", sync_to_thread=True, responses=error_responses(400, 401, 403), status_code=201)
    def create_monitor(self, request: Request[Any, Any, Any], data: JSONBody[MonitorIn]) -> MonitorOut:
        """Create a monitor; the worker picks it up at its next poll and scores spans that
        start from now on. Names are unique per project (409)."""
        body = _validate(request, data)
        storage = storage_of(request)
        existing = _list(storage)
        if len(existing) >= MAX_MONITORS:
            raise ApiError(f"at most {MAX_MONITORS} monitors; delete one first", 409)
        if any(m.project == body.project and m.name == body.name for m in existing):
            raise ApiError(f"project {body.project!r} already has a monitor named {body.name!r}", 409)
        monitor_id = uuid.uuid4().hex
        _save(storage, body, monitor_id, None)
        return _list(storage, monitor_id=monitor_id)[0]

    def _one(self, request: Request[Any, Any, Any], monitor_id: str) -> MonitorOut:
        found = _list(storage_of(request), monitor_id=monitor_id)
        if not found or scoped_project(request, None) not in (None, found[0].project):
            raise NotFound(f"no monitor with id {monitor_id}")
        return found[0]

    @query_get("/{monitor_id:str}", responses=error_responses(401, 403, 404))
    def get_monitor(self, request: Request[Any, Any, Any], monitor_id: FromPath[str]) -> MonitorOut:
        """One monitor."""
        return self._one(request, monitor_id)

    @query_get("/{monitor_id:str}/status", responses=error_responses(401, 403, 404))
    def get_status(self, request: Request[Any, Any, Any], monitor_id: FromPath[str]) -> MonitorStatus:
        """What the collector's monitors worker last reported about a monitor: its counters
        (spans sampled, scores computed and stored, spans dropped from a backlog, judge scores
        skipped over budget, errors), the end of its last poll, today's judge spend against
        its budget, and a ``state`` (see ``MONITOR_STATES`` in common/wire/monitors.py)."""
        return _status(storage_of(request), self._one(request, monitor_id))

    @put("/{monitor_id:str}/status", sync_to_thread=True, responses=error_responses(400, 401, 403, 404))
    def put_status(self, request: Request[Any, Any, Any], monitor_id: FromPath[str],
                   data: JSONBody[MonitorStatusIn]) -> MonitorStatus:
        """The monitors worker's report (internal: while API keys exist only this collector's
        own workers may send it, so a project key cannot forge its counters)."""
        if key_project(request.scope) is not None and not is_internal(request.scope):
            raise ApiError("monitor status is reported by the collector's monitors worker only", 403)
        monitor = self._one(request, monitor_id)
        storage = storage_of(request)
        storage.insert("monitor_status", [{
            "monitor_id": monitor.id, "project": monitor.project,
            "body": msgspec.json.encode(data).decode(), "updated_at": to_ch_time(datetime.now(UTC))}])
        return _status(storage, monitor)

    @put("/{monitor_id:str}", sync_to_thread=True, responses=error_responses(400, 401, 403, 404))
    def update_monitor(self, request: Request[Any, Any, Any], monitor_id: FromPath[str],
                       data: JSONBody[MonitorIn]) -> MonitorOut:
        """Replace a monitor's settings (``enabled: false`` pauses it)."""
        old = self._one(request, monitor_id)
        body = _validate(request, data)
        _save(storage_of(request), body, monitor_id, old.created_at)
        return _list(storage_of(request), monitor_id=monitor_id)[0]

    @delete("/{monitor_id:str}", sync_to_thread=True, responses=error_responses(401, 403, 404), status_code=204)
    def delete_monitor(self, request: Request[Any, Any, Any], monitor_id: FromPath[str]) -> None:
        """Delete a monitor (its scores stay)."""
        old = self._one(request, monitor_id)
        fields = {k: v for k, v in msgspec.structs.asdict(old).items() if k not in ("id", "created_at")}
        _save(storage_of(request), MonitorIn(**fields), monitor_id, old.created_at, deleted=True)


ROUTES = [MonitorsController]
