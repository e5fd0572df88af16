-- Feedback becomes idempotent (issue 15): a client may give an item its own id (monitors
-- derive it from monitor, span and scorer), and re-posting the same id must not add a row.
-- The POST handler skips ids already stored; ReplacingMergeTree keyed by id (not by the
-- creation time, which differs between two posts of the same item) folds the rare race of
-- two concurrent posts, and readers use FINAL. created_at keeps a minmax index for the
-- time-window charts.
CREATE TABLE IF NOT EXISTS feedback_dedup
(
    id           String,
    project      LowCardinality(String),
    trace_id     String,
    span_id      String,
    name         LowCardinality(String),
    value_type   LowCardinality(String),
    value_number Nullable(Float64),
    value_string String CODEC(ZSTD(3)),
    source       LowCardinality(String),
    author       String,
    comment      String CODEC(ZSTD(3)),
    metadata     String CODEC(ZSTD(3)),
    created_at   DateTime64(6, 'UTC'),
    INDEX feedback_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX feedback_created_at created_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (project, name, id);

INSERT INTO feedback_dedup SELECT * FROM feedback;

RENAME TABLE feedback TO feedback_pre_dedup, feedback_dedup TO feedback;

DROP TABLE IF EXISTS feedback_pre_dedup;
