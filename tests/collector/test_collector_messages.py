"""Trace list Model column and `spyglass keys list` layout (issue 12)."""

from __future__ import annotations

import httpx
from test_api_support import MINUTE, S, now_ns, send

from collector.cli_keys import format_table


def test_trace_list_model_is_the_most_used_llm_model(spyglass_server, project):
    base = now_ns() - 5 * MINUTE
    send(spyglass_server.url, project, [(base, S("agent", kind="agent", dur_ms=50, children=[
        S("embed", kind="embedding", at_ms=1, dur_ms=1, model="text-embedding-3-small"),
        S("embed", kind="embedding", at_ms=2, dur_ms=1, model="text-embedding-3-small"),
        S("embed", kind="embedding", at_ms=3, dur_ms=1, model="text-embedding-3-small"),
        S("chat", kind="llm", at_ms=4, dur_ms=1, model="gpt-4o-mini"),
        S("chat", kind="llm", at_ms=5, dur_ms=1, model="gpt-4o"),
        S("chat", kind="llm", at_ms=6, dur_ms=1, model="gpt-4o"),
    ]))])
    send(spyglass_server.url, project, [(base + MINUTE, S("embed-only", kind="chain", dur_ms=5,
        children=[S("embed", kind="embedding", at_ms=1, dur_ms=1, model="text-embedding-3-large")]))])
    traces = httpx.get(f"{spyglass_server.url}/api/traces", params={"project": project}).json()["traces"]
    by_root = {t["root_name"]: t for t in traces}
    assert by_root["agent"]["model"] == "gpt-4o"
    assert by_root["agent"]["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert by_root["embed-only"]["models"] == ["text-embedding-3-large"]


def test_keys_table_columns_never_run_together():
    header = ("KEY ID", "PROJECT", "STATUS", "CREATED", "NAME")
    rows = [("0123456789ab", "a-project-name-longer-than-twenty-four", "active",
             "2026-12-02T03:45:12.123456789Z", "prod ingest"),
            ("ba9876543210", "p", "revoked", "2026-12-02T03:45:12Z", "")]
    lines = format_table(header, rows).splitlines()
    assert len(lines) == 3
    created = lines[0].index("CREATED")
    name = lines[0].index("NAME")
    for line in lines[1:]:
        # Every cell starts where its header starts, after at least two spaces.
        assert line[created - 2:created] == "  " and line[created] != " "
    assert lines[1][name - 2:name] == "  " and lines[1][name:] == "prod ingest"
    assert lines[1].split("  ")[0] == "0123456789ab"
    assert lines[1].endswith("  prod ingest")
