"""Sealing: a finished run never changes, its signed manifest is stored once, and the
manifests of a project form an append-only log.

Why a lock, and its limits: appending rows and finishing a run both read the run's status
and write in one critical section under a per-run lock, so within one collector process a
row can never land after the seal. Several collectors writing to one ClickHouse do not
share these locks; there a row racing the seal could still be stored, but it is then
outside the chain head computed at the seal (and signed by the client), so ``evals verify``
reports the run as altered. The project log's lock is per process for the same reason:
two collectors signing runs of one project at the same instant could both claim a seq;
the second manifest then fails ``evals verify --project`` instead of passing silently.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from collector.queries.errors import ApiError, BadParameter
from collector.queries.sql import parse_json_text
from collector.runs.store import read_rows, read_summaries
from common import records
from common.wire.evals import ManifestIn

FINAL_STATUSES = ("complete", "partial", "failed")
_RUN_LOCKS = [threading.Lock() for _ in range(64)]
_LOG_LOCK = threading.Lock()
_MANIFEST_COLUMNS = "project, seq, run_id, manifest, manifest_hash, signature, public_key, key_id"


class Conflict(ApiError):
    """A write the record forbids (409): a sealed run, an existing id, a moved log head."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 409)


def run_lock(run_id: str) -> threading.Lock:
    """The lock serializing writes to one run (striped: 64 locks for every run)."""
    return _RUN_LOCKS[int(run_id[:8], 16) % len(_RUN_LOCKS)]


def ensure_open(run: dict[str, Any], action: str) -> None:
    """Conflict when ``run`` is finished: its rows and summaries are sealed."""
    if run["status"] in FINAL_STATUSES:
        ended = str(run.get("ended_at") or "").replace(" ", "T")
        raise Conflict(f"run {run['run_id']} is sealed ({run['status']}"
                       f"{' at ' + ended + 'Z' if ended else ''}): cannot {action}; a finished "
                       "run's rows and summaries never change, start a new run instead")


