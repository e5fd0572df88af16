"""The Spyglass collector: OTLP/HTTP ingest into ClickHouse and the query API."""
