-- Feedback (collector/api/feedback.py): scores, labels and comments on a trace or span,
-- from people (the console), scorers (online monitors) and LLM judges. Ordered for the
-- "scores of NAME in PROJECT over time" charts; a bloom filter finds a trace's feedback.
CREATE TABLE IF NOT EXISTS feedback
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
    INDEX feedback_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
ORDER BY (project, name, created_at, id);
