"""Verification of a run's record, a bundle file and a project's log; building bundles
(see :mod:`common.records`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.records.chain import (
    BUNDLE_FORMAT,
    LOG_GENESIS,
    MANIFEST_FORMAT,
    REQUIRED_FIELDS,
    RecordError,
    canonical,
    chain,
    chain_genesis,
    manifest_hash,
    row_link,
    row_record,
    sha256_hex,
    summary_records,
)
from common.records.signing import check_public_key, key_id, signature_ok

# -- verification -----------------------------------------------------------------------

@dataclass
class Verification:
    """What a verification checked (``checked``, in order) and the first problem found."""

    checked: list[str] = field(default_factory=list)
    problem: str | None = None
    #: ``verified`` (intact and signed), ``broken`` (altered) or ``unsigned``.
    state: str = "verified"

    @property
    def ok(self) -> bool:
        """True when nothing was found altered."""
        return self.problem is None

    def fail(self, problem: str) -> Verification:
        """Record the first problem (later ones are consequences) and mark it broken."""
        if self.problem is None:
            self.problem = problem
            self.state = "broken"
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"state": self.state, "ok": self.ok, "problem": self.problem,
                "checked": list(self.checked)}


def check_manifest(manifest: Any, signature: str, public_key: str, result: Verification,
                   pinned_key: str | None = None) -> bool:
    """Shape, section digests and signature of one manifest; True when all hold."""
    if not isinstance(manifest, dict):
        result.fail("manifest: not a JSON object")
        return False
    missing = [f for f in (*REQUIRED_FIELDS, "sections") if f not in manifest]
    if missing:
        result.fail(f"manifest: missing field {missing[0]!r}")
        return False
    if manifest["format"] != MANIFEST_FORMAT:
        result.fail(f"manifest.format: unknown format {manifest['format']!r}")
        return False
    sections = manifest["sections"]
    body = {k: v for k, v in manifest.items() if k != "sections"}
    if not isinstance(sections, dict) or set(sections) != set(body):
        result.fail("manifest.sections: does not list exactly the manifest's fields")
        return False
    for name in sorted(body):
        if sections[name] != sha256_hex(canonical(body[name])):
            result.fail(f"manifest.{name}: altered (its digest does not match)")
            return False
    result.checked.append(f"manifest: {len(body)} fields match their digests")
    try:
        check_public_key(public_key)
    except RecordError as exc:
        result.fail(f"public_key: {exc}")
        return False
    if pinned_key is not None and public_key != pinned_key:
        result.fail(f"signature: signed by {key_id(public_key)}, not by the pinned key "
                    f"{key_id(pinned_key)}")
        return False
    if manifest["key_id"] != key_id(public_key):
        result.fail("manifest.key_id: does not name the public key it was signed with")
        return False
    if not signature_ok(manifest, signature, public_key):
        result.fail("signature: does not match the manifest (manifest or signature altered, "
                    "or signed with another key)")
        return False
    result.checked.append(f"signature: Ed25519 by {key_id(public_key)}"
                          + (" (pinned)" if pinned_key else " (key from the record; pass "
                                                            "--public-key to pin it)"))
    return True


def check_rows(manifest: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
               proof: Sequence[str] | None, result: Verification) -> bool:
    """The rows against the manifest's chain head (and against ``proof``, the per-row
    hashes, to name the first broken row); True when they match."""
    rows_info = manifest.get("rows") or {}
    run_id = str(manifest["run_id"])
    if proof is not None and len(proof) != len(records):
        result.fail(f"chain: {len(proof)} row hashes for {len(records)} rows")
        return False
    prev = chain_genesis(run_id)
    for i, record in enumerate(records):
        try:
            normalized = row_record(record)
        except (KeyError, TypeError, ValueError) as exc:
            result.fail(f"row {i}: not a row record ({exc})")
            return False
        if normalized != record:
            result.fail(f"row {i} (row_id {record.get('row_id')!r}): not in record form "
                        "(a field was altered)")
            return False
        if i and records[i - 1]["row_index"] >= record["row_index"]:
            result.fail(f"row {i} (row_id {record['row_id']!r}): out of run order")
            return False
        prev = row_link(prev, record)
        if proof is not None and proof[i] != prev:
            result.fail(f"row {i} (row_index {record['row_index']}, row_id {record['row_id']!r}): "
                        "altered (its hash does not match the chain)")
            return False
    head = prev
    if rows_info.get("count") != len(records):
        result.fail(f"rows: the manifest signs {rows_info.get('count')} rows, the record has "
                    f"{len(records)}")
        return False
    if rows_info.get("chain_head") != head:
        result.fail("rows: chain head does not match the manifest (a row was altered, added, "
                    "removed or reordered)")
        return False
    result.checked.append(f"rows: {len(records)} rows hash-chained to the signed head {head[:16]}…")
    return True


def verify_record(manifest: Any, signature: str, public_key: str,
                  rows: Sequence[Mapping[str, Any]], *, proof: Sequence[str] | None = None,
                  summaries: Sequence[Mapping[str, Any]] | None = None,
                  pinned_key: str | None = None) -> Verification:
    """One run: manifest, signature, rows (as records or as the API shows them) and, when
    given, the stored summaries against the signed ones."""
    result = Verification()
    if not check_manifest(manifest, signature, public_key, result, pinned_key):
        return result
    if not check_rows(manifest, rows, proof, result):
        return result
    if summaries is not None:
        stored = summary_records(summaries)
        signed = manifest["summaries"]
        for i, s in enumerate(stored):
            if i >= len(signed) or signed[i] != s:
                result.fail(f"summaries[{s['scorer']}]: differs from the signed summary")
                return result
        if len(signed) != len(stored):
            result.fail(f"summaries: {len(signed)} signed, {len(stored)} stored")
            return result
        result.checked.append(f"summaries: {len(stored)} match the signed ones")
    return result


def bundle(manifest: Mapping[str, Any], signature: str, public_key: str,
           records: Sequence[Mapping[str, Any]]) -> bytes:
    """The bytes of a bundle file (canonical JSON + newline)."""
    body = {"format": BUNDLE_FORMAT, "manifest": manifest, "signature": signature,
            "public_key": public_key, "rows": list(records),
            "chain": chain(str(manifest["run_id"]), records)}
    return canonical(body) + b"\n"


def verify_bundle(data: bytes, pinned_key: str | None = None) -> Verification:
    """A bundle file's bytes, offline: canonical form, manifest digests, signature, every
    row against the chain. Names the first thing found altered."""
    result = Verification()
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return result.fail(f"bundle: not valid JSON ({exc})")
    if not isinstance(parsed, dict):
        return result.fail("bundle: not a JSON object")
    try:
        again = canonical(parsed) + b"\n"
    except ValueError as exc:
        return result.fail(f"bundle: {exc}")
    if again != data:
        at = next((i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b),
                  min(len(again), len(data)))
        return result.fail(f"bundle: not in canonical form at byte {at} (the file was edited)")
    result.checked.append(f"bundle: {len(data)} bytes in canonical form")
    if set(parsed) != {"format", "manifest", "signature", "public_key", "rows", "chain"}:
        return result.fail("bundle: unexpected or missing top-level fields")
    if parsed["format"] != BUNDLE_FORMAT:
        return result.fail(f"bundle.format: unknown format {parsed['format']!r}")
    rows, proof = parsed["rows"], parsed["chain"]
    if not isinstance(rows, list) or not isinstance(proof, list):
        return result.fail("bundle: rows and chain must be arrays")
    if not check_manifest(parsed["manifest"], parsed["signature"], parsed["public_key"], result,
                          pinned_key):
        return result
    check_rows(parsed["manifest"], rows, proof, result)
    return result


def verify_log(entries: Sequence[Mapping[str, Any]], *, pinned_key: str | None = None,
               pinned_head: str | None = None) -> Verification:
    """A project's log (entries ``{manifest, signature, public_key}`` in log order): every
    signature, ``seq`` contiguous from 1, each ``prev`` the hash of the manifest before,
    and the head equal to ``pinned_head`` when given. Catches a deleted or reordered run
    (and, with a pinned head, a truncated tail)."""
    result = Verification()
    prev, project = LOG_GENESIS, None
    signers: list[str] = []
    for i, entry in enumerate(entries):
        manifest = entry.get("manifest")
        run = manifest.get("run_id") if isinstance(manifest, dict) else None
        sub = Verification()
        if not check_manifest(manifest, entry.get("signature", ""), entry.get("public_key", ""),
                              sub, pinned_key):
            return result.fail(f"log entry {i + 1} (run {run}): {sub.problem}")
        log = manifest["log"]
        if project is None:
            project = manifest["project"]
        if manifest["project"] != project:
            return result.fail(f"log entry {i + 1} (run {run}): belongs to project "
                               f"{manifest['project']!r}, not {project!r}")
        if log.get("seq") != i + 1:
            return result.fail(f"log entry {i + 1} (run {run}): has seq {log.get('seq')}; a run "
                               "before it was deleted or the log was reordered")
        if log.get("prev") != prev:
            return result.fail(f"log entry {i + 1} (run {run}): does not link to the manifest "
                               "before it (a run was deleted, inserted or reordered)")
        prev = manifest_hash(manifest)
        if manifest["key_id"] not in signers:
            signers.append(manifest["key_id"])
    result.checked.append(f"log: {len(entries)} signed manifests, each linked to the one before")
    if signers:
        # More than one key means the key was rotated, or someone else signed: say so.
        result.checked.append(f"log: signed by {', '.join(signers)}"
                              + ("" if pinned_key else " (pass --public-key to pin the signer)"))
    if pinned_head is not None:
        if pinned_head != prev:
            return result.fail(f"log head: {prev} is not the pinned head {pinned_head} (runs were "
                               "removed from the end, or history was rewritten)")
        result.checked.append(f"log head: matches the pinned head {pinned_head[:16]}…")
    return result


def log_head(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"seq", "manifest_hash", "run_id"}`` of the last entry (seq 0 and the genesis
    hash for an empty log)."""
    if not entries:
        return {"seq": 0, "manifest_hash": LOG_GENESIS, "run_id": None}
    last = entries[-1]["manifest"]
    return {"seq": last["log"]["seq"], "manifest_hash": manifest_hash(last),
            "run_id": last["run_id"]}
