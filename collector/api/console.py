"""The web console: its static files at ``/`` and the two aggregates only it needs.

Static files: Vite names every file under ``assets/`` by its content hash, so those are cached forever
(``immutable``); ``index.html`` names the current hashes and must be revalidated on every
load (``no-cache``). Any other GET path that is not an API, OTLP, schema or health path is a
console route (``/traces/<id>``, ``/monitoring``...) and gets ``index.html``, so deep links
and reloads work. Without a build, ``/`` explains how to make one instead of a blank page.

Aggregates (``/api/console/...``): guardrail verdicts and monitor scores over time for the
Monitoring view, computed in ClickHouse like ``/api/stats`` so the browser never downloads
raw spans or feedback rows to count them.
"""

from __future__ import annotations

import html
import mimetypes
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import File

from collector.api.stats import MAX_POINTS, auto_bucket, bucket_label
from collector.queries.access import scoped_project, storage_of
from collector.queries.errors import EXCEPTION_HANDLERS, BadParameter
from collector.queries.params import parse_choice, parse_duration, parse_range
from collector.queries.sql import SPANS, TIME_TYPE, Filters, as_float, as_int, to_ch_time
from common import attributes as A
from console import dist_dir, is_built

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
SHORT = "public, max-age=300"

# Paths owned by the collector itself: never answered with the console's index.html.
RESERVED_PREFIXES = ("api", "v1", "schema", "healthz")

# Requests for these are for files; a client route never ends like this.
STATIC_SUFFIXES = frozenset({".js", ".mjs", ".css", ".map", ".png", ".jpg", ".svg", ".ico",
                             ".webp", ".woff", ".woff2", ".txt", ".json", ".html"})

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/css", ".css")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/json", ".map")


