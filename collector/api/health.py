"""``GET /healthz``: is the collector up and its storage reachable."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Response

from collector.storage import StorageError


@get("/healthz", sync_to_thread=True, summary="Health and storage reachability")
def healthz(request: Request) -> Response[dict]:
    """200 ``{"status": "ok", "storage": ENGINE}`` when a trivial storage query answers,
    503 ``{"error": …}`` naming the storage problem otherwise."""
    storage = request.app.state.storage
    try:
        storage.ping()
    except StorageError as exc:
        return Response({"error": f"storage unreachable: {exc}", "status": "unavailable"},
                        status_code=503)
    writer = getattr(request.app.state, "writer", None)
    body = {"status": "ok", "storage": storage.engine}
    if writer is not None:
        body["pending_spans"] = writer.pending_spans
    return Response(body, status_code=200)


ROUTES = [healthz]
