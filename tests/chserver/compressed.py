"""ClickHouse's own block compression (HTTP ``compress=1`` / ``decompress=1``, and the
format of MergeTree ``.bin`` files): blocks of

    checksum (16 bytes: CityHash128 v1.0.2 of the rest) | method (1 byte) |
    compressed size incl. this 9-byte header (UInt32 LE) | decompressed size (UInt32 LE) | data

with method 0x02 none, 0x82 LZ4 (a raw LZ4 block), 0x90 ZSTD (a zstd frame). CityHash128
is implemented here in Python (ClickHouse pins v1.0.2, which no installed package has);
tests check it against the checksums chDB writes into MergeTree column files.
"""

from __future__ import annotations

import struct

M64 = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F
K3 = 0xC949D7C7509E6557
K_MUL = 0x9DDFEA08EB382D69

METHOD_NONE = 0x02
METHOD_LZ4 = 0x82
METHOD_ZSTD = 0x90
HEADER = 9


def _f64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _f32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def _rot(v: int, shift: int) -> int:
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & M64


def _rot1(v: int, shift: int) -> int:
    return ((v >> shift) | (v << (64 - shift))) & M64


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _len16(u: int, v: int) -> int:
    a = ((u ^ v) * K_MUL) & M64
    a ^= a >> 47
    b = ((v ^ a) * K_MUL) & M64
    b ^= b >> 47
    return (b * K_MUL) & M64


def _len0to16(s: bytes, start: int, n: int) -> int:
    if n > 8:
        a = _f64(s, start)
        b = _f64(s, start + n - 8)
        return _len16(a, _rot1((b + n) & M64, n)) ^ b
    if n >= 4:
        a = _f32(s, start)
        return _len16((n + (a << 3)) & M64, _f32(s, start + n - 4))
    if n > 0:
        a, b, c = s[start], s[start + (n >> 1)], s[start + n - 1]
        y = (a + (b << 8)) & 0xFFFFFFFF
        z = (n + (c << 2)) & 0xFFFFFFFF
        return (_shift_mix((y * K2 ^ z * K3) & M64) * K2) & M64
    return K2


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = _f64(s, i), _f64(s, i + 8), _f64(s, i + 16), _f64(s, i + 24)
    a = (a + w) & M64
    b = _rot((b + a + z) & M64, 21)
    c = a
    a = (a + x + y) & M64
    b = (b + _rot(a, 44)) & M64
    return (a + z) & M64, (b + c) & M64


def _murmur(s: bytes, start: int, n: int, seed: tuple[int, int]) -> tuple[int, int]:
    a, b = seed
    c = d = 0
    remaining = n - 16
    if remaining <= 0:
        a = (_shift_mix((a * K1) & M64) * K1) & M64
        c = (b * K1 + _len0to16(s, start, n)) & M64
        d = _shift_mix((a + (_f64(s, start) if n >= 8 else c)) & M64)
    else:
        c = _len16((_f64(s, start + n - 8) + K1) & M64, a)
        d = _len16((b + n) & M64, (c + _f64(s, start + n - 16)) & M64)
        a = (a + d) & M64
        i = start
        while True:
            a ^= (_shift_mix((_f64(s, i) * K1) & M64) * K1) & M64
            a = (a * K1) & M64
            b ^= a
            c ^= (_shift_mix((_f64(s, i + 8) * K1) & M64) * K1) & M64
            c = (c * K1) & M64
            d ^= c
            i += 16
            remaining -= 16
            if remaining <= 0:
                break
    a = _len16(a, c)
    b = _len16(d, b)
    return a ^ b, _len16(b, a)


def _with_seed(s: bytes, start: int, n: int, seed: tuple[int, int]) -> tuple[int, int]:
    if n < 128:
        return _murmur(s, start, n, seed)
    x, y = seed
    z = (n * K1) & M64
    v0 = (_rot(y ^ K1, 49) * K1 + _f64(s, start)) & M64
    v1 = (_rot(v0, 42) * K1 + _f64(s, start + 8)) & M64
    w0 = (_rot((y + z) & M64, 35) * K1 + x) & M64
    w1 = (_rot((x + _f64(s, start + 88)) & M64, 53) * K1) & M64
    i = start
    while True:
        for _ in range(2):
            x = (_rot((x + y + v0 + _f64(s, i + 16)) & M64, 37) * K1) & M64
            y = (_rot((y + v1 + _f64(s, i + 48)) & M64, 42) * K1) & M64
            x ^= w1
            y ^= v0
            z = _rot(z ^ w0, 33)
            v0, v1 = _weak32(s, i, (v1 * K1) & M64, (x + w0) & M64)
            w0, w1 = _weak32(s, i + 32, (z + w1) & M64, y)
            z, x = x, z
            i += 64
        n -= 128
        if n < 128:
            break
    y = (y + _rot(w0, 37) * K0 + z) & M64
    x = (x + _rot((v0 + z) & M64, 49) * K0) & M64
    tail = 0
    while tail < n:
        tail += 32
        y = (_rot((y - x) & M64, 42) * K0 + v1) & M64
        w0 = (w0 + _f64(s, i + n - tail + 16)) & M64
        x = (_rot(x, 49) * K0 + w0) & M64
        w0 = (w0 + v0) & M64
        v0, v1 = _weak32(s, i + n - tail, v0, v1)
    x = _len16(x, v0)
    y = _len16(y, w0)
    return (_len16((x + v1) & M64, w1) + y) & M64, _len16((x + w1) & M64, (y + v1) & M64)


def city_hash128(s: bytes) -> tuple[int, int]:
    """CityHash128 v1.0.2 of ``s`` as (low, high) 64-bit halves."""
    n = len(s)
    if n >= 16:
        return _with_seed(s, 16, n - 16, (_f64(s, 0) ^ K3, _f64(s, 8)))
    if n >= 8:
        return _with_seed(b"", 0, 0, (_f64(s, 0) ^ ((n * K0) & M64), _f64(s, n - 8) ^ K1))
    return _with_seed(s, 0, n, (K0, K1))


def checksum(block: bytes) -> bytes:
    low, high = city_hash128(block)
    return struct.pack("<QQ", low, high)


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
