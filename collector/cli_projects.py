"""``spyglass projects ttl``: how long each project's spans are kept."""

from __future__ import annotations

import json
from pathlib import Path

import click
import msgspec

from collector.cli_storage import (
    AdminClient,
    fail,
    format_table,
    storage_options,
    storage_or_collector,
)
from collector.settings import Settings, SettingsError
from collector.storage import Storage
from collector.storage.projects import MAX_TTL_DAYS, ProjectSettings
from common.wire.projects import ProjectRetention, RetentionList, RetentionRequest


def _default_ttl_days() -> int:
    try:
        return Settings.load().default_ttl_days
    except SettingsError as exc:
        fail(str(exc))
        return 0


def _retention(target: Storage | AdminClient) -> RetentionList:
    if isinstance(target, AdminClient):
        return msgspec.convert(target.call("GET", "/api/admin/projects/retention"), RetentionList)
    return ProjectSettings(target, _default_ttl_days()).retention()


def _set(target: Storage | AdminClient, project: str, days: int) -> None:
    if isinstance(target, AdminClient):
        target.call("PUT", f"/api/admin/projects/{project}/retention",
                    json=msgspec.to_builtins(RetentionRequest(ttl_days=days)))
    else:
        ProjectSettings(target).set_ttl_days(project, days)


def _days_text(days: int) -> str:
    return "forever" if days == 0 else f"{days} day{'s' if days != 1 else ''}"


@click.group()
def projects() -> None:
    """Per-project settings."""


@projects.command("ttl")
@click.argument("project", required=False)
@click.argument("days", type=click.IntRange(0, MAX_TTL_DAYS), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@storage_options
def ttl(project: str | None, days: int | None, as_json: bool, data_dir: Path | None,
        clickhouse_url: str | None, url: str | None) -> None:
    """Show or set how many DAYS spans of PROJECT are kept (0 = forever).

    Without arguments, lists every project's retention and the default
    (SPYGLASS_DEFAULT_TTL_DAYS of the collector). Setting it also applies to spans already
    stored: ClickHouse deletes those older than DAYS at its next merges."""
    if project is not None and not project.strip():
        fail("the project name must not be empty")
    with storage_or_collector(data_dir, clickhouse_url, url, "Change retention") as target:
        if days is not None:
            _set(target, project or "", days)
            current = RetentionList(default_ttl_days=0, projects=[
                ProjectRetention(project=project or "", ttl_days=days, explicit=True)])
        else:
            current = _retention(target)
    if project is not None:
        own = {p.project: p for p in current.projects}.get(project)
        shown = own or ProjectRetention(project=project, ttl_days=current.default_ttl_days,
                                        explicit=False)
        if as_json:
            click.echo(json.dumps(msgspec.to_builtins(shown)))
            return
        source = "" if shown.explicit else " (the default)"
        verb = "now keeps" if days is not None else "keeps"
        click.echo(f"project '{shown.project}' {verb} spans {_days_text(shown.ttl_days)}{source}")
        return
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(current)))
        return
    click.echo(f"default: {_days_text(current.default_ttl_days)}")
    if current.projects:
        click.echo(format_table(("PROJECT", "KEEPS SPANS"),
                                [(p.project, _days_text(p.ttl_days)) for p in current.projects]))
