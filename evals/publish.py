"""Datasets from Python: ``evals.publish(rows, "name")`` and ``evals.load("name:v2")``.

Both use the same store as the CLI (see :mod:`evals.backend`): the collector at
``SPYGLASS_ENDPOINT``, else an in-process one over ``SPYGLASS_DATA_DIR`` for the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evals.backend import connect
from evals.datasets import Dataset, DatasetError, parse_ref


def publish(rows: Dataset | Iterable[Mapping[str, Any]], name: str, *, key: str | None = None,
            description: str | None = None, project: str | None = None) -> Dataset:
    """Save ``rows`` as the next version of dataset ``name`` (no new version when they
    equal the latest) and return it with its ``version`` (``v3``) set."""
    data = rows if isinstance(rows, Dataset) else Dataset(rows, key=key)
    key = key or data.key
    with connect(project) as backend:
        record = backend.client.push_dataset(name, data.rows, project=backend.project, key=key,
                                             description=description)
    if record["version_id"] != data.version_id:
        raise DatasetError(f"the collector computed version id {record['version_id']} for "
                           f"{name}, this client {data.version_id}")
    return Dataset(data.rows, name=name, key=key, version=record["version"])


def load(ref: str, *, project: str | None = None) -> Dataset:
    """The rows of a saved version: ``load("qa-golden")``, ``load("qa-golden:v2")``."""
    parsed = parse_ref(ref)
    with connect(project) as backend:
        data = backend.client.dataset_rows(parsed.name, parsed.version, backend.project)
    return Dataset(data["rows"], name=parsed.name, key=data.get("key"), version=data["version"])
