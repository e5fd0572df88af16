"""The web console's static files at ``/`` (its aggregates live in collector/api/monitoring.py).

Vite names every file under ``assets/`` by its content hash, so those are cached forever
(``immutable``); ``index.html`` names the current hashes and must be revalidated on every
load (``no-cache``). Any other GET path that is not an API, OTLP, schema or health path is a
console route (``/traces/<id>``, ``/monitoring``...) and gets ``index.html``, so deep links
and reloads work. Without a build, ``/`` explains how to make one instead of a blank page.
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path

from litestar import Response, get
from litestar.params import FromPath
from litestar.response import File

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
def console_file(path: FromPath[str]) -> Response | File:
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


ROUTES = [console_index, console_file]
"""Mounted by ``collector.app.create_app`` like every ``collector/api`` module."""
