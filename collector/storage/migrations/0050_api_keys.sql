-- API keys (collector/auth.py). Only a key's id (for lookup) and the SHA-256 of the whole
-- key are stored. Revoking inserts a newer version of the row with revoked_at set;
-- readers use FINAL to see the latest version of each key.
CREATE TABLE IF NOT EXISTS api_keys
(
    key_id     String,
    project    String,
    key_hash   String,
    name       String,
    created_at DateTime64(3, 'UTC'),
    revoked_at Nullable(DateTime64(3, 'UTC')),
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key_id;
