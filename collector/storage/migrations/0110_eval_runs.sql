-- Evaluation runs, their rows, per-row scores and per-scorer summaries (evals).
-- Every table is a ReplacingMergeTree keyed so that re-sending a batch, or updating a
-- run when it finishes, keeps one copy; readers use FINAL.

CREATE TABLE IF NOT EXISTS eval_runs
(
    project            LowCardinality(String),
    run_id             String,
    suite              String,
    eval_name          String,
    params             String CODEC(ZSTD(3)),
    dataset_name       String,
    dataset_version    String,
    dataset_version_id String,
    dataset_rows       UInt64,
    git_commit         String,
    git_dirty          Nullable(UInt8),
    code_fingerprint   String CODEC(ZSTD(3)),
    status             LowCardinality(String),
    started_at         DateTime64(6, 'UTC'),
    ended_at           Nullable(DateTime64(6, 'UTC')),
    row_limit          Nullable(UInt64),
    concurrency        UInt32,
    baseline_run_id    String,
    stats              String CODEC(ZSTD(3)),
    comparison         String CODEC(ZSTD(3)),
    updated_at         DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (project, run_id);

CREATE TABLE IF NOT EXISTS eval_rows
(
    project         LowCardinality(String),
    run_id          String,
    row_index       UInt32,
    row_id          String,
    row_data        String CODEC(ZSTD(3)),
    inputs          String CODEC(ZSTD(3)),
    output          String CODEC(ZSTD(3)),
    status          LowCardinality(String),
    error           String CODEC(ZSTD(3)),
    error_type      String,
    attempts        UInt16,
    latency_ms      Float64,
    input_tokens    UInt64,
    output_tokens   UInt64,
    total_tokens    UInt64,
    cost_usd        Nullable(Float64),
    scorer_cost_usd Nullable(Float64),
    trace_id        String,
    span_id         String,
    started_at      DateTime64(6, 'UTC'),
    inserted_at     DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY (project, run_id, row_index);

CREATE TABLE IF NOT EXISTS eval_scores
(
    project     LowCardinality(String),
    run_id      String,
    row_index   UInt32,
    row_id      String,
    scorer      String,
    value_type  LowCardinality(String),
    value_num   Nullable(Float64),
    value_label String,
    passed      Nullable(UInt8),
    reason      String CODEC(ZSTD(3)),
    metadata    String CODEC(ZSTD(3)),
    error       String CODEC(ZSTD(3)),
    inserted_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY (project, run_id, row_index, scorer);

CREATE TABLE IF NOT EXISTS eval_summaries
(
    project          LowCardinality(String),
    run_id           String,
    scorer           String,
    kind             LowCardinality(String),
    higher_is_better UInt8,
    n                UInt64,
    mean             Nullable(Float64),
    ci_low           Nullable(Float64),
    ci_high          Nullable(Float64),
    pass_rate        Nullable(Float64),
    missing          UInt64,
    errors           UInt64,
    min_delta        Float64,
    alpha            Float64,
    summary          String CODEC(ZSTD(3)),
    inserted_at      DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY (project, run_id, scorer);
