"""Canonical JSON rows and content hashes: the identity of dataset rows and versions.

Pure standard library on purpose: the ``evals`` CLI and the collector's dataset routes both
import this module, so a version id computed on a laptop and one computed by the server
are the same bytes hashed the same way.

Canonical form: ``json.dumps(row, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8. A row hash is the SHA-256 of that
text. A version id is the SHA-256 of the row hashes sorted and joined with newlines, so a
version is the *multiset* of its rows: reordering rows does not make a new version,
duplicating a row does.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any


class RowError(ValueError):
    """A dataset row that is not a JSON object of JSON values; the message names the row."""


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise RowError(f"{where}: {value!r} is not valid JSON (NaN/Infinity)")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RowError(f"{where}: key {key!r} is not a string")
            _check_value(item, f"{where}.{key}")
        return
    raise RowError(f"{where}: {type(value).__name__} value {value!r} is not JSON")


def normalize_row(row: Any, index: int) -> dict[str, Any]:
    """``row`` as a plain JSON object (tuples become lists); raises :class:`RowError`
    naming row ``index`` when it is not a mapping of JSON values."""
    if not isinstance(row, Mapping):
        raise RowError(f"row {index}: expected a JSON object, got {type(row).__name__}")
    _check_value(row, f"row {index}")
    # A JSON round trip turns tuples into lists and drops any subclass behaviour.
    return json.loads(canonical_json(row))


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (sorted keys, no spaces, UTF-8 characters)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the row's canonical JSON."""
    return hashlib.sha256(canonical_json(row).encode("utf-8")).hexdigest()


def version_id(row_hashes: Iterable[str]) -> str:
    """The content id of a dataset version: SHA-256 of its sorted row hashes."""
    return hashlib.sha256("\n".join(sorted(row_hashes)).encode("ascii")).hexdigest()


def row_ids(rows: list[Mapping[str, Any]], hashes: list[str], key: str | None) -> list[str]:
    """A stable id per row, used to pair rows across runs and in diffs: the value of the
    ``key`` column when a key is set, else the content hash (``#2``, ``#3``... appended
    to repeated identical rows)."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for i, (row, digest) in enumerate(zip(rows, hashes, strict=True)):
        if key is not None:
            if key not in row:
                raise RowError(f"row {i}: has no key column {key!r}")
            value = row[key]
            base = value if isinstance(value, str) else canonical_json(value)
        else:
            base = digest
        count = seen.get(base, 0) + 1
        seen[base] = count
        if count > 1 and key is not None:
            raise RowError(f"row {i}: key {key}={base!r} repeats an earlier row")
        ids.append(base if count == 1 else f"{base}#{count}")
    return ids
