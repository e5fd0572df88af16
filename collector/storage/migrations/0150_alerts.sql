-- Alert rules (collector/api/alerts.py) and their history (collector/alerts/worker.py).
-- A rule is a row per version: an update or a delete inserts a newer version, and readers
-- take the latest (FINAL) that is not deleted.
CREATE TABLE IF NOT EXISTS alert_rules
(
    id         String,
    project    LowCardinality(String),
    body       String CODEC(ZSTD(3)),
    deleted    UInt8 DEFAULT 0,
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

-- fired / resolved, with the value seen and the notification's outcome.
CREATE TABLE IF NOT EXISTS alert_events
(
    alert_id     String,
    project      LowCardinality(String),
    kind         LowCardinality(String),
    at           DateTime64(6, 'UTC'),
    value        Nullable(Float64),
    threshold    Float64,
    notification LowCardinality(String),
    attempts     UInt16,
    detail       String CODEC(ZSTD(3))
)
ENGINE = MergeTree
ORDER BY (alert_id, at);
