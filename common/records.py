"""Evaluation records: row hash chain, run manifest, Ed25519 signatures, project log,
bundles, and their verification.

Pure on purpose (standard library + ``cryptography``): the collector uses it to check a
manifest before storing it and to show a run's seal, the ``evals`` client to build and
sign manifests, and ``evals verify`` to check a bundle offline with no server, no data
dir and no Spyglass settings at all.

The record of a run
-------------------
- **Row records.** Each stored row (inputs, output, status, errors, latency, tokens, cost,
  trace/span ids, row id, dataset row, scores) is normalized by :func:`row_record` to the
  exact form the store gives back (a score's number is a float, an empty error is null,
  times are RFC 3339 with microseconds), so the client that ran the rows and a verifier
  reading them back from the server hash the same bytes.
- **Chain.** ``h[-1] = sha256("spyglass-run\\0" + run_id)`` (binds the chain to its run);
  ``h[i] = sha256("spyglass-row\\0" + h[i-1] + "\\0" + canonical(record_i))`` over the rows
  in ``row_index`` order. The last hash is the chain head; the manifest holds it and the
  row count.
- **Manifest.** Everything needed to reproduce and judge the run (dataset, suite hash,
  task/scorer identities, params, seeds, models, git, environment, times, summaries,
  verdict) plus ``log`` (``seq`` and ``prev``, the hash of the project's previous
  manifest) and ``sections`` (a digest per top-level field, so a verifier can name the
  field that was altered). ``manifest_hash = sha256(canonical(manifest))``.
- **Signature.** Ed25519 over ``canonical(manifest)``. Covers every field above, hence
  every row (through the chain head), every summary and the verdict.
- **Bundle.** One canonical JSON file: ``format``, ``manifest``, ``signature``,
  ``public_key``, ``rows`` (records), ``chain`` (the row hashes, the proof that names the
  first broken row). A bundle must be byte-identical to its canonical form, so even a
  change that JSON would parse the same (an escape, a space) is refused.

What verification does NOT prove: that the rows are what the task really returned (the
signer could have signed made-up rows), or that a history was not re-signed by someone
holding the signing key. Pin the key (``--public-key``) and the log head (``evals runs
head``) somewhere the key holder cannot rewrite to narrow the second.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.canonical import canonical_json

MANIFEST_FORMAT = "spyglass-eval-manifest/1"
BUNDLE_FORMAT = "spyglass-eval-bundle/1"
#: The ``prev`` of the first manifest of a project's log.
LOG_GENESIS = "0" * 64
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
#: Top-level manifest fields a verifier must find (``sections`` covers every field).
REQUIRED_FIELDS = ("format", "project", "run_id", "status", "rows", "summaries", "log", "key_id")


class RecordError(ValueError):
    """A record, manifest or bundle that cannot be used as given; the message says why."""


# -- canonical bytes ------------------------------------------------------------------

def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (:func:`common.canonical.canonical_json`: sorted keys, no
    spaces, UTF-8, no NaN) — the one form that is hashed and signed."""
    return canonical_json(value).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


# -- row records ----------------------------------------------------------------------

def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value: Any) -> int:
    return int(value or 0)


def normalize_time(value: Any) -> str | None:
    """RFC 3339 UTC with microseconds (``2026-01-02T03:04:05.000006Z``), the precision the
    store keeps; accepts ``Z``/offset forms and ClickHouse's ``YYYY-MM-DD hh:mm:ss.ffffff``."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace(" ", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # The store keeps microseconds; anything finer is truncated there, so here too.
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def score_value(value: Any) -> bool | float | str | None:
    """A score value as stored: bool, float (ints become floats, NaN/inf null), label, null."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return _float(value)
    raise RecordError(f"score value {value!r} is not a bool, number, string or null")


def score_record(score: Mapping[str, Any]) -> dict[str, Any]:
    """One score of a row in its hashed form."""
    passed = score.get("passed")
    return {
        "scorer": str(score["scorer"]),
        "value": score_value(score.get("value")),
        "passed": None if passed is None else bool(passed),
        "reason": _text(score.get("reason")),
        "metadata": score.get("metadata") or None,
        "error": _text(score.get("error")),
    }


def row_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run row (as the client sends it or the API returns it) in its hashed form."""
    scores = sorted((score_record(s) for s in row.get("scores") or []), key=lambda s: s["scorer"])
    return {
        "row_index": int(row["row_index"]),
        "row_id": str(row["row_id"]),
        "row": row.get("row") or {},
        "inputs": row.get("inputs"),
        "output": row.get("output"),
        "status": str(row["status"]),
        "error": _text(row.get("error")),
        "error_type": _text(row.get("error_type")),
        "attempts": 1 if row.get("attempts") is None else int(row["attempts"]),
        "latency_ms": _float(row.get("latency_ms")) or 0.0,
        "input_tokens": _int(row.get("input_tokens")),
        "output_tokens": _int(row.get("output_tokens")),
        "total_tokens": _int(row.get("total_tokens")),
        "cost_usd": _float(row.get("cost_usd")),
        "scorer_cost_usd": _float(row.get("scorer_cost_usd")),
        "trace_id": (_text(row.get("trace_id")) or "").lower() or None,
        "span_id": (_text(row.get("span_id")) or "").lower() or None,
        "started_at": normalize_time(row.get("started_at")),
        "scores": scores,
    }


def chain_genesis(run_id: str) -> str:
    """The hash before a run's first row: binds the chain to ``run_id``."""
    return sha256_hex(b"spyglass-run\0" + run_id.encode("utf-8"))


