"""The diff of two dataset row lists: rows added, removed and changed.

Pure (standard library over :mod:`common.canonical`): ``Dataset.diff`` in ``evals`` and the
collector's ``GET /api/datasets/{name}/diff`` route compute the same diff the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.canonical import canonical_json, row_hash


@dataclass
class DatasetDiff:
    """Rows added, removed and changed between two versions.

    With a key, a row present in both under the same key with different content is
    *changed*; without one rows are compared by content, so a change shows as one row
    removed and one added.
    """

    key: str | None
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"key", "before", "after"}
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the diff."""
        return {"key": self.key, "added": self.added, "removed": self.removed,
                "changed": self.changed, "unchanged": self.unchanged}


def diff_rows(before: list[dict[str, Any]], after: list[dict[str, Any]],
              key: str | None = None) -> DatasetDiff:
    """Diff two row lists, by ``key`` when given (rows lacking it are compared by content)."""
    result = DatasetDiff(key=key)
    if key is not None and all(key in r for r in before) and all(key in r for r in after):
        old = {canonical_json(r[key]): r for r in before}
        new = {canonical_json(r[key]): r for r in after}
        for k, row in new.items():
            if k not in old:
                result.added.append(row)
            elif row_hash(row) != row_hash(old[k]):
                result.changed.append({"key": row[key], "before": old[k], "after": row})
            else:
                result.unchanged += 1
        result.removed = [row for k, row in old.items() if k not in new]
        return result
    result.key = None
    # Multisets by content hash: a duplicated row added once more shows as one added row.
    remaining: dict[str, list[dict[str, Any]]] = {}
    for row in before:
        remaining.setdefault(row_hash(row), []).append(row)
    for row in after:
        bucket = remaining.get(row_hash(row))
        if bucket:
            bucket.pop()
            result.unchanged += 1
        else:
            result.added.append(row)
    result.removed = [row for bucket in remaining.values() for row in bucket]
    return result
