"""Signed eval records from the client's side: sign a finished run, export a bundle, and
verify a run, a bundle or a project's log (``evals export`` / ``evals verify`` / ``evals
runs head``).

The client signs, not the server: the manifest is built from the rows this process ran
and the summaries and verdict the collector answered with, and the collector stores it
only if it signs exactly what the store holds. So a later change in the store (a row,
a summary, a verdict, a deleted or reordered run) breaks verification, whoever made it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from common import records
from common.wire.evals import ManifestIn
from evals import manifest as manifests
from evals import signing
from evals.client import ApiError, Client

#: Attempts to extend the project log when another run was signed meanwhile.
LOG_RETRIES = 5


def seal_run(client: Client, *, run: Mapping[str, Any], summaries: Sequence[Mapping[str, Any]],
             rows: Sequence[Mapping[str, Any]], suite_path: Path, task: Any,
             scorers: Sequence[Any], params: Mapping[str, Any],
             say: Callable[[str], None]) -> dict[str, Any] | None:
    """Build, sign and attach the manifest of a finished run; returns the collector's
    answer (``seq``, ``manifest_hash``), or None after saying why the run stays unsigned."""
    try:
        key = signing.load(run["project"])
    except (signing.SigningKeyError, OSError) as exc:
        say(f"evals: run {run['run_id'][:12]} is sealed but NOT signed: {exc}")
        return None
    assert key is not None
    for _ in range(LOG_RETRIES):
        head = client.get_log(run["project"], head_only=True)["head"]
        manifest = manifests.build(run=run, summaries=summaries, rows=rows, suite_path=suite_path,
                                   task=task, scorers=scorers, params=params, log_head=head,
                                   public_key=key.public_key)
        body = ManifestIn(manifest=manifest, signature=records.sign(manifest, key.private),
                          public_key=key.public_key)
        try:
            return client.attach_manifest(run["run_id"], body)
        except ApiError as exc:
            if exc.status_code == 409 and "log head moved" in str(exc):
                continue  # another run was signed meanwhile: link after it
            say(f"evals: run {run['run_id'][:12]} is sealed but NOT signed: {exc}")
            return None
    say(f"evals: run {run['run_id'][:12]} is sealed but NOT signed: the project log kept moving")
    return None


def export_bundle(client: Client, run_id: str, project: str | None) -> bytes:
    """A self-contained bundle of a signed run (rows, manifest, signature, public key,
    chain); ApiError when the run has no signed manifest."""
    seal = client.get_manifest(run_id, project)
    if seal.get("manifest") is None:
        raise ApiError(f"run {seal['run_id']} has no signed manifest ({seal['state']}); only a "
                       "signed run can be exported")
    data = client.all_rows(seal["run_id"], seal["manifest"]["project"])
    recs = records.sorted_records(data["rows"])
    return records.bundle(seal["manifest"], seal["signature"], seal["public_key"], recs)


def verify_run(client: Client, run_id: str, project: str | None,
               pinned_key: str | None) -> records.Verification:
    """A stored run checked here (not trusting the collector's own check): its manifest
    and signature, every row against the chain, the stored summaries, status and verdict
    against the signed ones."""
    seal = client.get_manifest(run_id, project)
    if seal.get("manifest") is None:
        result = records.Verification(state="unsigned")
        result.problem = f"run {seal['run_id']} has no signed manifest ({seal['state']})"
        return result
    manifest = seal["manifest"]
    data = client.all_rows(seal["run_id"], manifest["project"])
    result = records.verify_record(manifest, seal["signature"], seal["public_key"],
                                   records.sorted_records(data["rows"]),
                                   summaries=data["summaries"], pinned_key=pinned_key)
    if result.ok:
        run = data["run"]
        for name in ("status", "comparison"):
            if manifest.get(name) != run.get(name):
                return result.fail(f"run.{name}: the stored value differs from the signed one")
        result.checked.append("run: status and verdict match the signed ones")
    return result


def verify_project(client: Client, project: str | None, pinned_key: str | None,
                   pinned_head: str | None) -> records.Verification:
    """A project's whole log (links, order, signatures, optional pinned head) and then
    every logged run's stored rows and summaries."""
    log = client.get_log(project)
    result = records.verify_log(log["entries"], pinned_key=pinned_key, pinned_head=pinned_head)
    if not result.ok:
        return result
    for entry in log["entries"]:
        one = verify_run(client, entry["run_id"], log["project"], pinned_key)
        if not one.ok:
            return result.fail(f"run {entry['run_id']} (log seq {entry['seq']}): {one.problem}")
    result.checked.append(f"runs: every logged run's rows, summaries and verdict match ({len(log['entries'])})")
    return result
