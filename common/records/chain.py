"""Row records, their normalization and hash chain, summaries and manifest digests (the
bytes that are hashed and signed; see :mod:`common.records`)."""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from common.canonical import canonical_json

MANIFEST_FORMAT = "spyglass-eval-manifest/1"
BUNDLE_FORMAT = "spyglass-eval-bundle/1"
#: The ``prev`` of the first manifest of a project's log.
LOG_GENESIS = "0" * 64
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
