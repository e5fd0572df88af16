"""Many query-API requests at once, while spans keep arriving: every answer must be the
one asked for (parameters of concurrent queries never mix) and nothing may fail."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from test_api_support import MINUTE, S, now_ns, send


def test_concurrent_queries_during_ingest(spyglass_server) -> None:
    url = spyglass_server.url
    projects = [f"api-conc-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    base = now_ns() - 10 * MINUTE
    expected = {}
    for n, project in enumerate(projects):
        ids = send(url, project, [(base + i * 1000, S(f"root-{n}", children=[
            S("chat", kind="llm", model=f"model-{n}", in_tok=n + 1)])) for i in range(n + 2)])
        expected[project] = set(ids)

    stop = threading.Event()

    def keep_sending() -> None:
        extra = f"api-conc-noise-{uuid.uuid4().hex[:6]}"
        while not stop.is_set():
            send(url, extra, [(now_ns(), S("noise"))])

    def check(i: int) -> None:
        n = i % len(projects)
        project = projects[n]
        with httpx.Client(base_url=url, timeout=60) as client:
            traces = client.get("/api/traces", params={"project": project}).json()["traces"]
            assert {t["trace_id"] for t in traces} == expected[project]
            assert {t["root_name"] for t in traces} == {f"root-{n}"}
            stats = client.get("/api/stats", params={"project": project, "since": "-1h",
                                                     "kind": "llm"}).json()
            assert stats["totals"]["count"] == n + 2
            assert stats["totals"]["input_tokens"] == (n + 1) * (n + 2)
            values = client.get("/api/values/model", params={"project": project}).json()
            assert [v["value"] for v in values["values"]] == [f"model-{n}"]
            some = next(iter(expected[project]))
            detail = client.get(f"/api/traces/{some}").json()
            assert detail["project"] == project and len(detail["spans"]) == 2
            spans = client.get("/api/spans", params={"project": project, "kind": "llm"}).json()
            assert {s["model"] for s in spans["spans"]} == {f"model-{n}"}

    sender = threading.Thread(target=keep_sending, daemon=True)
    sender.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            for future in [pool.submit(check, i) for i in range(24)]:
                future.result()
    finally:
        stop.set()
        sender.join(timeout=60)
