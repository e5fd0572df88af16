-- Trace-id lookup: trace id -> project and start-time range, filled by a materialized
-- view on every insert into spans. Fetching a trace reads this (sorted by trace_id) and
-- then only the spans granules of that project and time range, never the whole table.
CREATE TABLE IF NOT EXISTS trace_index
(
    trace_id   String,
    project    LowCardinality(String),
    start_min  SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    start_max  SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    ttl_days   SimpleAggregateFunction(max, UInt16)
)
ENGINE = AggregatingMergeTree
ORDER BY (trace_id, project)
TTL toDateTime(start_max) + toIntervalDay(ttl_days) DELETE WHERE ttl_days > 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS trace_index_mv TO trace_index AS
SELECT
    trace_id,
    project,
    min(start_time) AS start_min,
    max(start_time) AS start_max,
    max(ttl_days) AS ttl_days
FROM spans
GROUP BY trace_id, project;
