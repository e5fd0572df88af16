"""The code a run evaluated: git commit and dirty flag (when in a repository) and a hash
of the suite file."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def code_fingerprint(suite_path: Path) -> dict[str, Any]:
    """``{"git_commit", "git_dirty", "fingerprint"}``: commit and dirty flag are None
    outside a git repository; ``fingerprint`` is ``sha256:`` + 16 hex of the suite file."""
    folder = suite_path.parent
    commit = _git(["rev-parse", "HEAD"], folder)
    dirty = None
    if commit is not None:
        status = _git(["status", "--porcelain", "--untracked-files=no"], folder)
        dirty = bool(status.strip()) if status is not None else None
    digest = hashlib.sha256(suite_path.read_bytes()).hexdigest()[:16]
    return {"git_commit": commit.strip() if commit else None, "git_dirty": dirty,
            "fingerprint": f"sha256:{digest}"}
