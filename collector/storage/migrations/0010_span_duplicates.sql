-- Stacked instrumentation (docs/instrumentation.md): a span that describes the same
-- provider call as another span of its trace names that span here. Its tokens and cost
-- are moved into attributes (spyglass.duplicate.*) at ingest so every total counts the
-- call once; '' for every other span. Adding a column upgrades a data dir in place.
ALTER TABLE spans ADD COLUMN IF NOT EXISTS duplicate_of String DEFAULT '' CODEC(ZSTD(1));
