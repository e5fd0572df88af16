"""``spyglass alerts list|create|delete|history``: alert rules through a collector's HTTP API."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import httpx
import msgspec

from common.wire.alerts import (
    METRICS,
    AlertFilters,
    AlertHistory,
    AlertList,
    AlertRule,
    AlertRuleIn,
)


def _client(endpoint: str | None, api_key: str | None) -> httpx.Client:
    base = (endpoint or os.environ.get("SPYGLASS_ENDPOINT") or "http://127.0.0.1:4318").rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base, headers=headers, timeout=30.0)


def _call(endpoint: str | None, api_key: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
    try:
        with _client(endpoint, api_key) as client:
            response = client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        click.echo(f"spyglass alerts: error: collector unreachable: {exc}", err=True)
        sys.exit(1)
    if response.status_code >= 400:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text[:300]
        click.echo(f"spyglass alerts: error: HTTP {response.status_code}: {message}", err=True)
        sys.exit(1 if response.status_code >= 500 else 2)
    return response


_endpoint = click.option("--endpoint", default=None, help="Collector URL [SPYGLASS_ENDPOINT; http://127.0.0.1:4318].")
_key = click.option("--api-key", default=None, envvar="SPYGLASS_API_KEY", help="API key [SPYGLASS_API_KEY].")


@click.group()
def alerts() -> None:
    """Alert rules: a webhook when a project's series crosses a threshold."""


def _line(rule: AlertRule) -> str:
    what = "change of " if rule.mode == "change" else ""
    return (f"{rule.id}  {rule.project}  {rule.name}: {what}{rule.metric} over {rule.window_s}s "
            f"{rule.condition} {rule.threshold:g}  [{rule.state}{'' if rule.enabled else ', paused'}]")


@alerts.command("list")
@click.option("--project", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@_endpoint
@_key
def list_(project: str | None, as_json: bool, endpoint: str | None, api_key: str | None) -> None:
    """List alert rules and their state."""
    response = _call(endpoint, api_key, "GET", "/api/alerts/", params={"project": project} if project else {})
    if as_json:
        click.echo(response.text)
        return
    for rule in msgspec.json.decode(response.content, type=AlertList).alerts:
        click.echo(_line(rule))


@alerts.command()
@click.option("--project", required=True)
@click.option("--name", required=True)
@click.option("--metric", required=True, type=click.Choice(METRICS))
@click.option("--threshold", required=True, type=float)
@click.option("--window", "window_s", default=300, show_default=True, type=int, help="Window in seconds.")
@click.option("--below", is_flag=True, help="Fire when the value is below the threshold (default: above).")
@click.option("--change", is_flag=True, help="Compare the relative change against the previous window.")
@click.option("--cooldown", "cooldown_s", default=3600, show_default=True, type=int, help="Seconds.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="name, kind, model, score or monitor (repeatable).")
@click.option("--webhook", default=None, help="URL notified when the alert fires and resolves.")
@click.option("--slack", is_flag=True, help="Post a Slack-compatible message instead of generic JSON.")
@_endpoint
@_key
def create(project: str, name: str, metric: str, threshold: float, window_s: int, below: bool, change: bool,
           cooldown_s: int, filters: tuple[str, ...], webhook: str | None, slack: bool,
           endpoint: str | None, api_key: str | None) -> None:
    """Create an alert rule; prints its id."""
    pairs: dict[str, str] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in AlertFilters.__struct_fields__:
            click.echo(f"spyglass alerts: error: --filter {item!r}: use KEY=VALUE with KEY one of "
                       f"{', '.join(AlertFilters.__struct_fields__)}", err=True)
            sys.exit(2)
        pairs[key] = value
    body = AlertRuleIn(project=project, name=name, metric=metric, threshold=threshold,  # type: ignore[arg-type]
                       window_s=window_s, condition="below" if below else "above",
                       mode="change" if change else "value", cooldown_s=cooldown_s,
                       filters=AlertFilters(**pairs), webhook_url=webhook,
                       webhook_format="slack" if slack else "json")
    response = _call(endpoint, api_key, "POST", "/api/alerts/", content=msgspec.json.encode(body),
                     headers={"Content-Type": "application/json"})
    click.echo(msgspec.json.decode(response.content, type=AlertRule).id)


@alerts.command()
@click.argument("alert_id")
@_endpoint
@_key
def delete(alert_id: str, endpoint: str | None, api_key: str | None) -> None:
    """Delete an alert rule (its history stays)."""
    _call(endpoint, api_key, "DELETE", f"/api/alerts/{alert_id}")
    click.echo(f"deleted {alert_id}")


@alerts.command()
@click.argument("alert_id")
@_endpoint
@_key
def history(alert_id: str, endpoint: str | None, api_key: str | None) -> None:
    """Show when an alert fired and resolved, and what became of its notifications."""
    response = _call(endpoint, api_key, "GET", f"/api/alerts/{alert_id}/history")
    for event in msgspec.json.decode(response.content, type=AlertHistory).events:
        value = "-" if event.value is None else f"{event.value:.4g}"
        click.echo(f"{event.at}  {event.kind:8}  value={value}  notification={event.notification}"
                   f"{f' ({event.attempts} attempts)' if event.attempts else ''}"
                   f"{f': {event.detail}' if event.detail else ''}")

