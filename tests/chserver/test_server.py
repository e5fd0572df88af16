"""The test ClickHouse server speaks the HTTP interface as clickhouse-connect and raw HTTP
clients see it. Runs against SPYGLASS_TEST_CLICKHOUSE_URL instead when that is set, so the
same assertions hold on a real server."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import clickhouse_connect
import httpx
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.chserver import ClickHouseHandle


def _client(url: str, **kwargs: Any) -> Any:
    u = urlparse(url)
    return clickhouse_connect.get_client(host=u.hostname, port=u.port, username=u.username,
                                         password=u.password or "", **kwargs)


@pytest.fixture(scope="module")
def ch(clickhouse: ClickHouseHandle) -> Iterator[tuple[str, str, Any]]:
    """(server URL, database, a client on that database), the database dropped after."""
    database = f"chserver_{uuid.uuid4().hex[:8]}"
    admin = _client(clickhouse.url)
    admin.command(f"CREATE DATABASE {database}")
    client = _client(clickhouse.url, database=database)
    client.command("CREATE TABLE t (a LowCardinality(String), b UInt32, c DateTime64(9, 'UTC'), "
                   "d Array(String), e Nullable(Float64)) ENGINE = MergeTree ORDER BY b")
    yield clickhouse.url, database, client
    client.close()
    admin.command(f"DROP DATABASE IF EXISTS {database}")
    admin.close()


def _http(url: str) -> tuple[str, tuple[str, str]]:
    u = urlparse(url)
    return f"http://{u.hostname}:{u.port}/", (u.username or "default", u.password or "")


def test_native_inserts_and_reads_round_trip_every_type(ch) -> None:
    _, _, client = ch
    client.command("TRUNCATE TABLE t")
    rows = [["x", 1, datetime(2024, 1, 1, 0, 0, 0, 123456), ["p", "q"], None],
            ["y", 2, datetime(2024, 1, 2), [], 1.5]]
    client.insert("t", rows, column_names=["a", "b", "c", "d", "e"])
    assert client.query("SELECT * FROM t ORDER BY b").result_rows == [tuple(r) for r in rows]
    assert client.query("SELECT b FROM t WHERE a = {a:String}", parameters={"a": "y"}
                        ).result_rows == [(2,)]
    raw = client.raw_query("SELECT a, b, d FROM t ORDER BY b", fmt="RowBinaryWithNamesAndTypes")
    assert raw.startswith(b"\x03\x01a\x01b\x01d")
    lines = client.raw_query("SELECT a, e FROM t ORDER BY b", fmt="JSONEachRow").splitlines()
    assert [json.loads(x) for x in lines] == [{"a": "x", "e": None}, {"a": "y", "e": 1.5}]


@pytest.mark.parametrize("compression", ["lz4", "zstd", "gzip"])
def test_compressed_inserts_and_responses(ch, compression: str) -> None:
    url, database, _ = ch
    client = _client(url, database=database, compress=compression)
    before = client.command("SELECT count() FROM t")
    client.insert("t", [["z", 9, datetime(2024, 1, 3), [], None]], column_names=["a", "b", "c", "d", "e"])
    assert client.query("SELECT count() FROM t").result_rows == [(before + 1,)]
    base, auth = _http(url)
    answer = httpx.post(base, params={"database": database, "enable_http_compression": "1"},
                        content=b"SELECT 1 AS one FORMAT JSONEachRow", auth=auth,
                        headers={"Accept-Encoding": compression})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == compression


def test_gzip_request_body_and_query_in_the_url(ch) -> None:
    url, database, client = ch
    base, auth = _http(url)
    data = b'{"a":"g","b":77,"c":"2024-01-05 00:00:00","d":["k"],"e":2}\n'
    answer = httpx.post(base, params={"database": database,
                                      "query": "INSERT INTO t FORMAT JSONEachRow"},
                        content=gzip.compress(data), auth=auth,
                        headers={"Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.headers["X-ClickHouse-Summary"])["written_rows"] == "1"
    assert client.query("SELECT d FROM t WHERE b = 77").result_rows == [(["k"],)]


def test_errors_carry_the_clickhouse_code_status_and_text(ch) -> None:
    url, database, client = ch
    with pytest.raises(DatabaseError) as err:
        client.query("SELECT * FROM no_such_table")
    assert err.value.code == 60 and "UNKNOWN_TABLE" in str(err.value)
    base, auth = _http(url)
    syntax = httpx.post(base, content=b"SELEKT 1", auth=auth)
    assert syntax.status_code == 400
    assert syntax.headers["X-ClickHouse-Exception-Code"] == "62"
    assert syntax.text.startswith("Code: 62. DB::Exception:")
    multi = httpx.post(base, content=b"SELECT 1; SELECT 2", auth=auth)
    assert multi.headers["X-ClickHouse-Exception-Code"] == "62"
    assert "Multi-statements are not allowed" in multi.text
    readonly = httpx.get(base, params={"query": f"CREATE TABLE {database}.x (a UInt8) "
                                                "ENGINE = Memory"}, auth=auth)
    assert readonly.headers["X-ClickHouse-Exception-Code"] == "164"
    denied = httpx.post(base, content=b"SELECT 1", auth=(auth[0], "wrong"))
    assert denied.status_code == 403 and denied.headers["X-ClickHouse-Exception-Code"] == "516"
    with pytest.raises(DatabaseError) as err:
        _client(url.replace(f":{urlparse(url).password}@", ":wrong@"))
    assert err.value.code == 516


def test_headers_formats_settings_and_ping(ch) -> None:
    url, database, _ = ch
    base, auth = _http(url)
    assert httpx.get(f"{base}ping").text == "Ok.\n"
    answer = httpx.post(base, params={"database": database, "default_format": "JSONEachRow",
                                      "query_id": "q-1", "max_threads": "1",
                                      "param_n": "3"},
                        content=b"SELECT currentDatabase() AS db, {n:UInt8} + 1 AS n, "
                                b"getSetting('max_threads') AS mt", auth=auth)
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.text) == {"db": database, "n": 4, "mt": 1}
    assert answer.headers["X-ClickHouse-Query-Id"] == "q-1"
    assert answer.headers["X-ClickHouse-Format"] == "JSONEachRow"
    assert answer.headers["X-ClickHouse-Timezone"]
    assert json.loads(answer.headers["X-ClickHouse-Summary"])["read_rows"]
    # A URL setting applies to its statement only.
    after = httpx.post(base, content=b"SELECT getSetting('max_threads') = 1 FORMAT TSV", auth=auth)
    assert after.text.strip() in ("0", "1")
    ddl = httpx.post(base, params={"database": database},
                     content=b"CREATE TABLE IF NOT EXISTS t2 (a UInt8) ENGINE = Memory", auth=auth)
    assert ddl.status_code == 200 and "X-ClickHouse-Format" not in ddl.headers


def test_sessions_keep_temporary_tables_and_set(ch) -> None:
    url, database, _ = ch
    session = _client(url, database=database, session_id=f"s-{uuid.uuid4().hex}")
    session.command("CREATE TEMPORARY TABLE tmp (x UInt8)")
    session.command("INSERT INTO tmp VALUES (7)")
    session.command("SET max_threads = 3")
    assert session.query("SELECT x, getSetting('max_threads') FROM tmp").result_rows == [(7, 3)]
    other = _client(url, database=database)
    with pytest.raises(DatabaseError):
        other.query("SELECT x FROM tmp")
    base, auth = _http(url)
    missing = httpx.post(base, params={"session_id": "nope", "session_check": "1"},
                         content=b"SELECT 1", auth=auth)
    assert missing.headers["X-ClickHouse-Exception-Code"] == "372"


def test_clickhouse_block_compression_both_ways(ch) -> None:
    """compress=1 answers and decompress=1 bodies in ClickHouse's compressed blocks."""
    from tests.chserver import compressed

    url, database, client = ch
    base, auth = _http(url)
    answer = httpx.post(base, params={"compress": "1", "database": database},
                        content=b"SELECT number FROM numbers(3) FORMAT CSV", auth=auth)
    assert answer.status_code == 200, answer.text
    assert answer.content[16] == compressed.METHOD_LZ4
    assert compressed.decompress(answer.content) == b"0\n1\n2\n"
    data = b'{"a":"c","b":88,"c":"2024-01-06 00:00:00","d":[],"e":null}\n'
    for method in ("lz4", "zstd", "none"):
        sent = httpx.post(base, params={"decompress": "1", "database": database,
                                        "query": "INSERT INTO t FORMAT JSONEachRow"},
                          content=compressed.compress(data, method), auth=auth)
        assert sent.status_code == 200, sent.text
    assert client.query("SELECT count() FROM t WHERE b = 88").result_rows == [(3,)]
    corrupt = bytearray(compressed.compress(data))
    corrupt[-1] ^= 0xFF
    bad = httpx.post(base, params={"decompress": "1", "database": database,
                                   "query": "INSERT INTO t FORMAT JSONEachRow"},
                     content=bytes(corrupt), auth=auth)
    assert bad.headers["X-ClickHouse-Exception-Code"] == "40"
