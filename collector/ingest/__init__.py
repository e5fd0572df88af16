"""OTLP ingest: decode requests, normalize every convention to the canonical span record,
and write batches durably."""
