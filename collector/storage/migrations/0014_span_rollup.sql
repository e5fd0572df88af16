-- Dashboard rollup: per project, minute of span start, name, kind, model, provider and
-- status, the span count, errors, distinct traces (exact), latency quantile state
-- (t-digest: mergeable across minutes and groups), tokens and cost, of the spans that are
-- not a stacked-instrumentation duplicate (duplicate_of = '', as /api/stats counts).
-- /api/stats reads it for whole minutes (collector/queries/rollups.py); span_minutes
-- tells which minutes hold a re-sent copy and must be recomputed from spans instead.
-- Filled by a materialized view on every insert; existing spans are copied in once here.
CREATE TABLE IF NOT EXISTS span_rollup
(
    project       LowCardinality(String),
    minute        DateTime('UTC'),
    name          LowCardinality(String),
    kind          LowCardinality(String),
    model         LowCardinality(String),
    provider      LowCardinality(String),
    status        LowCardinality(String),
    spans         SimpleAggregateFunction(sum, UInt64),
    errors        SimpleAggregateFunction(sum, UInt64),
    trace_keys    AggregateFunction(uniqExact, UInt64),
    latency       AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64),
    input_tokens  SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    total_tokens  SimpleAggregateFunction(sum, UInt64),
    cost_usd      SimpleAggregateFunction(sum, Float64),
    ttl_days      SimpleAggregateFunction(max, UInt16)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project, minute, name, kind, model, provider, status)
TTL minute + toIntervalDay(ttl_days) DELETE WHERE ttl_days > 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS span_rollup_mv TO span_rollup AS
SELECT
    project,
    toStartOfMinute(start_time) AS minute,
    name, kind, model, provider, status,
    count() AS spans,
    countIf(status = 'error') AS errors,
    uniqExactState(cityHash64(trace_id)) AS trace_keys,
    quantilesTDigestState(0.5, 0.95, 0.99)(duration_ms) AS latency,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(ifNull(cost_usd, 0)) AS cost_usd,
    max(ttl_days) AS ttl_days
FROM spans
WHERE duplicate_of = ''
GROUP BY project, minute, name, kind, model, provider, status;

INSERT INTO span_rollup
SELECT
    project,
    toStartOfMinute(start_time) AS minute,
    name, kind, model, provider, status,
    count() AS spans,
    countIf(status = 'error') AS errors,
    uniqExactState(cityHash64(trace_id)) AS trace_keys,
    quantilesTDigestState(0.5, 0.95, 0.99)(duration_ms) AS latency,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(ifNull(cost_usd, 0)) AS cost_usd,
    max(ttl_days) AS ttl_days
FROM spans
WHERE duplicate_of = ''
GROUP BY project, minute, name, kind, model, provider, status;
