"""Errors of the query API, rendered as ``{"error": "..."}`` JSON with a 4xx status."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with control characters escaped: error messages echo client-chosen names
    (an unknown parameter may contain a newline) and must stay one line."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class ApiError(Exception):
    """A client-caused problem; ``message`` names the parameter or id at fault."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class BadParameter(ApiError):
    """A query parameter or body field that cannot be used; names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"invalid parameter '{name}': {problem}", 400)
        self.name = name


class NotFound(ApiError):
    """Something addressed by id does not exist (or belongs to another project)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 404)


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, str]]:
    return Response({"error": exc.message}, status_code=exc.status_code)


# msgspec names a missing or unknown body field only in its message, at the body ("data").
_FIELD_IN_MESSAGE = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, str]]:
    # Litestar lists the offending parameters and body fields in ``extra``; name them.
    problems = []
    for item in exc.extra or []:
        if isinstance(item, dict) and item.get("key"):
            message = str(item.get("message", "invalid"))
            named = _FIELD_IN_MESSAGE.search(message)
            key = item["key"]
            if key == "data":
                key = named.group(1) if named else "body"
            problems.append(f"invalid parameter '{key}': {message}")
    message = "; ".join(problems) or str(exc.detail)
    return Response({"error": one_line(message)}, status_code=400)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, str]]:
    return Response({"error": str(exc.detail)}, status_code=exc.status_code,
                    headers=exc.headers or None)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    ApiError: _api_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
}
"""Handlers every query-API controller installs, so errors are JSON ``{"error": ...}``."""


class ErrorBody(msgspec.Struct):
    """The body of every 4xx/5xx answer of the query API."""

    error: str


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the error answers a route can give (for ``responses=``)."""
    meaning = {
        400: "a parameter or body field is invalid; the message names it",
        401: "API keys exist and the request has no valid one",
        403: "the API key belongs to another project than the one asked for",
        404: "no such trace (in the key's project)",
    }
    return {code: ResponseSpec(data_container=ErrorBody, generate_examples=False,
                               description=meaning[code]) for code in codes}


COMMON_ERRORS = error_responses(400, 401, 403)
"""Errors every query route can answer with."""


def accepted_parameters(handler: Any) -> frozenset[str]:
    """Names a route handler reads from the request: its own parameters and those of the
    dependencies it uses (``since``/``until`` of ``window``...), never the dependency names."""
    dependencies = handler.resolve_dependencies()
    names: set[str] = set()
    pending = list(handler.parsed_fn_signature.parameters)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in dependencies:
            pending.extend(dependencies[name].parsed_fn_signature.parameters)
        else:
            names.add(name)
    return frozenset(names)


def reject_unknown_parameters(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a query parameter the route does not take is a 400 naming
    it, so a misspelt filter (``modle=``) never silently returns unfiltered results."""
    known = accepted_parameters(request.route_handler)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        accepted = sorted(known - {"self", "request", "data"} - set(request.path_params))
        raise BadParameter(unknown[0], f"unknown parameter (this route takes: "
                                       f"{', '.join(accepted) or 'none'})")