def stored_records(storage: Any, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's stored rows as hashed records, in run order."""
    return records.sorted_records(read_rows(storage, run["project"], run["run_id"]))


def stored_head(storage: Any, run: dict[str, Any]) -> tuple[str, int]:
    """(chain head, row count) of the run's stored rows."""
    recs = stored_records(storage, run)
    return records.chain_head(run["run_id"], recs), len(recs)


def log_head(storage: Any, project: str) -> dict[str, Any]:
    """``{"project", "seq", "manifest_hash", "run_id"}`` of the project's last manifest
    (seq 0 and the genesis hash when none)."""
    rows = storage.query("SELECT seq, manifest_hash, run_id FROM eval_manifests WHERE project = "
                         "{p:String} ORDER BY seq DESC LIMIT 1", {"p": project})
    if not rows:
        return {"project": project, "seq": 0, "manifest_hash": records.LOG_GENESIS, "run_id": None}
    return {"project": project, "seq": int(rows[0]["seq"]),
            "manifest_hash": rows[0]["manifest_hash"], "run_id": rows[0]["run_id"]}


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {"seq": int(row["seq"]), "run_id": row["run_id"], "manifest_hash": row["manifest_hash"],
            "manifest": json.loads(row["manifest"]), "signature": row["signature"],
            "public_key": row["public_key"], "key_id": row["key_id"]}


def log_entries(storage: Any, project: str) -> list[dict[str, Any]]:
    """Every signed manifest of a project in log order."""
    rows = storage.query(f"SELECT {_MANIFEST_COLUMNS} FROM eval_manifests WHERE project = "
                         "{p:String} ORDER BY seq", {"p": project})
    return [_entry(r) for r in rows]


def manifest_of(storage: Any, run: dict[str, Any]) -> dict[str, Any] | None:
    """The run's signed manifest entry, or None."""
    rows = storage.query(f"SELECT {_MANIFEST_COLUMNS} FROM eval_manifests WHERE project = "
                         "{p:String} AND run_id = {r:String} ORDER BY seq LIMIT 1",
                         {"p": run["project"], "r": run["run_id"]})
    return _entry(rows[0]) if rows else None


def attach(storage: Any, run: dict[str, Any], body: ManifestIn) -> dict[str, Any]:
    """Store the signed manifest of a finished run, once, as the next entry of its
    project's log, after checking that it signs exactly what the store holds."""
    manifest, project, run_id = body.manifest, run["project"], run["run_id"]
    if manifest.get("run_id") != run_id or manifest.get("project") != project:
        raise BadParameter("manifest", f"is for run {manifest.get('run_id')!r} of project "
                                       f"{manifest.get('project')!r}, not {run_id} of {project!r}")
    check = records.Verification()
    if not records.check_manifest(manifest, body.signature, body.public_key, check):
        raise BadParameter("manifest", check.problem or "invalid")
    with _LOG_LOCK:
        if run["status"] not in FINAL_STATUSES:
            raise Conflict(f"run {run_id} is still running: finish it before signing its manifest")
        if manifest_of(storage, run) is not None:
            raise Conflict(f"run {run_id} already has a signed manifest; it is never replaced")
        head, count = stored_head(storage, run)
        signed_rows = manifest.get("rows") or {}
        if signed_rows.get("chain_head") != head or signed_rows.get("count") != count:
            raise Conflict(f"the manifest signs {signed_rows.get('count')} rows with chain head "
                           f"{signed_rows.get('chain_head')}, the store holds {count} rows with "
                           f"head {head}")
        stored = records.summary_records(read_summaries(storage, project, [run_id]).get(run_id, []))
        if manifest.get("summaries") != stored:
            raise Conflict("the manifest's summaries differ from the stored ones")
        if manifest.get("status") != run["status"]:
            raise Conflict(f"the manifest says status {manifest.get('status')!r}, the run is "
                           f"{run['status']!r}")
        if manifest.get("comparison") != (parse_json_text(run["comparison"]) or None):
            raise Conflict("the manifest's comparison (verdict) differs from the stored one")
        current = log_head(storage, project)
        log = manifest.get("log") or {}
        if log.get("seq") != current["seq"] + 1 or log.get("prev") != current["manifest_hash"]:
            raise Conflict(f"the project log head moved: sign again with seq {current['seq'] + 1} "
                           f"and prev {current['manifest_hash']}")
        digest = records.manifest_hash(manifest)
        storage.insert("eval_manifests", [{
            "project": project, "seq": log["seq"], "run_id": run_id,
            "manifest": records.canonical(manifest).decode("utf-8"), "manifest_hash": digest,
            "signature": body.signature, "public_key": body.public_key,
            "key_id": records.key_id(body.public_key)}])
    return {"run_id": run_id, "project": project, "seq": log["seq"], "manifest_hash": digest,
            "key_id": records.key_id(body.public_key)}


def seal_of(storage: Any, run: dict[str, Any]) -> dict[str, Any]:
    """The run's seal for display: ``state`` is ``open`` (running), ``unsigned``,
    ``verified`` or ``broken`` (with the first problem), plus the manifest when signed.
    Checked here with :mod:`common.records`; ``evals verify`` checks the same offline."""
    if run["status"] not in FINAL_STATUSES:
        return {"state": "open", "problem": None, "checked": [], "manifest": None}
    entry = manifest_of(storage, run)
    if entry is None:
        head, count = stored_head(storage, run)
        ok = not run.get("chain_head") or run["chain_head"] == head
        return {"state": "unsigned" if ok else "broken",
                "problem": None if ok else "rows changed after the run was sealed",
                "checked": [f"rows: {count} rows, chain head {head[:16]}…"], "manifest": None}
    result = records.verify_record(
        entry["manifest"], entry["signature"], entry["public_key"], stored_records(storage, run),
        summaries=read_summaries(storage, run["project"], [run["run_id"]]).get(run["run_id"], []))
    if result.ok:
        if entry["manifest"].get("status") != run["status"]:
            result.fail("run.status: the stored value differs from the signed one")
        elif entry["manifest"].get("comparison") != (parse_json_text(run["comparison"]) or None):
            result.fail("run.comparison: the stored verdict differs from the signed one")
        else:
            result.checked.append("run: status and verdict match the signed ones")
    return {**result.to_dict(), "manifest": entry["manifest"], "signature": entry["signature"],
            "public_key": entry["public_key"], "key_id": entry["key_id"], "seq": entry["seq"],
            "manifest_hash": entry["manifest_hash"]}
