"""The Spyglass web console: TypeScript sources under ``console/src``, built to ``console/dist``.

The collector serves the built files (see ``collector/api/console.py``); this package only
says where they are, so a wheel that carries ``console/dist`` works like a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

DIST_ENV = "SPYGLASS_CONSOLE_DIR"
"""Environment variable naming another directory of built console files."""


def dist_dir() -> Path:
    """The directory holding the built console (``index.html`` and ``assets/``).

    ``SPYGLASS_CONSOLE_DIR`` overrides the default ``console/dist`` next to this file,
    for serving a build from elsewhere.
    """
    override = os.environ.get(DIST_ENV, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parent / "dist"


def is_built(directory: Path | None = None) -> bool:
    """True when ``directory`` (default :func:`dist_dir`) holds a built ``index.html``."""
    return ((directory or dist_dir()) / "index.html").is_file()
