"""Errors of typed request bodies (``data: SomeStruct``) as ``{"error": ...}`` naming the
field: ``invalid parameter 'rows[3].status': Invalid enum value 'fine'``."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ValidationException

from collector.queries.errors import EXCEPTION_HANDLERS

_MISSING = re.compile(r"^Object missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]+)`")


def body_problem(key: str, message: str) -> str:
    """One msgspec validation message as ``invalid parameter '<field path>': <problem>``."""
    prefix = "" if key in ("data", "body", "") else key
    if match := _MISSING.match(message):
        name = f"{prefix}.{match.group(1)}" if prefix else match.group(1)
        return f"invalid parameter '{name}': is required"
    if match := _UNKNOWN.match(message):
        name = f"{prefix}.{match.group(1)}" if prefix else match.group(1)
        return f"invalid parameter '{name}': unknown field"
    if not prefix:
        return f"invalid body: {message}"
    return f"invalid parameter '{prefix}': {message}"


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, str]]:
    problems = [body_problem(str(item.get("key") or ""), str(item.get("message") or "invalid"))
                for item in exc.extra or [] if isinstance(item, dict)]
    return Response({"error": "; ".join(problems) or str(exc.detail)}, status_code=400)


BODY_EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    **EXCEPTION_HANDLERS, ValidationException: _validation_error}
"""EXCEPTION_HANDLERS for controllers whose handlers take typed bodies."""