def _not_built_page(directory: Path) -> Response[str]:
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spyglass: console not built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#111827}}
pre{{background:#f3f4f6;padding:.75rem 1rem;border-radius:6px}}code{{font-family:ui-monospace,monospace}}</style>
</head><body>
<h1>The Spyglass console is not built</h1>
<p>The collector is running and receiving traces, but the web console's files are missing
from <code>{html.escape(str(directory))}</code>.</p>
<p>Build them from the repository root with:</p>
<pre><code>make console</code></pre>
<p>or, by hand (needs Node.js 20.19+ and npm):</p>
<pre><code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code></pre>
<p>then reload this page. The query API answers meanwhile at <a href="/api/projects">/api/projects</a>
and its reference is at <a href="/schema">/schema</a>.</p>
</body></html>"""
    return Response(body, status_code=503, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def _index(directory: Path) -> Response[str] | File:
    if not is_built(directory):
        return _not_built_page(directory)
    return File(directory / "index.html", content_disposition_type="inline",
                filename="index.html", media_type="text/html",
                headers={"Cache-Control": NO_CACHE})


def _not_found(path: str) -> Response[dict[str, str]]:
    return Response({"error": f"no route for /{path}"}, status_code=404)


@get("/", include_in_schema=False, sync_to_thread=False)
def console_index() -> Response[str] | File:
    """The console's entry page (or how to build it when it is missing)."""
    return _index(dist_dir())


@get("/{path:path}", include_in_schema=False, sync_to_thread=False)
def console_file(path: str) -> Response | File:
    """A built console file, or ``index.html`` for a client-side route.

    Paths under ``/api``, ``/v1``, ``/schema`` and ``/healthz`` that reach here matched no
    collector route and get a JSON 404, never the console page.
    """
    rel = path.lstrip("/")
    first = rel.split("/", 1)[0]
    if first in RESERVED_PREFIXES:
        return _not_found(rel)
    directory = dist_dir()
    if rel:
        candidate = (directory / rel).resolve()
        # Only files inside the build directory; "../" tricks fall through to a 404.
        inside = candidate.is_relative_to(directory.resolve())
        if inside and candidate.is_file():
            cache = IMMUTABLE if rel.startswith("assets/") else SHORT
            media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            return File(candidate, content_disposition_type="inline", filename=candidate.name,
                        media_type=media_type, headers={"Cache-Control": cache})
        # A missing hashed asset is a stale page asking for an old build: say 404, not HTML.
        if not inside or first == "assets" or Path(rel).suffix.lower() in STATIC_SUFFIXES:
            return Response("not found", status_code=404, media_type="text/plain",
                            headers={"Cache-Control": "no-store"})
    return _index(directory)


# -- aggregates for the Monitoring view ------------------------------------------------

MAX_SCORE_NAMES = 12
SCORE_SOURCES = ("scorer", "judge", "human")


class Window(msgspec.Struct, kw_only=True):
    """The resolved range and bucket width every aggregate answer starts with."""

    since: str
    until: str
    bucket: str
    bucket_seconds: int


class GuardrailPoint(msgspec.Struct, kw_only=True):
    """Guardrail checks in one bucket: how many passed and failed (by action taken)."""

    time: str
    checks: int
    passed: int
    failed: int
    actions: dict[str, int]


class GuardrailTotal(msgspec.Struct, kw_only=True):
    """One guardrail (span name) over the whole range."""

    name: str
    checks: int
    passed: int
    failed: int


class GuardrailStats(Window, kw_only=True):
    """Verdicts of spans of kind ``guardrail`` (attribute ``spyglass.guardrail.passed``)."""

    totals: GuardrailTotal
    guardrails: list[GuardrailTotal]
    points: list[GuardrailPoint]


class ScorePoint(msgspec.Struct, kw_only=True):
    """Numeric feedback of one name in one bucket: how many and their mean (None if none)."""

    time: str
    count: int
    mean: float | None


class ScoreSeries(msgspec.Struct, kw_only=True):
    """One score name (booleans count as 0/1, so a mean is a pass rate)."""

    name: str
    count: int
    mean: float | None
    points: list[ScorePoint]


class ScoreStats(Window, kw_only=True):
    """Monitor scores over time, the most frequent names first."""

    sources: list[str]
    series: list[ScoreSeries]


def _window(since: str | None, until: str | None, bucket: str | None) -> tuple[datetime, datetime, int, list[int]]:
    window = parse_range(since, until, default_since="-24h")
    assert window.since is not None
    end = window.until or datetime.now(UTC)
    span_s = (end - window.since).total_seconds()
    width = parse_duration(bucket, "bucket") if bucket else auto_bucket(span_s)
    if span_s / width > MAX_POINTS:
        raise BadParameter("bucket", f"{bucket_label(width)} buckets over this range make more "
                                     f"than {MAX_POINTS} points; use a wider bucket")
    first = int(window.since.timestamp() // width) * width
    last = int((end.timestamp() - 1e-6) // width) * width
    return window.since, end, width, list(range(first, last + 1, width))


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ConsoleStatsController(Controller):
    """Aggregates the Monitoring view charts beside ``/api/stats``."""

    path = "/api/console"
    exception_handlers = EXCEPTION_HANDLERS
    tags = ["console"]

    @get("/guardrails", sync_to_thread=True)
    def guardrails(
        self,
        request: Request[Any, Any, Any],
        project: str | None = None,
        since: str | None = Parameter(default=None, description="RFC 3339 or relative; default -24h"),
        until: str | None = Parameter(default=None, description="RFC 3339 or relative; default now"),
        bucket: str | None = Parameter(default=None, description="60s, 5m, 1h...; default from the range"),
    ) -> GuardrailStats:
        """Guardrail checks (spans of kind ``guardrail``) per time bucket: passed, failed,
        and failed by action (block, redact, flag); totals per guardrail name."""
        start, end, width, buckets = _window(since, until, bucket)
        where = Filters()
        where.eq("project", scoped_project(request, project))
        where.add("kind = 'guardrail'")
        where.time_range("start_time", start, end)
        passed = where.param(A.GUARDRAIL_PASSED, "String")
        action = where.param(A.GUARDRAIL_ACTION, "String")
        width_p = where.param(width, "UInt32")
        verdict = f"JSONExtractRaw(attributes, {passed})"
        rows = storage_of(request).query(
            f"SELECT toUnixTimestamp(toStartOfInterval(start_time, INTERVAL {width_p} SECOND)) AS b, "
            f"name, JSONExtractString(attributes, {action}) AS action, "
            f"countIf({verdict} = 'true') AS passed, countIf({verdict} = 'false') AS failed, "
            f"count() AS checks FROM {SPANS} {where.sql()} GROUP BY b, name, action",
            where.params)
        per_bucket: dict[int, GuardrailPoint] = {
            b: GuardrailPoint(time=_iso(b), checks=0, passed=0, failed=0, actions={}) for b in buckets}
        per_name: dict[str, GuardrailTotal] = {}
        total = GuardrailTotal(name="", checks=0, passed=0, failed=0)
        for row in rows:
            n_pass, n_fail, n = as_int(row["passed"]), as_int(row["failed"]), as_int(row["checks"])
            point = per_bucket.get(as_int(row["b"]))
            if point is not None:
                point.checks += n
                point.passed += n_pass
                point.failed += n_fail
                if n_fail and row["action"] and row["action"] != "pass":
                    point.actions[row["action"]] = point.actions.get(row["action"], 0) + n_fail
            named = per_name.setdefault(row["name"], GuardrailTotal(name=row["name"], checks=0,
                                                                    passed=0, failed=0))
            for item in (named, total):
                item.checks += n
                item.passed += n_pass
                item.failed += n_fail
        ranked = sorted(per_name.values(), key=lambda g: (-g.failed, -g.checks, g.name))
        return GuardrailStats(since=_stamp(start), until=_stamp(end), bucket=bucket_label(width),
                              bucket_seconds=width, totals=total, guardrails=ranked,
                              points=[per_bucket[b] for b in buckets])

    @get("/scores", sync_to_thread=True)
    def scores(
        self,
        request: Request[Any, Any, Any],
        project: str | None = None,
        since: str | None = Parameter(default=None, description="RFC 3339 or relative; default -24h"),
        until: str | None = Parameter(default=None, description="RFC 3339 or relative; default now"),
        bucket: str | None = Parameter(default=None, description="60s, 5m, 1h...; default from the range"),
        source: str | None = Parameter(default=None, description="scorer | judge | human; default scorer and judge"),
    ) -> ScoreStats:
        """Mean of numeric and boolean feedback per name and time bucket (by creation
        time): the online monitors' scores over time. Labels (strings) are not averaged."""
        start, end, width, buckets = _window(since, until, bucket)
        chosen = parse_choice(source, "source", SCORE_SOURCES)
        sources = [chosen] if chosen else ["scorer", "judge"]
        where = Filters()
        where.eq("project", scoped_project(request, project))
        where.add(f"source IN {where.param(sources, 'Array(String)')}")
        where.add("value_number IS NOT NULL")
        where.add(f"created_at >= {where.param(to_ch_time(start), TIME_TYPE)}")
        where.add(f"created_at < {where.param(to_ch_time(end), TIME_TYPE)}")
        width_p = where.param(width, "UInt32")
        storage = storage_of(request)
        totals = storage.query(
            f"SELECT name, count() AS n, avg(value_number) AS mean FROM feedback {where.sql()} "
            f"GROUP BY name ORDER BY n DESC, name LIMIT {MAX_SCORE_NAMES}", where.params)
        names = [r["name"] for r in totals]
        series: list[ScoreSeries] = []
        if names:
            where.add(f"name IN {where.param(names, 'Array(String)')}")
            rows = storage.query(
                f"SELECT name, toUnixTimestamp(toStartOfInterval(created_at, INTERVAL {width_p} "
                f"SECOND)) AS b, count() AS n, avg(value_number) AS mean FROM feedback "
                f"{where.sql()} GROUP BY name, b", where.params)
            cells = {(r["name"], as_int(r["b"])): r for r in rows}
            for t in totals:
                points = []
                for b in buckets:
                    cell = cells.get((t["name"], b))
                    points.append(ScorePoint(time=_iso(b), count=as_int(cell["n"]) if cell else 0,
                                             mean=as_float(cell["mean"]) if cell else None))
                series.append(ScoreSeries(name=t["name"], count=as_int(t["n"]),
                                          mean=as_float(t["mean"]), points=points))
        return ScoreStats(since=_stamp(start), until=_stamp(end), bucket=bucket_label(width),
                          bucket_seconds=width, sources=sources, series=series)


ROUTES = [console_index, console_file, ConsoleStatsController]
"""Mounted by ``collector.app.create_app`` like every ``collector/api`` module."""
