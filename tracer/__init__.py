"""Spyglass tracer: ``@op`` emits OpenTelemetry spans with inputs, outputs, tokens and cost."""
