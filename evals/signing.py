"""The project signing key: created on first use, kept out of the store.

Where: ``SPYGLASS_SIGNING_KEY`` (a file path) when set, else
``<data dir>/keys/<project>.ed25519`` where the data dir is ``SPYGLASS_DATA_DIR``
(default ``~/.spyglass/data``) — beside the store, never inside it, so whoever can edit
the store cannot read the key through it. The file holds the raw private key as hex and
is created with mode 0600; a key file that others can read is refused. The public key is
written beside it (``.pub``) and printed by ``evals keys show``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from common import records

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class SigningKeyError(RuntimeError):
    """A signing key that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class SigningKey:
    """A project's private key and where it lives."""

    path: Path
    private: bytes

    @property
    def public_key(self) -> str:
        """Hex of the raw public key."""
        return records.public_key_of(self.private)

    @property
    def key_id(self) -> str:
        """``ed25519:<16 hex>``."""
        return records.key_id(self.public_key)


def data_dir() -> Path:
    """``SPYGLASS_DATA_DIR``, else ``~/.spyglass/data``."""
    return Path(os.environ.get("SPYGLASS_DATA_DIR") or "~/.spyglass/data").expanduser()


def key_path(project: str) -> Path:
    """Where ``project``'s key is (or will be created)."""
    explicit = os.environ.get("SPYGLASS_SIGNING_KEY")
    if explicit:
        return Path(explicit).expanduser()
    return data_dir() / "keys" / f"{_SAFE.sub('_', project) or 'default'}.ed25519"


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(f"signing key {path} is readable by others (mode {oct(mode & 0o777)}); "
                        f"run: chmod 600 {path}")
    text = path.read_text(encoding="ascii").strip()
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise SigningKeyError(f"signing key {path} is not 64 hex characters (a raw Ed25519 key)")
    return bytes.fromhex(text)


def load(project: str, *, create: bool = True) -> SigningKey | None:
    """The project's key; created (0600) when missing and ``create``, else None."""
    path = key_path(project)
    if path.exists():
        return SigningKey(path, _read(path))
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = records.new_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use that one
        return SigningKey(path, _read(path))
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(private.hex() + "\n")
    key = SigningKey(path, private)
    path.with_name(path.name + ".pub").write_text(key.public_key + "\n", encoding="ascii")
    return key
