"""ClickHouse's own block compression (HTTP ``compress=1`` / ``decompress=1``, and the
format of MergeTree ``.bin`` files): blocks of

    checksum (16 bytes: CityHash128 v1.0.2 of the rest) | method (1 byte) |
    compressed size incl. this 9-byte header (UInt32 LE) | decompressed size (UInt32 LE) | data

with method 0x02 none, 0x82 LZ4 (a raw LZ4 block), 0x90 ZSTD (a zstd frame). CityHash128
v1.0.2 (the version ClickHouse pins) comes from ``clickhouse-cityhash``; tests check it
against the checksums chDB writes into MergeTree column files.
"""

from __future__ import annotations

import struct

from clickhouse_cityhash.cityhash import CityHash128

METHOD_NONE = 0x02
METHOD_LZ4 = 0x82
METHOD_ZSTD = 0x90
HEADER = 9


def checksum(block: bytes) -> bytes:
    """The 16 checksum bytes ClickHouse writes before ``block``: CityHash128 v1.0.2 as
    (low, high) little-endian 64-bit halves (the package returns ``low << 64 | high``)."""
    value = CityHash128(block)
    return struct.pack("<QQ", value >> 64, value & ((1 << 64) - 1))


def compress(data: bytes, method: str = "lz4", block_size: int = 1 << 20) -> bytes:
    """``data`` as ClickHouse compressed blocks of at most ``block_size`` bytes each."""
    out = bytearray()
    for at in range(0, max(len(data), 1), block_size):
        chunk = data[at:at + block_size]
        if method == "lz4":
            import lz4.block

            code, body = METHOD_LZ4, lz4.block.compress(chunk, store_size=False)
        elif method == "zstd":
            from backports import zstd

            code, body = METHOD_ZSTD, zstd.compress(chunk)
        else:
            code, body = METHOD_NONE, chunk
        block = struct.pack("<BII", code, len(body) + HEADER, len(chunk)) + body
        out += checksum(block) + block
    return bytes(out)


class ChecksumError(ValueError):
    """A block's checksum does not match its content."""


def decompress(data: bytes) -> bytes:
    """The content of a sequence of ClickHouse compressed blocks; checksums verified."""
    out = bytearray()
    at = 0
    while at < len(data):
        if len(data) - at < 16 + HEADER:
            raise ValueError("truncated compressed block header")
        expected = data[at:at + 16]
        code, size, raw_size = struct.unpack_from("<BII", data, at + 16)
        block = data[at + 16:at + 16 + size]
        if len(block) != size:
            raise ValueError("truncated compressed block")
        if checksum(block) != expected:
            raise ChecksumError("checksum doesn't match: corrupted data")
        body = block[HEADER:]
        if code == METHOD_LZ4:
            import lz4.block

            out += lz4.block.decompress(body, uncompressed_size=raw_size)
        elif code == METHOD_ZSTD:
            from backports import zstd

            out += zstd.decompress(body)
        elif code == METHOD_NONE:
            out += body
        else:
            raise ValueError(f"unknown compression method 0x{code:02x}")
        at += 16 + size
    return bytes(out)
