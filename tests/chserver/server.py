"""A ClickHouse HTTP interface over chDB, for tests only (never imported by product code).

Run as ``python -m tests.chserver.server --path DIR [--port N] [--user U --password P]``;
it prints ``listening on http://127.0.0.1:PORT`` once ready. The fixture in
``tests/chserver/__init__.py`` starts it as a subprocess: chDB allows one data path per
process, and the pytest process opens other chDB data dirs itself.

What it speaks, following ClickHouse's HTTP handler (src/Server/HTTPHandler.cpp) and what
clickhouse-connect sends (driver/_backend/httpcommon.py, http_sync.py):

- ``GET /ping``, ``GET /`` (no query) and ``/replicas_status`` answer ``Ok.``.
- The statement comes from the ``query`` URL parameter, the POST body, or both (the URL part
  first, then the body, which for an ``INSERT ... FORMAT x`` is the data), or from
  ``multipart/form-data`` fields (``query``, ``param_*``).
- ``param_NAME`` bind parameters for ``{NAME:Type}`` placeholders, in ClickHouse's escaped
  text form; every other URL parameter not reserved by the HTTP interface is a setting,
  applied to this statement only (``SET`` inside a session persists, as on a server).
- ``database`` (or ``X-ClickHouse-Database``), ``default_format`` (or
  ``X-ClickHouse-Format``), ``query_id``, ``session_id`` / ``session_timeout`` /
  ``session_check`` / ``close_session``; ``user``/``password`` parameters, Basic auth or
  ``X-ClickHouse-User``/``X-ClickHouse-Key`` (wrong credentials: code 516, HTTP 403).
- ``GET`` runs read-only statements only (code 164 otherwise), like ``readonly=2``.
- Request bodies compressed with ``Content-Encoding`` gzip, deflate, zstd, lz4 (frame) or br
  (when brotli is installed); responses compressed the same way when
  ``enable_http_compression=1`` and ``Accept-Encoding`` names one (the client's first choice
  wins). ``decompress=1`` bodies and ``compress=1`` responses use ClickHouse's own block
  compression (CityHash128 checksums, LZ4/ZSTD/none per ``network_compression_method``;
  tests/chserver/compressed.py).
- Results in whatever format the statement's ``FORMAT`` clause or ``default_format`` names
  (TabSeparated otherwise), produced by chDB itself: Native, RowBinaryWithNamesAndTypes,
  JSONEachRow, JSON... are ClickHouse's own bytes. Inserts stream the body into chDB in the
  named input format (Native from ``client.insert``, JSONEachRow from ``raw_insert``...).
- Headers ``X-ClickHouse-Query-Id``, ``X-ClickHouse-Format`` (result-producing statements),
  ``X-ClickHouse-Timezone``, ``X-ClickHouse-Summary`` (read/written rows and bytes, elapsed),
  ``X-ClickHouse-Server-Display-Name``; with ``send_progress_in_http_headers=1`` one
  ``X-ClickHouse-Progress``.
- Errors as ClickHouse sends them: the HTTP status ClickHouse maps the code to (400 for
  syntax errors, 404 unknown table/database, 403 authentication, else 500), the body
  ``Code: N. DB::Exception: ... (NAME) (version V)`` and ``X-ClickHouse-Exception-Code: N``.
  Multi-statements are refused (code 62) as the HTTP interface does.

What it cannot imitate faithfully (keep such cases to the real-server tests that run when
``SPYGLASS_TEST_CLICKHOUSE_URL`` is set):

- Concurrency: every statement runs under one lock, one at a time. Concurrent sessions,
  parallel inserts racing merges, ``KILL QUERY``, query cancellation when the client goes
  away, and timeouts under load behave differently on a server.
- Mutations (``ALTER ... UPDATE/DELETE``) are applied by chDB's background pool like a server's,
  but there is no ``mutations_sync`` race with other clients, and no replicas.
- TTL and merge timing: background merges (and with them ReplacingMergeTree collapsing and
  TTL deletes) run on chDB's schedule; ``OPTIMIZE ... FINAL`` works.
- Responses are buffered whole (no streaming, so ``wait_end_of_query`` is moot and an error
  never arrives mid-stream with ``X-ClickHouse-Exception-Tag``); a result larger than memory
  fails here where a server would stream it.
- ``client_protocol_version`` is ignored: Native output has no BlockInfo, so
  clickhouse-connect's protocol probe falls back to version 0 (which it supports).
- External data (multipart file parts with ``_structure``/``_format``), quotas, roles,
  users other than the configured one, grants, ``ON CLUSTER``, Keeper and the
  ``Replicated*``/``Distributed`` engines are not there: chDB is a single local engine.
- ``system.*`` tables describe chDB (clickhouse-local), not a server: ``system.clusters``
  is empty, ``system.processes`` lists only the running statement.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import sys
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# URL parameters the HTTP interface reserves; every other parameter is a setting.
RESERVED_PARAMS = frozenset({
    "query", "database", "default_format", "user", "password", "quota_key", "query_id",
    "session_id", "session_timeout", "session_check", "close_session", "compress", "decompress",
    "buffer_size", "wait_end_of_query", "client_protocol_version", "role", "stacktrace",
})
# Settings that shape the HTTP exchange itself; accepted like on a server and applied too.
HTTP_SETTINGS = frozenset({
    "enable_http_compression", "http_zlib_compression_level", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "cancel_http_readonly_queries_on_client_close",
})
DEFAULT_SESSION_TIMEOUT_S = 60
MAX_SESSION_TIMEOUT_S = 3600

# ClickHouse error codes the server itself raises (src/Common/ErrorCodes.cpp).
SYNTAX_ERROR = 62
UNKNOWN_FORMAT = 73
NOT_IMPLEMENTED = 48
READONLY = 164
QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING = 216
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
INVALID_SESSION_TIMEOUT = 374
UNKNOWN_COMPRESSION = 429  # UNKNOWN_COMPRESSION_METHOD
AUTHENTICATION_FAILED = 516
ERROR_NAMES = {
    SYNTAX_ERROR: "SYNTAX_ERROR", UNKNOWN_FORMAT: "UNKNOWN_FORMAT",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED", READONLY: "READONLY",
    QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING: "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
    SESSION_NOT_FOUND: "SESSION_NOT_FOUND", SESSION_IS_LOCKED: "SESSION_IS_LOCKED",
    INVALID_SESSION_TIMEOUT: "INVALID_SESSION_TIMEOUT",
    UNKNOWN_COMPRESSION: "UNKNOWN_COMPRESSION_METHOD",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
}

# exceptionCodeToHTTPStatus in ClickHouse's HTTPHandler.cpp (the codes Spyglass can meet).
_HTTP_STATUS = {
    194: 401,  # REQUIRED_PASSWORD
    192: 403, 193: 403, AUTHENTICATION_FAILED: 403, 512: 403,
    36: 400, 427: 400, 6: 400, 25: 400, 38: 400, 26: 400, 27: 400, 32: 400, 33: 400, 34: 400,
    35: 400, 41: 400, 42: 400, 43: 400, 44: 400, 53: 400, 70: 400, SYNTAX_ERROR: 400,
    69: 400, 130: 400, 131: 400, 47: 400, 112: 400, 117: 400, 121: 400, 71: 400, 145: 400,
    137: 400, 129: 400, 72: 400, 115: 400, 457: 400, 456: 400, 190: 400,
    60: 404, 46: 404, 81: 404, UNKNOWN_FORMAT: 404, 16: 404, 113: 404,
    101: 400, 209: 503, 76: 503, 159: 408, 439: 503, NOT_IMPLEMENTED: 501,
}

_CODE = re.compile(r"^\s*Code:\s*(\d+)\.")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*$")
_FORMAT_AT_END = re.compile(r"\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\b", re.IGNORECASE)
_INSERT_FORMAT = re.compile(r"\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
# Statements that produce a result set (and so carry X-ClickHouse-Format and are allowed
# over GET).
_RESULT_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS",
                                "EXPLAIN", "CHECK", "VALUES"})
_READ_ONLY_STATEMENTS = _RESULT_STATEMENTS | {"SET", "USE"}
_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNames": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNamesAndTypes": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "CSVWithNames": "text/csv; charset=UTF-8; header=present",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSONCompactEachRow": "application/x-ndjson; charset=UTF-8",
    "Native": "application/octet-stream",
    "RowBinary": "application/octet-stream",
    "RowBinaryWithNames": "application/octet-stream",
    "RowBinaryWithNamesAndTypes": "application/octet-stream",
    "Parquet": "application/octet-stream",
    "Arrow": "application/octet-stream",
    "ArrowStream": "application/octet-stream",
}


class ClickHouseError(Exception):
    """An error answered the way ClickHouse answers it: code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def from_chdb(cls, exc: BaseException) -> ClickHouseError:
        text = str(exc).strip()
        # chDB wraps some errors ("Streaming insert append failed: Code: 27. ...").
        at = text.find("Code: ")
        if at > 0:
            text = text[at:]
        match = _CODE.match(text)
        if not match:
            return cls(1001, f"Code: 1001. DB::Exception: {text}. (STD_EXCEPTION)")
        return cls(int(match.group(1)), text)

    @classmethod
    def make(cls, code: int, message: str) -> ClickHouseError:
        return cls(code, f"Code: {code}. DB::Exception: {message}. ({ERROR_NAMES.get(code, 'UNKNOWN')})")

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 500)


