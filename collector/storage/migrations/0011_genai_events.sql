-- GenAI message events received as OTLP log records (POST /v1/logs, gRPC LogsService):
-- one row per message, keyed by the span it belongs to. Ingest merges them into the
-- span's input/output, whichever of the two arrives first (collector/ingest/logs.py).
CREATE TABLE IF NOT EXISTS genai_events
(
    project     LowCardinality(String),
    trace_id    String,
    span_id     String,
    time_ns     UInt64,
    seq         UInt32,
    direction   LowCardinality(String),
    message     String CODEC(ZSTD(3)),
    ingested_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY (trace_id, span_id, time_ns, seq)
TTL toDateTime(ingested_at) + toIntervalDay(30) DELETE;
