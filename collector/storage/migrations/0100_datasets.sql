-- Versioned datasets (evals). Rows are content-addressed: a row is stored once per
-- distinct canonical JSON, whatever the dataset or version that holds it. A version is
-- the list of its row hashes; its id is the hash of those row hashes (common/canonical.py).

-- One distinct row: its SHA-256 and canonical JSON text.
CREATE TABLE IF NOT EXISTS dataset_rows
(
    row_hash   String,
    data       String CODEC(ZSTD(3)),
    created_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY row_hash;

-- A named version: name:vN of a project points at a content version id.
CREATE TABLE IF NOT EXISTS dataset_versions
(
    project     LowCardinality(String),
    name        String,
    version     UInt32,
    version_id  String,
    row_count   UInt64,
    row_key     String,
    description String CODEC(ZSTD(3)),
    created_at  DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (project, name, version);

-- The rows of a content version, in the order they were first published.
CREATE TABLE IF NOT EXISTS dataset_version_rows
(
    version_id String,
    idx        UInt32,
    row_hash   String
)
ENGINE = ReplacingMergeTree
ORDER BY (version_id, idx);
