"""Reading one trace without scanning the spans table.

``trace_index`` (maintained by a materialized view at ingest) maps a trace id to its
project and start-time range; with those, the read of ``spans`` touches only the
granules of that project and those hours (the table is ordered by project, hour, trace).
"""

from __future__ import annotations

from typing import Any


def locate_trace(storage: Any, trace_id: str, project: str | None) -> list[dict[str, Any]]:
    """``[{project, start_min, start_max}]`` for each project holding spans of the trace
    (restricted to ``project`` when given); empty when the trace is unknown."""
    sql = ("SELECT project, toString(min(start_min)) AS start_min, toString(max(start_max)) AS start_max "
           "FROM trace_index WHERE trace_id = {trace_id:String}")
    params: dict[str, Any] = {"trace_id": trace_id}
    if project is not None:
        sql += " AND project = {project:String}"
        params["project"] = project
    sql += " GROUP BY project ORDER BY project"
    return storage.query(sql, params)


def find_trace_spans(storage: Any, trace_id: str, project: str | None, select: str) -> list[dict[str, Any]]:
    """Every span of a trace (deduplicated), ordered by start time; [] when unknown.

    A trace id present in several projects (unusual: propagation across services that
    report to different projects) reads the first project only when none is given."""
    located = locate_trace(storage, trace_id, project)
    if not located:
        return []
    where = located[0]
    # No FINAL (it merges every part of those hours): the trace's few rows are read with
    # the trace id as PREWHERE, so the large text columns are read only for granules
    # holding the trace, and a re-stored copy of a span is folded here, newest first (the
    # copy ReplacingMergeTree keeps).
    return storage.query(
        f"SELECT {select} FROM (SELECT * FROM spans "
        "PREWHERE trace_id = {trace_id:String} "
        "WHERE project = {project:String} "
        "AND start_time >= toDateTime64({start_min:String}, 9, 'UTC') "
        "AND start_time <= toDateTime64({start_max:String}, 9, 'UTC') "
        "ORDER BY ingested_at DESC LIMIT 1 BY span_id) "
        "ORDER BY start_time, span_id",
        {"project": where["project"], "start_min": where["start_min"],
         "start_max": where["start_max"], "trace_id": trace_id},
    )
