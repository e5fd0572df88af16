"""``Dataset``: rows of JSON objects with a content-addressed version id.

A dataset is built from a list of dicts, any iterable of mappings, a JSONL file, a JSON
file holding an array, or a CSV file (every cell a string). Its ``version_id`` is the hash
of its canonical rows (see :mod:`common.canonical`), so the same rows give the same version
on any machine. ``dataset("name:v2")`` refers to a version saved in Spyglass by name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.canonical import RowError, normalize_row, row_hash, row_ids, version_id
from common.rowdiff import DatasetDiff, diff_rows


class DatasetError(ValueError):
    """A dataset file or reference that cannot be used; the message names it."""


class Dataset:
    """Rows (JSON objects) with a content hash per row and a version id for the whole.

    ``key`` names a column that identifies a row (e.g. ``"id"``): diffs then report rows
    whose content changed under the same key, and runs pair rows by it. Without a key a
    row is identified by its content.
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        name: str | None = None,
        key: str | None = None,
        version: str | None = None,
    ) -> None:
        if isinstance(rows, str | bytes | Mapping):
            raise DatasetError("Dataset rows must be an iterable of JSON objects, "
                               "not a single string or mapping; use Dataset.from_file for paths")
        self.rows: list[dict[str, Any]] = [normalize_row(r, i) for i, r in enumerate(rows)]
        self.name = name
        self.key = key
        #: ``v3`` when loaded from the store by name, else None.
        self.version = version
        self.row_hashes = [row_hash(r) for r in self.rows]
        self.row_ids = row_ids(self.rows, self.row_hashes, key)
        self.version_id = version_id(self.row_hashes)

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None,
                  key: str | None = None) -> Dataset:
        """Load ``.jsonl``/``.ndjson`` (one object a line), ``.json`` (an array of
        objects) or ``.csv`` (header row; cells are strings)."""
        p = Path(path)
        if not p.is_file():
            raise DatasetError(f"dataset file {p} does not exist")
        suffix = p.suffix.lower()
        try:
            if suffix in (".jsonl", ".ndjson"):
                rows = list(_read_jsonl(p))
            elif suffix == ".json":
                data = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(data, list):
                    raise DatasetError(f"{p}: a .json dataset must be an array of objects")
                rows = data
            elif suffix == ".csv":
                with p.open(newline="", encoding="utf-8") as fh:
                    rows = list(csv.DictReader(fh))
            else:
                raise DatasetError(f"{p}: unknown dataset format {suffix!r}; "
                                   "use .jsonl, .ndjson, .json or .csv")
            return cls(rows, name=name or p.stem, key=key)
        except RowError as exc:
            raise DatasetError(f"{p}: {exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{p}: {exc}") from None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def head(self, n: int) -> Dataset:
        """The first ``n`` rows as a new dataset (a different version unless n >= len)."""
        return Dataset(self.rows[:n], name=self.name, key=self.key,
                       version=self.version if n >= len(self.rows) else None)

    def to_jsonl(self) -> str:
        """The rows as JSONL text (one canonical JSON object a line)."""
        from common.canonical import canonical_json

        return "".join(canonical_json(r) + "\n" for r in self.rows)

    def diff(self, other: Dataset) -> DatasetDiff:
        """What changed from ``self`` to ``other`` (see :func:`diff_rows`)."""
        return diff_rows(self.rows, other.rows, key=other.key or self.key)

    @property
    def label(self) -> str:
        """``name:v3`` (or ``name@<id prefix>`` when not saved, or the id alone)."""
        if self.name and self.version:
            return f"{self.name}:{self.version}"
        if self.name:
            return f"{self.name}@{self.version_id[:12]}"
        return self.version_id[:12]

    def __repr__(self) -> str:
        return f"Dataset({self.label}, rows={len(self.rows)})"


def _read_jsonl(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None


@dataclass(frozen=True)
class DatasetRef:
    """A dataset saved in Spyglass, by ``name`` and ``version`` (``v3``, ``latest`` or a
    version id); resolved when the run starts."""

    name: str
    version: str = "latest"

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


def parse_ref(text: str) -> DatasetRef:
    """``name``, ``name:latest``, ``name:v2`` or ``name:<version id>`` -> a reference."""
    name, _, version = text.partition(":")
    name = name.strip()
    if not name:
        raise DatasetError(f"dataset reference {text!r} has no name")
    version = version.strip() or "latest"
    return DatasetRef(name, version)


def dataset(ref: str) -> DatasetRef:
    """A dataset saved by name: ``dataset("qa-golden:latest")`` or ``"qa-golden:v2"``."""
    return parse_ref(ref)
