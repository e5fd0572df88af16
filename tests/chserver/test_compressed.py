"""CityHash128 v1.0.2 and ClickHouse's compressed blocks, checked against the checksums
ClickHouse itself writes: chDB's MergeTree column files are sequences of such blocks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.chserver import REPO_ROOT, compressed


def test_checksums_match_the_blocks_clickhouse_writes(tmp_path: Path) -> None:
    # Columns of very different sizes so blocks exercise every CityHash128 branch
    # (under 8, 8-16, 17-127 and 128+ bytes, several blocks per file).
    code = textwrap.dedent(f"""
        from chdb.session import Session
        s = Session({str(tmp_path / 'chdb')!r})
        for i, (codec, n) in enumerate([("LZ4", 1), ("LZ4", 3), ("NONE", 7), ("NONE", 50),
                                        ("ZSTD(1)", 1000), ("LZ4", 100000)]):
            s.query(f"CREATE TABLE t{{i}} (a String CODEC({{codec}})) ENGINE = MergeTree "
                    "ORDER BY tuple() SETTINGS min_bytes_for_wide_part = 0")
            s.query(f"INSERT INTO t{{i}} SELECT repeat(toString(number), number % 13) "
                    f"FROM numbers({{n}})")
        s.close()
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = [f for f in tmp_path.glob("chdb/**/a.bin") if f.stat().st_size]
    assert len(files) >= 5
    sizes = set()
    for f in files:
        data = f.read_bytes()
        assert compressed.decompress(data) is not None  # raises on a checksum mismatch
        sizes.add(len(data))
    assert min(sizes) < 16 + 9 + 16 and max(sizes) > 100_000


@pytest.mark.parametrize("method", ["lz4", "zstd", "none"])
def test_round_trip_and_corruption(method: str) -> None:
    data = bytes(range(256)) * 5000
    packed = compressed.compress(data, method, block_size=100_000)
    assert compressed.decompress(packed) == data
    broken = bytearray(packed)
    broken[40] ^= 1
    with pytest.raises(compressed.ChecksumError):
        compressed.decompress(bytes(broken))
