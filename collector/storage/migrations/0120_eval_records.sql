-- Immutable, verifiable eval runs (issue 11). A run is sealed once its status is
-- complete, partial or failed (runs finished before this migration are sealed too);
-- chain_head is the hash chain head of its rows computed by the collector at the seal
-- (common/records.py), empty for runs sealed before this migration.
ALTER TABLE eval_runs ADD COLUMN IF NOT EXISTS chain_head String DEFAULT '' AFTER comparison;

-- The signed manifest of each sealed run: one entry of its project's append-only log
-- (seq 1, 2, ...; each manifest holds the hash of the one before). Plain MergeTree:
-- entries are only ever appended, never replaced.
CREATE TABLE IF NOT EXISTS eval_manifests
(
    project       LowCardinality(String),
    seq           UInt64,
    run_id        String,
    manifest      String CODEC(ZSTD(3)),
    manifest_hash String,
    signature     String,
    public_key    String,
    key_id        String,
    created_at    DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY (project, seq);