@dataclass
class Request:
    """One HTTP request, decoded: what the engine needs to run it."""

    method: str
    sql: str
    data: bytes | None  # INSERT data that followed the statement, if any
    params: dict[str, str]  # bind parameters, without the param_ prefix
    settings: dict[str, str]
    database: str | None
    default_format: str
    session_id: str | None
    session_timeout: float
    session_check: bool
    close_session: bool
    query_id: str
    compress: bool = False  # answer in ClickHouse's compressed blocks (compress=1)


@dataclass
class Result:
    body: bytes
    fmt: str | None  # output format of a result-producing statement
    summary: dict[str, str] = field(default_factory=dict)


@dataclass
class _Session:
    conn: Any
    timeout_s: float
    last_used: float
    busy: bool = False


def strip_comments(sql: str) -> str:
    """``sql`` with comments blanked out (same length) and string literals kept."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))  # same length: offsets stay valid
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(" " * (end - i))
            i = end
        elif ch in "'\"`":
            j = i + 1
            while j < n and sql[j] != ch:
                j += 2 if sql[j] == "\\" else 1
            out.append(sql[i:j + 1])
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def statement_ends(sql: str) -> list[int]:
    """Offsets of ``;`` outside string literals (comments already stripped)."""
    ends: list[int] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            j = i + 1
            while j < n and sql[j] != ch:
                j += 2 if sql[j] == "\\" else 1
            i = j + 1
            continue
        if ch == ";":
            ends.append(i)
        i += 1
    return ends


def first_keyword(sql: str) -> str:
    match = _FIRST_WORD.search(sql.lstrip(" \t\r\n("))
    return match.group(0).upper() if match else ""


def split_insert_data(sql: str, query_from_url: bool, body: bytes) -> tuple[str, str | None, bytes | None]:
    """(statement, input format, data) of an INSERT; format is None for INSERT ... SELECT /
    VALUES (run as a plain statement). With the statement in the URL, the body is the data;
    else the data starts after the format name (skipping blanks and one newline)."""
    head = sql
    # The statement is short; only its beginning is scanned, never megabytes of data.
    match = _INSERT_FORMAT.search(strip_comments(head[:65536]))
    if not match:
        return sql, None, None
    fmt = match.group(1)
    statement = head[:match.start()].rstrip()
    if query_from_url:
        rest = head[match.end():]
        data = rest.encode(errors="surrogateescape") + body if rest.strip() else body
        return statement, fmt, data
    raw = sql.encode(errors="surrogateescape")
    pos = len(sql[:match.end()].encode(errors="surrogateescape"))
    while pos < len(raw) and raw[pos:pos + 1] in (b" ", b"\t", b"\f"):
        pos += 1
    if raw[pos:pos + 1] == b"\r":
        pos += 1
    if raw[pos:pos + 1] == b"\n":
        pos += 1
    return statement, fmt, raw[pos:]


def decompress_body(body: bytes, encoding: str) -> bytes:
    """A request body per its Content-Encoding, as ClickHouse accepts them."""
    encoding = encoding.strip().lower()
    if not encoding or encoding == "identity":
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "zstd":
            from backports import zstd

            return zstd.decompress(body)
        if encoding == "lz4":
            import lz4.frame

            return lz4.frame.decompress(body)
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            return brotli.decompress(body)
    except ImportError:
        pass
    except Exception as exc:
        raise ClickHouseError.make(
            271, f"Cannot decompress {encoding} request body: {exc}") from exc  # CANNOT_DECOMPRESS
    raise ClickHouseError.make(UNKNOWN_COMPRESSION, f"Unknown compression method: {encoding}")


def compress_body(body: bytes, encoding: str, level: int) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=max(1, min(level, 9)))
    if encoding == "deflate":
        return zlib.compress(body, max(1, min(level, 9)))
    if encoding == "zstd":
        from backports import zstd

        return zstd.compress(body)
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.compress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]

        return brotli.compress(body)
    return body


def _supported_encodings() -> list[str]:
    found = ["gzip", "deflate"]
    for name, module in (("zstd", "backports.zstd"), ("lz4", "lz4.frame"), ("br", "brotli")):
        try:
            __import__(module)
            found.append(name)
        except ImportError:
            pass
    return found


SUPPORTED_ENCODINGS = _supported_encodings()


def setting_literal(value: str) -> str:
    """A URL setting value as a SQL string literal (ClickHouse parses settings from text)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """chDB behind one lock: a fresh connection per sessionless statement (so settings and
    temporary tables never leak between requests) and one connection per HTTP session."""

    def __init__(self, path: str) -> None:
        from chdb.session import Session

        self._session_cls = Session
        self.path = path
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        # chDB keeps the engine up while any connection is open; this one always is.
        self._anchor = Session(path)
        self.version = self._anchor.query("SELECT version()", "TabSeparated").bytes().decode().strip()
        self.timezone = self._anchor.query("SELECT timezone()", "TabSeparated").bytes().decode().strip()
        self._sessions: dict[str, _Session] = {}
        self._running: set[str] = set()

    def close(self) -> None:
        with self._lock:
            for s in self._sessions.values():
                s.conn.close()
            self._sessions.clear()
            self._anchor.close()

    # -- sessions ----------------------------------------------------------------------
    def _claim_session(self, req: Request) -> _Session | None:
        if not req.session_id:
            return None
        now = time.monotonic()
        with self._state_lock:
            for sid, s in list(self._sessions.items()):
                if not s.busy and now - s.last_used > s.timeout_s:
                    del self._sessions[sid]
                    with self._lock:
                        s.conn.close()
            session = self._sessions.get(req.session_id)
            if session is None:
                if req.session_check:
                    raise ClickHouseError.make(
                        SESSION_NOT_FOUND, f"Session {req.session_id} not found")
                session = _Session(self._session_cls(self.path), req.session_timeout, now)
                self._sessions[req.session_id] = session
            if session.busy:
                raise ClickHouseError.make(
                    SESSION_IS_LOCKED,
                    f"Session {req.session_id} is locked by a concurrent client")
            session.busy = True
            session.timeout_s = req.session_timeout
            return session

    def _release_session(self, req: Request, session: _Session | None) -> None:
        if session is None:
            return
        with self._state_lock:
            session.busy = False
            session.last_used = time.monotonic()
            if req.close_session:
                self._sessions.pop(req.session_id or "", None)
                with self._lock:
                    session.conn.close()

    # -- execution ---------------------------------------------------------------------
    def run(self, req: Request) -> Result:
        with self._state_lock:
            if req.query_id in self._running:
                raise ClickHouseError.make(
                    QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING,
                    f"Query with id = {req.query_id} is already running")
            self._running.add(req.query_id)
        try:
            session = self._claim_session(req)
            try:
                with self._lock:
                    return self._run_locked(req, session)
            finally:
                self._release_session(req, session)
        finally:
            with self._state_lock:
                self._running.discard(req.query_id)

    def _run_locked(self, req: Request, session: _Session | None) -> Result:
        conn = session.conn if session else self._session_cls(self.path)
        restore: list[str] = []
        try:
            if session:
                restore = self._session_restore(conn, req)
            try:
                if req.database:
                    conn.query(f"USE `{req.database.replace('`', '')}`", "TabSeparated")
                for name, value in req.settings.items():
                    conn.query(f"SET {name} = {setting_literal(value)}", "TabSeparated")
                return self._execute(conn, req)
            finally:
                for statement in restore:
                    try:
                        conn.query(statement, "TabSeparated")
                    except Exception:
                        pass
        except ClickHouseError:
            raise
        except Exception as exc:
            raise ClickHouseError.from_chdb(exc) from exc
        finally:
            if session is None:
                conn.close()

    @staticmethod
    def _session_restore(conn: Any, req: Request) -> list[str]:
        """Statements that undo this request's URL settings and database in a session:
        on a server they apply to one statement, while ``SET``/``USE`` statements persist."""
        restore: list[str] = []
        if req.database:
            current = conn.query("SELECT currentDatabase()", "TabSeparated").bytes().decode().strip()
            restore.append(f"USE `{current}`")
        if req.settings:
            names = ", ".join(setting_literal(n) for n in req.settings)
            rows = conn.query(
                f"SELECT name, value, changed FROM system.settings WHERE name IN ({names})",
                "JSONEachRow").bytes().splitlines()
            for line in rows:
                row = json.loads(line)
                restore.append(f"SET {row['name']} = {setting_literal(row['value'])}"
                               if row["changed"] else f"SET {row['name']} = DEFAULT")
        return restore

    def _execute(self, conn: Any, req: Request) -> Result:
        started = time.perf_counter_ns()
        if req.data is not None:
            statement, fmt, data = req.sql, req.default_format, req.data
            with conn.send_insert(statement, fmt) as ins:
                if data:
                    ins.append(data)
                done = ins.finish()
            elapsed = time.perf_counter_ns() - started
            written = int(getattr(done, "rows_written", 0) or 0)
            written_bytes = int(getattr(done, "bytes_written", 0) or 0)
            return Result(b"", None, _summary(0, 0, written, written_bytes, 0, 0, elapsed))
        keyword = first_keyword(req.sql)
        produces = keyword in _RESULT_STATEMENTS
        match = _FORMAT_AT_END.search(strip_comments(req.sql).rstrip())
        fmt = match.group(1) if match and produces else req.default_format
        result = conn.query(req.sql, fmt, params=req.params or None)
        body = result.bytes() if result is not None else b""
        elapsed = time.perf_counter_ns() - started
        rows_read = int(result.rows_read()) if result is not None else 0
        bytes_read = int(result.bytes_read()) if result is not None else 0
        summary = _summary(rows_read, bytes_read, 0, 0, 0, len(body), elapsed)
        return Result(body or b"", fmt if produces else None, summary)


