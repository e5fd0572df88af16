"""Ed25519 keys and signatures over a manifest's canonical bytes (see :mod:`common.records`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from common.records.chain import RecordError, canonical, sha256_hex

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


# -- keys and signatures ----------------------------------------------------------------

def _ed25519() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def new_private_key() -> bytes:
    """32 raw bytes of a fresh Ed25519 private key."""
    from cryptography.hazmat.primitives import serialization

    key = _ed25519().Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def public_key_of(private_key: bytes) -> str:
    """Lowercase hex of the raw public key of a raw private key."""
    from cryptography.hazmat.primitives import serialization

    key = _ed25519().Ed25519PrivateKey.from_private_bytes(private_key)
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def key_id(public_key_hex: str) -> str:
    """A short, stable name for a public key: ``ed25519:`` + 16 hex of its SHA-256."""
    return "ed25519:" + sha256_hex(bytes.fromhex(public_key_hex))[:16]


def sign(manifest: Mapping[str, Any], private_key: bytes) -> str:
    """Hex Ed25519 signature of ``canonical(manifest)``."""
    key = _ed25519().Ed25519PrivateKey.from_private_bytes(private_key)
    return key.sign(canonical(manifest)).hex()


def check_public_key(text: str) -> str:
    """A public key as 64 lowercase hex characters (raw Ed25519); RecordError otherwise."""
    if not isinstance(text, str) or not _HEX64.match(text):
        raise RecordError("public key must be 64 lowercase hex characters (raw Ed25519)")
    return text


def signature_ok(manifest: Mapping[str, Any], signature: str, public_key: str) -> bool:
    """True when ``signature`` is ``public_key``'s signature of the manifest."""
    from cryptography.exceptions import InvalidSignature

    if not isinstance(signature, str) or not _HEX128.match(signature):
        return False
    try:
        key = _ed25519().Ed25519PublicKey.from_public_bytes(bytes.fromhex(check_public_key(public_key)))
        key.verify(bytes.fromhex(signature), canonical(manifest))
    except (InvalidSignature, RecordError, ValueError):
        return False
    return True
