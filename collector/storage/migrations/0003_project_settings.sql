-- Per-project settings; today the retention in days (0 = keep forever).
CREATE TABLE IF NOT EXISTS project_settings
(
    project    String,
    ttl_days   UInt16,
    updated_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY project;
