-- Online monitors stored with their project (collector/api/monitors.py), run by the monitors
-- worker. A version per row, as alert_rules: updates and deletes insert newer versions.
CREATE TABLE IF NOT EXISTS monitors
(
    id         String,
    project    LowCardinality(String),
    name       String,
    body       String CODEC(ZSTD(3)),
    deleted    UInt8 DEFAULT 0,
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;
