"""Dataset versions in the store: publish, list, resolve and read.

A version is content-addressed (``common.canonical``): the server recomputes every row
hash and the version id itself and stores each distinct row once. A version id names
exactly one content, so publishing content that already has a version of that name
returns that version (no new number), whatever its key; a version number, once given,
is never given to other content (409 on any attempt).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from litestar import Request

from collector.queries.access import scoped_project
from collector.queries.errors import BadParameter, NotFound
from collector.queries.sql import parse_json_text
from collector.runs.seal import Conflict
from common.canonical import RowError, canonical_json, normalize_row, row_hash, row_ids, version_id
from common.timetext import rfc3339_from_ch
from common.wire.datasets import DatasetPush

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_ROWS = 1_000_000
# Publishing reads the versions and writes the next one; one collector process
# serializes that so two concurrent pushes never both claim vN.
_PUBLISH_LOCK = threading.Lock()
_VERSIONS_SQL = ("SELECT project, name, version, version_id, row_count, row_key, description, "
                 "created_at FROM dataset_versions FINAL")


def check_name(name: Any, field: str = "name") -> str:
    """A dataset name: letters, digits, ``.``, ``_``, ``-`` (no ``:``, which separates
    the version); BadParameter otherwise."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadParameter(field, f"must be 1-200 characters of letters, digits, '.', '_' or '-' "
                                  f"starting with a letter or digit, got {name!r}")
    return name


def created_text(row: dict[str, Any]) -> str:
    """A stored ``created_at`` as RFC 3339 text ('' when absent)."""
    text = str(row.get("created_at") or "")
    return rfc3339_from_ch(text) if text else ""


def _version_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "project": row["project"], "name": row["name"], "version": f"v{int(row['version'])}",
        "number": int(row["version"]), "version_id": row["version_id"],
        "row_count": int(row["row_count"]), "key": row["row_key"] or None,
        "description": row["description"] or None, "created_at": created_text(row),
    }


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
        # The first version with that content: data dirs written before version ids were
        # unique may hold a later duplicate number for the same content.
        hits = [v for v in versions if v["version_id"].startswith(text)]
        if hits:
            return hits[0]
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
            key: str | None, description: str, number: int | None = None,
            ) -> tuple[dict[str, Any], bool]:
    """Store ``rows`` as the next version of ``name`` (or as ``v{number}``) unless some
    version of ``name`` already has this content; returns (version record, created)."""
    hashes = [row_hash(r) for r in rows]
    vid = version_id(hashes)
    with _PUBLISH_LOCK:
        versions = versions_of(storage, project, name)
        same = next((v for v in versions if v["version_id"] == vid), None)
        if number is not None:
            taken = next((v for v in versions if v["number"] == number), None)
            if taken is not None and taken["version_id"] != vid:
                raise Conflict(f"dataset {name!r} v{number} already holds other content (id "
                               f"{taken['version_id']}); versions are never rewritten")
            if same is not None and same["number"] != number:
                raise Conflict(f"this content is already {name}:{same['version']} (id {vid}); "
                               f"it cannot also be v{number}")
            latest = versions[-1]["number"] if versions else 0
            if same is None and number != latest + 1:
                raise BadParameter("version", f"the next version of {name!r} is v{latest + 1}, "
                                              f"not v{number}")
        if same is not None:
            # One content, one version: the key is how rows are paired, not content.
            return same, False
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


def validate_push(body: DatasetPush) -> tuple[str, list[dict[str, Any]], int | None]:
    """(name, normalized rows, requested version number) of a publish body; BadParameter
    names the first problem (a row error names the row index)."""
    name = check_name(body.name)
    if not body.rows:
        raise BadParameter("rows", "must not be empty")
    if len(body.rows) > MAX_ROWS:
        raise BadParameter("rows", f"at most {MAX_ROWS} rows per version")
    if body.project is not None and not body.project.strip():
        raise BadParameter("project", "must be a non-empty string")
    try:
        clean = [normalize_row(r, i) for i, r in enumerate(body.rows)]
        row_ids(clean, [row_hash(r) for r in clean], body.key)
    except RowError as exc:
        raise BadParameter("rows", str(exc)) from None
    number = int(body.version.lstrip("v")) if body.version else None
    if number == 0:
        raise BadParameter("version", "versions start at v1")
    return name, clean, number
