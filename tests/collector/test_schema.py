"""The OpenAPI document: it documents the typed bodies, the console's checked-in copy is
the live one, and building the app warns about nothing of ours (deprecated parameters)."""

from __future__ import annotations

import json
import warnings

import httpx

from collector.openapi import openapi_document, openapi_text
from tests.conftest import REPO_ROOT, ServerHandle

CHECKED_IN = REPO_ROOT / "console" / "openapi.json"


def _live(server: ServerHandle) -> dict:
    response = httpx.get(f"{server.url}/schema/openapi.json", timeout=30)
    assert response.status_code == 200
    return response.json()


def test_feedback_request_body_is_documented(spyglass_server: ServerHandle) -> None:
    schema = _live(spyglass_server)
    body = schema["paths"]["/api/feedback"]["post"]["requestBody"]
    # One item or a list of them (a batch, issue 15).
    one, many = body["content"]["application/json"]["schema"]["oneOf"]
    ref = one["$ref"]
    assert many == {"type": "array", "items": {"$ref": ref}}
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(fields["required"]) == {"trace_id", "name", "value"}
    assert {"span_id", "project", "source", "author", "comment", "metadata"} <= set(fields["properties"])
    assert fields["properties"]["name"]["maxLength"] == 200


def test_shared_query_parameters_are_documented(spyglass_server: ServerHandle) -> None:
    paths = _live(spyglass_server)["paths"]
    for path in ("/api/traces", "/api/spans", "/api/values/{field}", "/api/feedback",
                 "/api/stats", "/api/console/guardrails", "/api/console/scores"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"project", "since", "until"} <= names, (path, names)
    assert "bucket" in {p["name"] for p in paths["/api/stats"]["get"]["parameters"]}


def test_console_copy_equals_the_live_schema(spyglass_server: ServerHandle) -> None:
    """console/openapi.json feeds `npm run gen:types`; regenerate it with
    `python -m collector schema > console/openapi.json` when the API changes."""
    assert json.loads(CHECKED_IN.read_text()) == _live(spyglass_server), (
        "console/openapi.json is stale: run `python -m collector schema > console/openapi.json`")
    assert CHECKED_IN.read_text() == openapi_text()


def test_building_the_app_warns_about_nothing_deprecated() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        openapi_document()
    deprecated = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert deprecated == []
