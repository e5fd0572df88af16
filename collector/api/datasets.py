"""Versioned datasets: ``/api/datasets`` (list, publish), versions, rows and diffs.

A dataset version is content-addressed (``common.canonical``): the server recomputes every
row hash and the version id itself, stores each distinct row once, and publishing content
that already has a version of a name returns that version instead of a new one (see
``collector.datasets.store``); the body is ``common.wire.datasets.DatasetPush``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Response

from collector.datasets.store import (
    check_name,
    created_text,
    dataset_project,
    publish,
    resolve_version,
    validate_push,
    version_rows,
    versions_of,
)
from collector.queries.access import scoped_project, storage_of
from collector.queries.body import BODY_EXCEPTION_HANDLERS
from collector.queries.errors import BadParameter, NotFound
from collector.queries.params import parse_limit
from common.canonical import row_hash, row_ids
from common.rowdiff import diff_rows
from common.wire.datasets import DatasetPush

MAX_DIFF_ROWS = 200_000
DEFAULT_PROJECT = "default"


class DatasetsController(Controller):
    """Datasets and their content-addressed versions."""

    path = "/api/datasets"
    exception_handlers = BODY_EXCEPTION_HANDLERS
    tags = ["datasets"]

    @get("/", sync_to_thread=True)
    def list_datasets(self, request: Request[Any, Any, Any],
                      project: FromQuery[str | None] = None) -> dict[str, Any]:
        """Every dataset (of ``project`` when given) with its latest version:
        ``{"datasets": [{project, name, latest, version_id, row_count, versions,
        created_at, updated_at}]}``, by name."""
        scoped = scoped_project(request, project)
        where, params = ("WHERE project = {project:String}", {"project": scoped}) if scoped else ("", {})
        rows = storage_of(request).query(
            "SELECT project, name, max(version) AS latest, argMax(version_id, version) AS version_id, "
            "argMax(row_count, version) AS row_count, count() AS versions, "
            "min(created_at) AS first_at, max(created_at) AS last_at "
            f"FROM dataset_versions FINAL {where} GROUP BY project, name ORDER BY name, project", params)
        return {"datasets": [{
            "project": r["project"], "name": r["name"], "latest": f"v{int(r['latest'])}",
            "version_id": r["version_id"], "row_count": int(r["row_count"]),
            "versions": int(r["versions"]), "created_at": created_text({"created_at": r["first_at"]}),
            "updated_at": created_text({"created_at": r["last_at"]}),
        } for r in rows]}

    @post("/", sync_to_thread=True, status_code=201, request_max_body_size=256 * 1024 * 1024)
    def push_dataset(
        self, request: Request[Any, Any, Any],
        data: JSONBody[DatasetPush],
    ) -> Response[dict[str, Any]]:
        """Publish rows as the next version of a dataset. 201 with ``{..version, "created":
        true}`` for a new version; 200 with ``"created": false`` when some version of the
        dataset already has this content (whatever ``key``). 400 names the bad field or
        row; 409 when ``version`` names a number that holds other content."""
        name, rows, number = validate_push(data)
        project = scoped_project(request, data.project) or DEFAULT_PROJECT
        record, created = publish(storage_of(request), project, name, rows, data.key,
                                  data.description or "", number)
        return Response({**record, "created": created}, status_code=201 if created else 200)

    @get("/{name:str}/versions", sync_to_thread=True)
    def list_versions(self, request: Request[Any, Any, Any], name: FromPath[str],
                      project: FromQuery[str | None] = None) -> dict[str, Any]:
        """``{"project", "name", "versions": [{version, number, version_id, row_count, key,
        description, created_at}]}`` oldest first; 404 for an unknown dataset."""
        storage = storage_of(request)
        project = dataset_project(request, storage, check_name(name), project)
        versions = versions_of(storage, project, name)
        if not versions:
            raise NotFound(f"no dataset named {name!r} in project {project!r}")
        return {"project": project, "name": name, "versions": versions}

    @get("/{name:str}/versions/{version:str}/rows", sync_to_thread=True)
    def get_rows(
        self, request: Request[Any, Any, Any], name: FromPath[str], version: FromPath[str],
        project: FromQuery[str | None] = None,
        offset: int = Parameter(default=0, ge=0),
        limit: int | None = Parameter(default=None, description="1-100000, default 1000"),
    ) -> dict[str, Any]:
        """One version's rows in order: ``{..version record, "offset", "rows": [...],
        "row_ids": [...]}``. ``version`` is ``latest``, ``vN`` or a version id."""
        storage = storage_of(request)
        project = dataset_project(request, storage, check_name(name), project)
        record = resolve_version(storage, project, name, version)
        page = parse_limit(limit, 1000, 100_000)
        rows = version_rows(storage, record["version_id"], offset, page)
        key = record["key"]
        if key or (offset == 0 and len(rows) == record["row_count"]):
            ids = row_ids(rows, [row_hash(r) for r in rows], key)
        else:
            # A content id depends on the rows before it (a repeated row gets #2, #3): count
            # over every hash of the version (hashes only, not row data) and slice.
            hashes = [r["row_hash"] for r in storage.query(
                "SELECT row_hash FROM dataset_version_rows FINAL WHERE version_id = {v:String} "
                "ORDER BY idx", {"v": record["version_id"]})]
            ids = row_ids([{}] * len(hashes), hashes, None)[offset:offset + len(rows)]
        return {**record, "offset": offset, "rows": rows, "row_ids": ids}

    @get("/{name:str}/diff", sync_to_thread=True)
    def diff(
        self, request: Request[Any, Any, Any], name: FromPath[str],
        a: str = Parameter(description="the older version: vN, latest or a version id"),
        b: str = Parameter(description="the newer version"),
        project: FromQuery[str | None] = None,
        limit: int | None = Parameter(default=None, description="rows listed per kind, default 100"),
    ) -> dict[str, Any]:
        """Rows added, removed and changed from version ``a`` to ``b``: by the dataset's
        row key when it has one (a changed row has the same key, different content), else
        by content. ``{"a", "b", "key", "counts": {added, removed, changed, unchanged},
        "added", "removed", "changed"}``; lists hold at most ``limit`` rows each."""
        storage = storage_of(request)
        project = dataset_project(request, storage, check_name(name), project)
        va = resolve_version(storage, project, name, a, "a")
        vb = resolve_version(storage, project, name, b, "b")
        if max(va["row_count"], vb["row_count"]) > MAX_DIFF_ROWS:
            raise BadParameter("a", f"diff is limited to versions of at most {MAX_DIFF_ROWS} rows")
        page = parse_limit(limit, 100, 100_000)
        result = diff_rows(version_rows(storage, va["version_id"]),
                           version_rows(storage, vb["version_id"]), key=vb["key"] or va["key"])
        return {
            "project": project, "name": name, "a": va, "b": vb, "key": result.key,
            "counts": {"added": len(result.added), "removed": len(result.removed),
                       "changed": len(result.changed), "unchanged": result.unchanged},
            "added": result.added[:page], "removed": result.removed[:page],
            "changed": result.changed[:page],
        }


ROUTES = [DatasetsController]
