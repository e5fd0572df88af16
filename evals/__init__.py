"""Spyglass evaluations: versioned datasets, the runner and regression tracking.

Public names (imported lazily, so ``import evals`` stays cheap; the pure pieces the
collector shares with evals, canonical hashing, statistics and comparison, live in
:mod:`common`)::

    from evals import Eval, Dataset, dataset, Retryable, Threshold, publish, load
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Dataset": "evals.datasets",
    "DatasetDiff": "evals.datasets",
    "DatasetError": "evals.datasets",
    "DatasetRef": "evals.datasets",
    "dataset": "evals.datasets",
    "Eval": "evals.suite",
    "EvalConfigError": "evals.suite",
    "Threshold": "evals.suite",
    "Retryable": "evals.binding",
    "publish": "evals.publish",
    "load": "evals.publish",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evals' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