def row_link(prev: str, record: Mapping[str, Any]) -> str:
    """The chain hash of one row record after ``prev``."""
    return sha256_hex(b"spyglass-row\0" + prev.encode("ascii") + b"\0" + canonical(record))


def chain(run_id: str, records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every row's chain hash, in the order given (callers sort by ``row_index``)."""
    prev = chain_genesis(run_id)
    out = []
    for record in records:
        prev = row_link(prev, record)
        out.append(prev)
    return out


def chain_head(run_id: str, records: Sequence[Mapping[str, Any]]) -> str:
    """The last chain hash (the genesis hash for a run with no rows)."""
    hashes = chain(run_id, records)
    return hashes[-1] if hashes else chain_genesis(run_id)


def sorted_records(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Row records in run order (``row_index``); a repeated index is an error."""
    records = sorted((row_record(r) for r in rows), key=lambda r: r["row_index"])
    for a, b in itertools.pairwise(records):
        if a["row_index"] == b["row_index"]:
            raise RecordError(f"row_index {a['row_index']} appears twice")
    return records


# -- summaries and manifests ----------------------------------------------------------

def summary_record(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A per-scorer summary in its signed form (numbers as floats, as the store keeps them)."""
    return {
        "scorer": str(summary["scorer"]), "kind": str(summary["kind"]),
        "higher_is_better": bool(summary.get("higher_is_better", True)),
        "n": _int(summary.get("n")), "mean": _float(summary.get("mean")),
        "ci_low": _float(summary.get("ci_low")), "ci_high": _float(summary.get("ci_high")),
        "pass_rate": _float(summary.get("pass_rate")), "missing": _int(summary.get("missing")),
        "errors": _int(summary.get("errors")), "min_delta": _float(summary.get("min_delta")),
        "alpha": _float(summary.get("alpha")), "summary": summary.get("summary") or {},
    }


def summary_records(summaries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Summaries in signed form, by scorer name."""
    return sorted((summary_record(s) for s in summaries), key=lambda s: s["scorer"])


def with_sections(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``manifest`` with ``sections``: the digest of each other top-level field."""
    body = {k: v for k, v in manifest.items() if k != "sections"}
    body["sections"] = {k: sha256_hex(canonical(v)) for k, v in sorted(body.items())}
    return body


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """The hash that names a manifest in the project log."""
    return sha256_hex(canonical(manifest))


# -- keys and signatures ----------------------------------------------------------------

def _ed25519() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def new_private_key() -> bytes:
    """32 raw bytes of a fresh Ed25519 private key."""
    from cryptography.hazmat.primitives import serialization

    key = _ed25519().Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def public_key_of(private_key: bytes) -> str:
    """Lowercase hex of the raw public key of a raw private key."""
    from cryptography.hazmat.primitives import serialization

    key = _ed25519().Ed25519PrivateKey.from_private_bytes(private_key)
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def key_id(public_key_hex: str) -> str:
    """A short, stable name for a public key: ``ed25519:`` + 16 hex of its SHA-256."""
    return "ed25519:" + sha256_hex(bytes.fromhex(public_key_hex))[:16]


def sign(manifest: Mapping[str, Any], private_key: bytes) -> str:
    """Hex Ed25519 signature of ``canonical(manifest)``."""
    key = _ed25519().Ed25519PrivateKey.from_private_bytes(private_key)
    return key.sign(canonical(manifest)).hex()


def check_public_key(text: str) -> str:
    """A public key as 64 lowercase hex characters (raw Ed25519); RecordError otherwise."""
    if not isinstance(text, str) or not _HEX64.match(text):
        raise RecordError("public key must be 64 lowercase hex characters (raw Ed25519)")
    return text


def signature_ok(manifest: Mapping[str, Any], signature: str, public_key: str) -> bool:
    """True when ``signature`` is ``public_key``'s signature of the manifest."""
    from cryptography.exceptions import InvalidSignature

    if not isinstance(signature, str) or not _HEX128.match(signature):
        return False
    try:
        key = _ed25519().Ed25519PublicKey.from_public_bytes(bytes.fromhex(check_public_key(public_key)))
        key.verify(bytes.fromhex(signature), canonical(manifest))
    except (InvalidSignature, RecordError, ValueError):
        return False
    return True


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
