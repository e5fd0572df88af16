"""The collector's HTTP API as ``evals`` uses it: datasets and evaluation runs.

Every call goes over HTTP, whether the collector is a running server or the in-process
one :mod:`evals.backend` starts, so there is one code path for storing results.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from common.canonical import canonical_json
from common.wire.datasets import DatasetPush
from common.wire.evals import FinishIn, ManifestIn, RowIn, RunCreate

T = TypeVar("T")


def as_wire(value: Any, kind: type[T]) -> T:
    """``value`` as the wire Struct ``kind`` (a mapping is converted and checked here, so
    a bad body fails in the client with the field named, before any request)."""
    if isinstance(value, kind):
        return value
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise ApiError(f"invalid {kind.__name__} body: {exc}") from None

#: Rows per ``POST /api/evals/runs/{id}/rows`` request and the byte budget of one request.
ROWS_PER_POST = 200
BYTES_PER_POST = 8 * 1024 * 1024
PAGE = 10_000


class ApiError(RuntimeError):
    """The collector answered with an error (or could not be reached); the message says
    which request and carries the collector's own ``error`` text."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class Client:
    """A thin client of ``/api/datasets`` and ``/api/evals`` at ``base_url``."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, content=msgspec.json.encode(body),
                          headers={"Content-Type": "application/json"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"{method} {self.base_url}{path}: {exc}") from None
        if resp.status_code >= 400:
            try:
                message = resp.json().get("error") or resp.text
            except (ValueError, AttributeError):
                message = resp.text
            raise ApiError(f"{message} ({method} {path} -> {resp.status_code})", resp.status_code)
        return resp.json()

    # -- datasets ----------------------------------------------------------------------

    def push_dataset(self, name: str, rows: list[dict[str, Any]], *, project: str | None,
                     key: str | None = None, description: str | None = None) -> dict[str, Any]:
        """Publish rows; the answer's ``created`` is False when they equal the latest."""
        body = DatasetPush(name=name, rows=rows, project=project or None, key=key or None,
                           description=description or None)
        return self._post("/api/datasets", body)

    def list_datasets(self, project: str | None) -> list[dict[str, Any]]:
        """Every dataset with its latest version."""
        params = {"project": project} if project else {}
        return self._call("GET", "/api/datasets", params=params)["datasets"]

    def dataset_versions(self, name: str, project: str | None) -> dict[str, Any]:
        """``{"project", "name", "versions": [...]}``."""
        params = {"project": project} if project else {}
        return self._call("GET", f"/api/datasets/{quote(name, safe='')}/versions", params=params)

    def dataset_rows(self, name: str, version: str, project: str | None) -> dict[str, Any]:
        """A whole version (paged through): its record plus ``rows`` and ``row_ids``."""
        params: dict[str, Any] = {"limit": PAGE, "offset": 0}
        if project:
            params["project"] = project
        path = f"/api/datasets/{quote(name, safe='')}/versions/{quote(version, safe='')}/rows"
        first = self._call("GET", path, params=params)
        rows, ids = list(first["rows"]), list(first["row_ids"])
        while len(rows) < first["row_count"]:
            # Page by the resolved version id so a concurrent publish cannot shift pages.
            params["offset"] = len(rows)
            page = self._call("GET", f"/api/datasets/{quote(name, safe='')}/versions/"
                                     f"{first['version_id']}/rows",
                              params={**params, "project": first["project"]})
            if not page["rows"]:
                break
            rows.extend(page["rows"])
            ids.extend(page["row_ids"])
        return {**first, "rows": rows, "row_ids": ids}

    def dataset_diff(self, name: str, a: str, b: str, project: str | None,
                     limit: int = 100) -> dict[str, Any]:
        """Rows added/removed/changed from version ``a`` to ``b``."""
        params: dict[str, Any] = {"a": a, "b": b, "limit": limit}
        if project:
            params["project"] = project
        return self._call("GET", f"/api/datasets/{quote(name, safe='')}/diff", params=params)

    # -- runs --------------------------------------------------------------------------

    def create_run(self, run: RunCreate | Mapping[str, Any]) -> dict[str, Any]:
        """Start a run record (409 when its id exists: a run is never replaced)."""
        return self._post("/api/evals/runs", as_wire(run, RunCreate))

    def add_rows(self, run_id: str, rows: list[RowIn] | list[dict[str, Any]]) -> int:
        """Store finished rows, batched by count and size; returns how many were stored
        (409 once the run is finished)."""
        stored = 0
        for batch in _batches([as_wire(r, RowIn) for r in rows]):
            stored += self._call("POST", f"/api/evals/runs/{run_id}/rows",
                                 content=batch, headers={"Content-Type": "application/json"})["inserted"]
        return stored

    def finish_run(self, run_id: str, body: FinishIn | Mapping[str, Any]) -> dict[str, Any]:
        """Finish and seal a run; with ``baseline_run_id`` the answer holds the comparison
        (409 when it was already finished)."""
        return self._post(f"/api/evals/runs/{run_id}/finish",
                          as_wire({k: v for k, v in body.items() if v is not None}
                                  if isinstance(body, Mapping) else body, FinishIn))

    def attach_manifest(self, run_id: str, body: ManifestIn) -> dict[str, Any]:
        """Store a finished run's signed manifest (once; 409 when the log head moved)."""
        return self._post(f"/api/evals/runs/{run_id}/manifest", body)

    def get_manifest(self, run_id: str, project: str | None = None) -> dict[str, Any]:
        """A run's seal as the collector checks it, with its manifest when signed."""
        params = {"project": project} if project else {}
        return self._call("GET", f"/api/evals/runs/{quote(run_id, safe='')}/manifest", params=params)

    def get_log(self, project: str | None = None, *, head_only: bool = False) -> dict[str, Any]:
        """The project's log of signed manifests (``head`` and ``entries``)."""
        params: dict[str, Any] = {"project": project} if project else {}
        if head_only:
            params["head"] = "true"
        return self._call("GET", "/api/evals/log", params=params)

    def all_rows(self, run_id: str, project: str | None = None) -> dict[str, Any]:
        """A run with every row (paged through)."""
        query: dict[str, Any] = {"limit": PAGE, "offset": 0}
        if project:
            query["project"] = project
        first = self._call("GET", f"/api/evals/runs/{quote(run_id, safe='')}", params=query)
        rows = list(first["rows"])
        while len(rows) < first["rows_total"]:
            query["offset"] = len(rows)
            page = self._call("GET", f"/api/evals/runs/{first['run']['run_id']}",
                              params={**query, "project": first["run"]["project"]})
            if not page["rows"]:
                break
            rows.extend(page["rows"])
        return {**first, "rows": rows}

    def list_runs(self, *, project: str | None = None, eval_name: str | None = None,
                  status: str | None = None, dataset_version_id: str | None = None,
                  params: dict[str, Any] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Runs newest first, filtered by whatever is given."""
        query: dict[str, Any] = {"limit": limit}
        for k, v in (("project", project), ("eval", eval_name), ("status", status),
                     ("dataset_version_id", dataset_version_id)):
            if v:
                query[k] = v
        if params is not None:
            query["params"] = canonical_json(params)
        return self._call("GET", "/api/evals/runs", params=query)["runs"]

    def get_run(self, run_id: str, project: str | None = None, limit: int = 100_000) -> dict[str, Any]:
        """A run with summaries and rows."""
        query: dict[str, Any] = {"limit": limit}
        if project:
            query["project"] = project
        return self._call("GET", f"/api/evals/runs/{quote(run_id, safe='')}", params=query)

    def compare(self, a: str, b: str, project: str | None = None, limit: int = 200) -> dict[str, Any]:
        """Run ``b`` compared with baseline ``a``."""
        query: dict[str, Any] = {"a": a, "b": b, "limit": limit}
        if project:
            query["project"] = project
        return self._call("GET", "/api/evals/compare", params=query)

    def get_trace(self, trace_id: str) -> dict[str, Any]:
        """A stored trace with its spans (the collector's query API)."""
        return self._call("GET", f"/api/traces/{trace_id}")


def _batches(rows: list[RowIn]) -> Iterator[bytes]:
    """``{"rows": [...]}`` bodies of at most ROWS_PER_POST rows and about BYTES_PER_POST."""
    chunk: list[bytes] = []
    size = 0
    for row in rows:
        encoded = msgspec.json.encode(row)
        if chunk and (len(chunk) >= ROWS_PER_POST or size + len(encoded) > BYTES_PER_POST):
            yield b'{"rows":[' + b",".join(chunk) + b"]}"
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        yield b'{"rows":[' + b",".join(chunk) + b"]}"
