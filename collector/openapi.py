"""The collector's OpenAPI document without a running collector or its storage.

``spyglass schema`` prints it; the console generates its TypeScript types from the copy
checked in as ``console/openapi.json`` (a test keeps that copy equal to this)."""

from __future__ import annotations

import json
from typing import Any

from collector.app import create_app
from collector.settings import Settings


class _NoStorage:
    """Stands in for storage while only the routes are read: nothing may touch it."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the schema export has no storage ({name})")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the collector serves at ``/schema/openapi.json``."""
    app = create_app(Settings.load(env={}), storage=_NoStorage())  # type: ignore[arg-type]
    return app.openapi_schema.to_schema()


def openapi_text() -> str:
    """:func:`openapi_document` as stable JSON text (sorted keys, a final newline)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
