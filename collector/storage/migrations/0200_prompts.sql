-- Prompts (collector/api/prompts.py). A version is immutable and content-addressed:
-- version_id = SHA-256 of the canonical content (common/prompts.py); (project, name,
-- version_id) is stored once, numbered vN in push order.
CREATE TABLE IF NOT EXISTS prompt_versions
(
    project     LowCardinality(String),
    name        String,
    version     UInt32,
    version_id  String,
    content     String CODEC(ZSTD(3)),
    author      String,
    created_at  DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (project, name, version);

-- Label moves, append-only: the audit log. A label's current version is its latest event.
CREATE TABLE IF NOT EXISTS prompt_label_events
(
    project         LowCardinality(String),
    name            String,
    label           String,
    from_version_id String,
    to_version_id   String,
    author          String,
    at              DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY (project, name, label, at);
