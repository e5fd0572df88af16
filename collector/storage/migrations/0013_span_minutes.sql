-- Per project and minute of span start: how many rows were stored, which distinct spans
-- and traces they are (exact sets of 64-bit hashes), and the first and last span start.
-- Filled by a materialized view on every insert into spans; existing spans are copied in
-- once here (apply migrations before ingest starts: `spyglass serve` does).
-- - /api/projects reads it instead of the spans table (a few rows per minute).
-- - Rollups count every stored row, and spans may be stored twice (an exporter re-sending
--   a batch whose answer it lost, ingest re-writing a span to add its GenAI events) until a
--   merge folds the copies. A minute where `copies` exceeds the distinct spans holds such
--   a copy: readers of the rollups recompute exactly that minute from the spans table
--   (deduplicated) and take every other minute from the rollups (collector/queries/rollups.py).
CREATE TABLE IF NOT EXISTS span_minutes
(
    project     LowCardinality(String),
    minute      DateTime('UTC'),
    copies      SimpleAggregateFunction(sum, UInt64),
    span_keys   AggregateFunction(uniqExact, UInt64),
    trace_keys  AggregateFunction(uniqExact, UInt64),
    first_start SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last_start  SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    ttl_days    SimpleAggregateFunction(max, UInt16)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project, minute)
TTL minute + toIntervalDay(ttl_days) DELETE WHERE ttl_days > 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS span_minutes_mv TO span_minutes AS
SELECT
    project,
    toStartOfMinute(start_time) AS minute,
    count() AS copies,
    uniqExactState(cityHash64(trace_id, span_id)) AS span_keys,
    uniqExactState(cityHash64(trace_id)) AS trace_keys,
    min(start_time) AS first_start,
    max(start_time) AS last_start,
    max(ttl_days) AS ttl_days
FROM spans
GROUP BY project, minute;

INSERT INTO span_minutes
SELECT
    project,
    toStartOfMinute(start_time) AS minute,
    count() AS copies,
    uniqExactState(cityHash64(trace_id, span_id)) AS span_keys,
    uniqExactState(cityHash64(trace_id)) AS trace_keys,
    min(start_time) AS first_start,
    max(start_time) AS last_start,
    max(ttl_days) AS ttl_days
FROM spans
GROUP BY project, minute;
