-- The canonical span record (docs/internals.md). One row per span; a re-sent span has the
-- same sorting key, so ReplacingMergeTree keeps only the newest copy (by ingested_at).
-- Readers deduplicate with FINAL (or LIMIT 1 BY project, trace_id, span_id) until merges
-- have collapsed the copies.
CREATE TABLE IF NOT EXISTS spans
(
    project        LowCardinality(String),
    trace_id       String CODEC(ZSTD(1)),
    span_id        String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    name           LowCardinality(String),
    kind           LowCardinality(String),
    start_time     DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    end_time       DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    duration_ms    Float64 CODEC(ZSTD(1)),
    status         LowCardinality(String),
    error          String CODEC(ZSTD(3)),
    model          LowCardinality(String),
    provider       LowCardinality(String),
    input          String CODEC(ZSTD(3)),
    output         String CODEC(ZSTD(3)),
    input_tokens   UInt64 CODEC(T64, ZSTD(1)),
    output_tokens  UInt64 CODEC(T64, ZSTD(1)),
    total_tokens   UInt64 CODEC(T64, ZSTD(1)),
    cached_tokens  UInt64 CODEC(T64, ZSTD(1)),
    cost_usd       Nullable(Float64) CODEC(ZSTD(1)),
    user_id        String CODEC(ZSTD(1)),
    session_id     String CODEC(ZSTD(1)),
    tags           Array(LowCardinality(String)),
    metadata       String CODEC(ZSTD(3)),
    attributes     String CODEC(ZSTD(3)),
    events         String CODEC(ZSTD(3)),
    resource       String CODEC(ZSTD(3)),
    scope_name     LowCardinality(String),
    -- Days to keep this span (0 = forever), stamped at ingest from project_settings.
    ttl_days       UInt16,
    ingested_at    DateTime64(6, 'UTC') DEFAULT now64(6) CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(start_time)
ORDER BY (project, toStartOfHour(start_time), trace_id, span_id)
TTL toDateTime(start_time) + toIntervalDay(ttl_days) DELETE WHERE ttl_days > 0
SETTINGS index_granularity = 8192;
