"""Versioned datasets: ``/api/datasets`` (list, publish), versions, rows and diffs.

A dataset version is content-addressed (``common.canonical``): the server recomputes every
row hash and the version id itself, stores each distinct row once, and publishing the
same rows as the latest version of a name returns that version instead of a new one.
"""

from __future__ import annotations

import re
import threading
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Body, FromPath, FromQuery, Parameter
from litestar.response import Response

from collector.queries.access import scoped_project, storage_of
from collector.queries.errors import EXCEPTION_HANDLERS, ApiError, BadParameter, NotFound
from collector.queries.params import parse_limit
from collector.queries.sql import parse_json_text
from common.canonical import RowError, canonical_json, normalize_row, row_hash, row_ids, version_id
from common.rowdiff import diff_rows
from common.timetext import rfc3339_from_ch

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_ROWS = 1_000_000
MAX_DIFF_ROWS = 200_000
DEFAULT_PROJECT = "default"
# Publishing reads the latest version number and writes the next one; one collector
# process serializes that so two concurrent pushes never both claim vN.
_PUBLISH_LOCK = threading.Lock()


def check_name(name: Any, field: str = "name") -> str:
    """A dataset name: letters, digits, ``.``, ``_``, ``-`` (no ``:``, which separates
    the version); BadParameter otherwise."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadParameter(field, f"must be 1-200 characters of letters, digits, '.', '_' or '-' "
                                  f"starting with a letter or digit, got {name!r}")
    return name


def _created(row: dict[str, Any]) -> str:
    text = str(row.get("created_at") or "")
    return rfc3339_from_ch(text) if text else ""


def _version_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "project": row["project"], "name": row["name"], "version": f"v{int(row['version'])}",
        "number": int(row["version"]), "version_id": row["version_id"],
        "row_count": int(row["row_count"]), "key": row["row_key"] or None,
        "description": row["description"] or None, "created_at": _created(row),
    }


_VERSIONS_SQL = ("SELECT project, name, version, version_id, row_count, row_key, description, "
                 "created_at FROM dataset_versions FINAL")


def dataset_project(request: Request[Any, Any, Any], storage: Any, name: str,
                    project: str | None) -> str:
    """The project holding dataset ``name``: the key's or the given project, else the one
    project that has a dataset by that name (400 when several do, 404 when none)."""
    scoped = scoped_project(request, project)
    if scoped:
        return scoped
    rows = storage.query("SELECT DISTINCT project FROM dataset_versions FINAL "
                         "WHERE name = {name:String} ORDER BY project", {"name": name})
    if not rows:
        raise NotFound(f"no dataset named {name!r}")
    if len(rows) > 1:
        names = ", ".join(r["project"] for r in rows)
        raise BadParameter("project", f"dataset {name!r} exists in projects {names}; pass one")
    return rows[0]["project"]


def versions_of(storage: Any, project: str, name: str) -> list[dict[str, Any]]:
    """Every version of a dataset, oldest first."""
    rows = storage.query(f"{_VERSIONS_SQL} WHERE project = {{project:String}} AND name = "
                         "{name:String} ORDER BY version", {"project": project, "name": name})
    return [_version_out(r) for r in rows]


def resolve_version(storage: Any, project: str, name: str, spec: str,
                    field: str = "version") -> dict[str, Any]:
    """``latest``, ``vN``/``N`` or a version id (or its first 8+ characters) -> the
    version record; 404 naming what is missing."""
    versions = versions_of(storage, project, name)
    if not versions:
        raise NotFound(f"no dataset named {name!r} in project {project!r}")
    text = (spec or "latest").strip().lower()
    if text == "latest":
        return versions[-1]
    match = re.fullmatch(r"v?(\d{1,9})", text)
    if match:
        number = int(match.group(1))
        for v in versions:
            if v["number"] == number:
                return v
        raise NotFound(f"dataset {name!r} has no version v{number} "
                       f"(latest is {versions[-1]['version']})")
    if re.fullmatch(r"[0-9a-f]{8,64}", text):
        hits = [v for v in versions if v["version_id"].startswith(text)]
        if hits:
            return hits[-1]
        raise NotFound(f"dataset {name!r} has no version with id {text}")
    raise BadParameter(field, f"must be latest, vN or a version id, got {spec!r}")


def version_rows(storage: Any, version_id_: str, offset: int = 0,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of a content version in published order."""
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = storage.query(
        "SELECT vr.idx AS idx, r.data AS data FROM "
        "(SELECT idx, row_hash FROM dataset_version_rows FINAL WHERE version_id = {v:String}) AS vr "
        "LEFT JOIN (SELECT row_hash, any(data) AS data FROM dataset_rows WHERE row_hash IN "
        "(SELECT row_hash FROM dataset_version_rows WHERE version_id = {v:String}) "
        "GROUP BY row_hash) AS r ON vr.row_hash = r.row_hash "
        f"ORDER BY idx{page}", {"v": version_id_})
    return [parse_json_text(r["data"]) for r in rows]