def _summary(read_rows: int, read_bytes: int, written_rows: int, written_bytes: int,
             result_rows: int, result_bytes: int, elapsed_ns: int) -> dict[str, str]:
    # ClickHouse sends every number of X-ClickHouse-Summary as a string.
    return {"read_rows": str(read_rows), "read_bytes": str(read_bytes),
            "written_rows": str(written_rows), "written_bytes": str(written_bytes),
            "total_rows_to_read": str(read_rows), "result_rows": str(result_rows),
            "result_bytes": str(result_bytes), "elapsed_ns": str(elapsed_ns)}


class Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection (keep-alive) of the test server."""

    protocol_version = "HTTP/1.1"
    server_version = "ClickHouse"
    sys_version = ""
    engine: Engine
    users: dict[str, str]
    display_name = "spyglass-test-clickhouse"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    # -- plumbing ----------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16) if line else 0
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Keep-Alive", "timeout=30")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, err: ClickHouseError, query_id: str) -> None:
        body = err.message
        if not _NAME.search(body):
            body += f" ({ERROR_NAMES.get(err.code, 'UNKNOWN')})"
        body = f"{body} (version {self.engine.version} (official build))\n"
        self._send(err.http_status, body.encode(), {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(err.code),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": self.display_name,
            "X-ClickHouse-Timezone": self.engine.timezone,
        })

    def _ok(self) -> None:
        self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})

    # -- methods -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._ok()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if url.path in ("/ping", "/replicas_status"):
            self._ok()
            return
        query_id = ""
        try:
            if url.path not in ("/", ""):
                self._send(404, f"There is no handle {url.path}\n\nUse / or /ping for health "
                                f"checks.\n".encode(), {"Content-Type": "text/plain; charset=UTF-8"})
                return
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            query_id = params.get("query_id") or str(uuid.uuid4())
            self._authenticate(params)
            req = self._request(params, body, query_id)
            if req is None:
                self._ok()
                return
            if req.method == "GET" and first_keyword(req.sql) not in _READ_ONLY_STATEMENTS:
                raise ClickHouseError.make(
                    READONLY, "Cannot execute query in readonly mode. For queries over HTTP, "
                              "method GET implies readonly. You should use method POST for "
                              "modifying queries")
            result = self.engine.run(req)
        except ClickHouseError as err:
            self._send_error(err, query_id)
            return
        except Exception as exc:  # a bug here must still answer like a server
            self._send_error(ClickHouseError.make(1001, f"test server: {exc!r}"), query_id)
            return
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": self.display_name,
            "X-ClickHouse-Timezone": self.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(result.summary, separators=(",", ":")),
            "Content-Type": _CONTENT_TYPES.get(result.fmt or "", "text/plain; charset=UTF-8"),
        }
        if result.fmt:
            headers["X-ClickHouse-Format"] = result.fmt
        if req.settings.get("send_progress_in_http_headers") == "1":
            headers["X-ClickHouse-Progress"] = json.dumps(
                {k: result.summary[k] for k in ("read_rows", "read_bytes", "written_rows",
                                                "written_bytes", "total_rows_to_read",
                                                "result_rows", "result_bytes", "elapsed_ns")},
                separators=(",", ":"))
        payload = result.body
        if req.compress and payload:
            from tests.chserver import compressed

            method = req.settings.get("network_compression_method", "lz4").lower()
            payload = compressed.compress(payload, "zstd" if method == "zstd" else
                                          "none" if method == "none" else "lz4")
        if req.settings.get("enable_http_compression") == "1" and payload:
            accepted = [e.strip().split(";")[0].lower()
                        for e in self.headers.get("Accept-Encoding", "").split(",") if e.strip()]
            chosen = next((e for e in accepted if e in SUPPORTED_ENCODINGS), None)
            if chosen:
                level = int(req.settings.get("http_zlib_compression_level", "3") or 3)
                payload = compress_body(payload, chosen, level)
                headers["Content-Encoding"] = chosen
        self._send(200, payload, headers)

    def _authenticate(self, params: dict[str, str]) -> None:
        user = params.get("user") or self.headers.get("X-ClickHouse-User")
        password = params.get("password") or self.headers.get("X-ClickHouse-Key") or ""
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth[6:]).decode(errors="replace")
            user, _, password = decoded.partition(":")
        user = user or "default"
        if self.users.get(user) != password:
            raise ClickHouseError.make(
                AUTHENTICATION_FAILED,
                f"{user}: Authentication failed: password is incorrect, or there is no user "
                f"with such name")

    def _request(self, params: dict[str, str], raw_body: bytes, query_id: str) -> Request | None:
        bind: dict[str, str] = {}
        body = decompress_body(raw_body, self.headers.get("Content-Encoding", ""))
        if params.get("decompress") in ("1", "true") and body:
            from tests.chserver import compressed

            try:
                body = compressed.decompress(body)
            except compressed.ChecksumError as exc:
                raise ClickHouseError.make(40, f"{exc}") from exc  # CHECKSUM_DOESNT_MATCH
            except Exception as exc:
                raise ClickHouseError.make(271, f"Cannot decompress: {exc}") from exc
        url_query = params.get("query")
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    raise ClickHouseError.make(
                        NOT_IMPLEMENTED, "the test server does not implement external data")
                value = part.get_payload(decode=True).decode()
                if name == "query":
                    url_query = (url_query + "\n" + value) if url_query else value
                elif name and name.startswith("param_"):
                    bind[name[6:]] = value
            body = b""
        for name, value in params.items():
            if name.startswith("param_"):
                bind[name[6:]] = value
        body_text = body.decode("utf-8", errors="surrogateescape")
        query_from_url = url_query is not None
        if url_query is None:
            text = body_text
        elif body and not _INSERT.match(url_query):
            # ClickHouse reads the URL's query followed by the body as one statement.
            text, query_from_url = url_query + "\n" + body_text, False
        else:
            text = url_query
        if not text.strip():
            if self.command == "GET" and not body:
                return None
            raise ClickHouseError.make(SYNTAX_ERROR, "Empty query")
        default_format = (params.get("default_format") or self.headers.get("X-ClickHouse-Format")
                          or "TabSeparated")
        data: bytes | None = None
        if _INSERT.match(text):
            statement, fmt, data = split_insert_data(text, query_from_url,
                                                     body if query_from_url else b"")
            if fmt is not None:
                text, default_format = statement, fmt
            elif query_from_url and body:
                text = text + "\n" + body_text
        if data is None:
            stripped = strip_comments(text)
            ends = statement_ends(stripped)
            if ends and stripped[ends[0] + 1:].strip(" \t\r\n;"):
                raise ClickHouseError.make(
                    SYNTAX_ERROR, f"Syntax error (Multi-statements are not allowed): failed at "
                                  f"position {ends[0] + 1} (end of query)")
        settings = {k: v for k, v in params.items()
                    if k not in RESERVED_PARAMS and not k.startswith("param_")}
        try:
            timeout = float(params.get("session_timeout") or DEFAULT_SESSION_TIMEOUT_S)
        except ValueError:
            timeout = -1
        if not 0 <= timeout <= MAX_SESSION_TIMEOUT_S:
            raise ClickHouseError.make(
                INVALID_SESSION_TIMEOUT,
                f"Invalid session timeout: '{params.get('session_timeout')}'")
        return Request(
            method=self.command, sql=text, data=data, params=bind, settings=settings,
            database=params.get("database") or self.headers.get("X-ClickHouse-Database"),
            default_format=default_format, session_id=params.get("session_id") or None,
            session_timeout=timeout, session_check=params.get("session_check") in ("1", "true"),
            close_session=params.get("close_session") in ("1", "true"), query_id=query_id,
            compress=params.get("compress") in ("1", "true"))


class TestClickHouseServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False


def serve(path: str, host: str, port: int, users: dict[str, str], verbose: bool = False) -> None:
    engine = Engine(path)
    handler = type("BoundHandler", (Handler,), {"engine": engine, "users": users})
    httpd = TestClickHouseServer((host, port), handler)
    httpd.verbose = verbose
    print(f"listening on http://{host}:{httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        engine.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user", default="default")
    parser.add_argument("--password", default="")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(args.path, args.host, args.port, {args.user: args.password}, args.verbose)


if __name__ == "__main__":
    main()
