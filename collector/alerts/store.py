"""Alert rules and events in ClickHouse (tables of migration 0150)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from collector.queries.sql import rfc3339_from_micros, to_ch_time
from collector.storage import Storage
from common.wire.alerts import AlertEvent, AlertRule, AlertRuleIn

MAX_RULES = 500
"""Most rules the collector keeps and evaluates (the worker's bound)."""


def _rule_of(row: dict[str, Any]) -> AlertRule:
    body = msgspec.json.decode(row["body"], type=AlertRuleIn)
    return AlertRule(**msgspec.structs.asdict(body), id=row["id"],
                     created_at=rfc3339_from_micros(row["created_us"]) or "")


def list_rules(storage: Storage, project: str | None = None, rule_id: str | None = None) -> list[AlertRule]:
    """Live rules (not deleted), newest first, with their current state."""
    where, params = ["deleted = 0"], {}
    if project is not None:
        where.append("project = {project:String}")
        params["project"] = project
    if rule_id is not None:
        where.append("id = {id:String}")
        params["id"] = rule_id
    rows = storage.query(
        "SELECT id, body, toUnixTimestamp64Micro(created_at) AS created_us FROM alert_rules FINAL "
        f"WHERE {' AND '.join(where)} ORDER BY created_at DESC, id LIMIT {MAX_RULES}", params)
    rules = [_rule_of(r) for r in rows]
    states = last_events(storage, [r.id for r in rules])
    for rule in rules:
        last = states.get(rule.id)
        rule.state = "firing" if last and last["kind"] == "fired" else "ok"
    return rules


def count_rules(storage: Storage) -> int:
    return int(storage.query("SELECT count() AS n FROM alert_rules FINAL WHERE deleted = 0")[0]["n"])


def save_rule(storage: Storage, body: AlertRuleIn, rule_id: str | None = None,
              created_at: datetime | None = None, deleted: bool = False) -> str:
    """Insert a (new version of a) rule; its id."""
    now = datetime.now(UTC)
    rule_id = rule_id or uuid.uuid4().hex
    storage.insert("alert_rules", [{
        "id": rule_id, "project": body.project, "body": msgspec.json.encode(body).decode(),
        "deleted": 1 if deleted else 0, "created_at": to_ch_time(created_at or now),
        "updated_at": to_ch_time(now)}])
    return rule_id


def created_of(storage: Storage, rule_id: str) -> datetime | None:
    rows = storage.query("SELECT toUnixTimestamp64Micro(created_at) AS us FROM alert_rules FINAL "
                         "WHERE id = {id:String} AND deleted = 0", {"id": rule_id})
    return datetime.fromtimestamp(int(rows[0]["us"]) / 1e6, UTC) if rows else None


def last_events(storage: Storage, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The latest fired/resolved event of each rule in ``ids``: kind and time (epoch s)."""
    if not ids:
        return {}
    rows = storage.query(
        "SELECT alert_id, argMax(kind, at) AS last_kind, toUnixTimestamp64Micro(max(at)) AS at_us, "
        "toUnixTimestamp64Micro(maxIf(at, kind = 'fired')) AS fired_us FROM alert_events "
        "WHERE alert_id IN {ids:Array(String)} GROUP BY alert_id", {"ids": ids})
    return {r["alert_id"]: {"kind": r["last_kind"], "at": int(r["at_us"]) / 1e6,
                            "fired_at": int(r["fired_us"]) / 1e6} for r in rows}


def add_event(storage: Storage, rule: AlertRule, kind: str, value: float | None, notification: str,
              attempts: int, detail: str, at: datetime | None = None) -> None:
    storage.insert("alert_events", [{
        "alert_id": rule.id, "project": rule.project, "kind": kind,
        "at": to_ch_time(at or datetime.now(UTC)), "value": value, "threshold": rule.threshold,
        "notification": notification, "attempts": attempts, "detail": detail[:2000]}])


def history(storage: Storage, rule_id: str, limit: int = 200) -> list[AlertEvent]:
    rows = storage.query(
        "SELECT alert_id, kind, toUnixTimestamp64Micro(at) AS at_us, value, threshold, notification, "
        "attempts, detail FROM alert_events WHERE alert_id = {id:String} ORDER BY at DESC "
        f"LIMIT {int(limit)}", {"id": rule_id})
    return [AlertEvent(alert_id=r["alert_id"], kind=r["kind"], at=rfc3339_from_micros(r["at_us"]) or "",
                       value=None if r["value"] is None else float(r["value"]),
                       threshold=float(r["threshold"]), notification=r["notification"],
                       attempts=int(r["attempts"]), detail=r["detail"]) for r in rows]