def publish(storage: Any, project: str, name: str, rows: list[dict[str, Any]],
            key: str | None, description: str) -> tuple[dict[str, Any], bool]:
    """Store ``rows`` as the next version of ``name`` unless they equal the latest;
    returns (version record, created)."""
    hashes = [row_hash(r) for r in rows]
    vid = version_id(hashes)
    with _PUBLISH_LOCK:
        versions = versions_of(storage, project, name)
        if versions and versions[-1]["version_id"] == vid and (versions[-1]["key"] or None) == key:
            return versions[-1], False
        distinct = sorted(set(hashes))
        known: set[str] = set()
        # Chunked: one parameter holding a million hashes would be a 60+ MB query.
        for start in range(0, len(distinct), 10_000):
            known.update(r["row_hash"] for r in storage.query(
                "SELECT DISTINCT row_hash FROM dataset_rows WHERE row_hash IN {h:Array(String)}",
                {"h": distinct[start:start + 10_000]}))
        fresh: dict[str, str] = {}
        for row, digest in zip(rows, hashes, strict=True):
            if digest not in known and digest not in fresh:
                fresh[digest] = canonical_json(row)
        if fresh:
            storage.insert("dataset_rows", [{"row_hash": h, "data": d} for h, d in fresh.items()])
        if not storage.query("SELECT 1 AS x FROM dataset_version_rows WHERE version_id = "
                             "{v:String} LIMIT 1", {"v": vid}):
            storage.insert("dataset_version_rows",
                           [{"version_id": vid, "idx": i, "row_hash": h} for i, h in enumerate(hashes)])
        number = (versions[-1]["number"] + 1) if versions else 1
        storage.insert("dataset_versions", [{
            "project": project, "name": name, "version": number, "version_id": vid,
            "row_count": len(rows), "row_key": key or "", "description": description,
        }])
    return resolve_version(storage, project, name, f"v{number}"), True


def validate_push(body: Any) -> tuple[str, list[dict[str, Any]], str | None, str, str | None]:
    """(name, rows, key, description, project) from a publish body; BadParameter names
    the first problem (a row error names the row index)."""
    if not isinstance(body, dict):
        raise ApiError("the body must be a JSON object with name and rows")
    unknown = sorted(set(body) - {"name", "rows", "key", "description", "project"})
    if unknown:
        raise BadParameter(unknown[0], "unknown field (known: description, key, name, project, rows)")
    name = check_name(body.get("name"))
    rows = body.get("rows")
    if not isinstance(rows, list):
        raise BadParameter("rows", "is required: a JSON array of objects")
    if not rows:
        raise BadParameter("rows", "must not be empty")
    if len(rows) > MAX_ROWS:
        raise BadParameter("rows", f"at most {MAX_ROWS} rows per version")
    key = body.get("key")
    if key is not None and (not isinstance(key, str) or not key):
        raise BadParameter("key", "must be a non-empty column name")
    description = body.get("description") or ""
    if not isinstance(description, str):
        raise BadParameter("description", "must be a string")
    project = body.get("project")
    if project is not None and (not isinstance(project, str) or not project.strip()):
        raise BadParameter("project", "must be a non-empty string")
    try:
        clean = [normalize_row(r, i) for i, r in enumerate(rows)]
        row_ids(clean, [row_hash(r) for r in clean], key)
    except RowError as exc:
        raise BadParameter("rows", str(exc)) from None
    return name, clean, key, description, project


_PUSH_BODY = Body(description="{name, rows: [objects], key?, description?, project?}")


class DatasetsController(Controller):
    """Datasets and their content-addressed versions."""

    path = "/api/datasets"
    exception_handlers = EXCEPTION_HANDLERS
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
            "versions": int(r["versions"]), "created_at": _created({"created_at": r["first_at"]}),
            "updated_at": _created({"created_at": r["last_at"]}),
        } for r in rows]}

    @post("/", sync_to_thread=True, status_code=201, request_max_body_size=256 * 1024 * 1024)
    def push_dataset(
        self, request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], _PUSH_BODY],
    ) -> Response[dict[str, Any]]:
        """Publish rows as the next version of a dataset. 201 with ``{..version, "created":
        true}`` for a new version; 200 with ``"created": false`` when the rows equal the
        latest version. 400 names the bad field or row."""
        name, rows, key, description, project = validate_push(data)
        project = scoped_project(request, project) or DEFAULT_PROJECT
        record, created = publish(storage_of(request), project, name, rows, key, description)
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
