-- Migration 0002 created the trace index and its view but never indexed the spans stored
-- before it: on a data dir older than 0002 those traces answered 404 (found by the
-- upgrade test, tests/collector/test_migration_upgrades.py). Index every trace the index
-- lacks; min/max aggregates make a second row for a trace harmless anyway.
INSERT INTO trace_index
SELECT
    trace_id,
    project,
    min(start_time) AS start_min,
    max(start_time) AS start_max,
    max(ttl_days) AS ttl_days
FROM spans
WHERE (project, trace_id) NOT IN (SELECT project, trace_id FROM trace_index)
GROUP BY trace_id, project;
