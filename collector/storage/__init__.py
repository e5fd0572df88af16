"""Storage: one ClickHouse SQL dialect, two engines (chDB embedded, ClickHouse server)."""
