"""Modules imported on first use, for heavy dependencies on hot import paths.

``np = lazy_module("numpy")`` binds a name whose first attribute access imports the
module: ``common.stats`` needs scipy only when it computes, while the collector (its
evals routes), ``evals --help`` and ``evals datasets push`` import it and never do;
importing scipy up front cost them seconds."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for a module until an attribute is read, then imports it and delegates."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_target"] = None

    def _load(self) -> ModuleType:
        target = self.__dict__["_target"]
        if target is None:
            target = importlib.import_module(self.__name__)
            self.__dict__["_target"] = target
        return target

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first attribute access."""
    return LazyModule(name)
