-- What the collector's monitors worker reports per monitor (collector/api/monitors.py,
-- PUT/GET /api/monitors/{id}/status): counters, last run, the judge spend of the UTC day.
-- One row per report; readers take the latest (FINAL). The day's spend survives a restart
-- of the worker through it, so a crash does not reset a monitor's judge budget.
CREATE TABLE IF NOT EXISTS monitor_status
(
    monitor_id String,
    project    LowCardinality(String),
    body       String CODEC(ZSTD(3)),
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY monitor_id;
