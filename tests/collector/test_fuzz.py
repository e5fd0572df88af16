"""A seeded, bounded fuzz run (issue 12): random, truncated and bit-flipped protobuf,
wrong-typed and deeply nested JSON, huge values, bad UTF-8, bad times and ids, every
content type and encoding; then every ``/api/*`` route from ``/schema`` with hostile query
parameters, path segments and bodies. 0 answers of 500 or more; every error is a one-line
JSON (or protobuf Status) body. ``benchmarks/fuzz.py`` runs the same at 20,000 bodies."""

from __future__ import annotations

import httpx
from fuzzing import fuzz

INGEST_BODIES = 400
API_REQUESTS = 600


def test_fuzzed_ingest_and_api_answer_no_5xx(collector):
    report = fuzz(collector.url, INGEST_BODIES, API_REQUESTS, seed=12)
    assert report.sent >= INGEST_BODIES + API_REQUESTS * 0.9
    assert report.failures == [], "\n".join(report.failures[:20])
    assert report.server_errors == 0
    # The collector still serves afterwards.
    assert httpx.get(f"{collector.url}/healthz").status_code == 200
