"""``spyglass prompts list|show|diff|push|label``: versioned prompts over the collector's
HTTP API (``/api/prompts``). Speaks HTTP only (httpx), so it lives in the collector
without importing the tracer."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx
import yaml

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


class _Api:
    def __init__(self, endpoint: str, api_key: str | None, project: str | None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.project = project

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             json_body: Any = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if self.project and "project" not in query and json_body is None:
            query["project"] = self.project
        try:
            answer = httpx.request(method, self.endpoint + path, params=query, json=json_body,
                                   headers=self.headers, timeout=30)
        except httpx.HTTPError as exc:
            _fail(f"could not reach the collector at {self.endpoint}: {exc}")
        try:
            body = answer.json()
        except ValueError:
            body = {"error": answer.text[:300]}
        if answer.status_code >= 400:
            _fail(f"{body.get('error') if isinstance(body, dict) else body} (HTTP {answer.status_code})")
        return body


def _fail(message: str) -> None:
    click.echo(f"spyglass: error: {message}", err=True)
    sys.exit(1)


@click.group()
@click.option("--endpoint", default=None, help=f"Collector URL [SPYGLASS_ENDPOINT; {DEFAULT_ENDPOINT}].")
@click.option("--api-key", default=None, help="API key [SPYGLASS_API_KEY].")
@click.option("--project", default=None, help="Project [SPYGLASS_PROJECT].")
@click.pass_context
def prompts(ctx: click.Context, endpoint: str | None, api_key: str | None,
            project: str | None) -> None:
    """Versioned prompts: list, show, diff, push, label."""
    ctx.obj = _Api(endpoint or os.environ.get("SPYGLASS_ENDPOINT") or DEFAULT_ENDPOINT,
                   api_key or os.environ.get("SPYGLASS_API_KEY"),
                   project or os.environ.get("SPYGLASS_PROJECT"))


def _path(name: str, tail: str = "") -> str:
    return f"/api/prompts/{quote(name, safe='')}{tail}"


@prompts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@click.pass_obj
def list_(api: _Api, as_json: bool) -> None:
    """Every prompt with its latest version and labels."""
    body = api.call("GET", "/api/prompts")
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    for p in body["prompts"]:
        labels = " ".join(f"{k}={v}" for k, v in sorted(p["labels"].items()))
        click.echo(f"{p['name']}\t{p['latest']}\t{p['version_id'][:12]}\t{p['versions']} versions"
                   f"\t{labels}")


@prompts.command()
@click.argument("name")
@click.option("--version", default=None, help="vN or a version id (default: latest).")
@click.option("--label", default=None, help="The version a label points at.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@click.pass_obj
def show(api: _Api, name: str, version: str | None, label: str | None, as_json: bool) -> None:
    """One version: its content, variables and labels."""
    body = api.call("GET", _path(name), params={"version": version, "label": label})
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"{body['name']} {body['version']} {body['version_id']}")
    click.echo(f"labels: {', '.join(body['labels']) or '-'}   variables: "
               f"{', '.join(body['variables']) or '-'}   by {body['author']} at {body['created_at']}")
    click.echo(json.dumps(body["content"], indent=2, ensure_ascii=False))


@prompts.command()
@click.argument("name")
@click.argument("a")
@click.argument("b")
@click.pass_obj
def diff(api: _Api, name: str, a: str, b: str) -> None:
    """Unified diff of versions A and B (vN, id or label); exit 0 either way."""
    body = api.call("GET", _path(name, "/diff"), params={"a": a, "b": b})
    if body["same"]:
        click.echo(f"{body['a']['version']} and {body['b']['version']} have the same content")
        return
    for line in body["diff"]:
        click.echo(line)


@prompts.command()
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", default=None, help="Move this label to the pushed version.")
@click.option("--author", default=None, help="Recorded with the version [USER].")
@click.pass_obj
def push(api: _Api, name: str, file: Path, label: str | None, author: str | None) -> None:
    """Push FILE (YAML or JSON: messages or text, model, params, tags, metadata) as a
    version of NAME; the same content answers the existing version."""
    try:
        content = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"{file}: {exc}")
    if not isinstance(content, dict):
        _fail(f"{file}: expected a mapping with messages or text")
    body = {**content, "name": name}
    for key, value in (("label", label), ("author", author or os.environ.get("USER")),
                       ("project", api.project)):
        if value:
            body[key] = value
    result = api.call("POST", "/api/prompts", json_body=body)
    state = "new version" if result["created"] else "unchanged: already"
    click.echo(f"{result['name']} {result['version']} {result['version_id']} ({state})"
               + (f" label {label}" if label else ""))


@prompts.command()
@click.argument("name")
@click.argument("label")
@click.argument("version")
@click.option("--author", default=None, help="Recorded in the audit log [USER].")
@click.pass_obj
def label(api: _Api, name: str, label: str, version: str, author: str | None) -> None:
    """Point LABEL of NAME at VERSION (vN, id or another label); prints the audit entry.
    Without changes to make, prints the label's last move."""
    body: dict[str, Any] = {"label": label, "version": version,
                            "author": author or os.environ.get("USER") or None}
    if api.project:
        body["project"] = api.project
    event = api.call("POST", _path(name, "/labels"), json_body={k: v for k, v in body.items() if v})
    click.echo(f"{name} {event['label']}: {event['from_version'] or '-'} -> {event['to_version']} "
               f"by {event['author']} at {event['at']}")
