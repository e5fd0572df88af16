"""``evals datasets ...``: list, show, diff, push, pull versioned datasets."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from evals.backend import Backend
from evals.cli.common import CommandError, _say, _with_backend
from evals.datasets import Dataset, parse_ref

# -- evals datasets -----------------------------------------------------------------------

@click.group()
def datasets() -> None:
    """Versioned datasets: list, show, diff, push, pull."""


@datasets.command("list")
@click.pass_context
def datasets_list(ctx: click.Context) -> None:
    """Every dataset with its latest version."""
    from evals import tables

    found = _with_backend(ctx.obj["project"], lambda b: b.client.list_datasets(b.project))
    c = tables.console()
    if not found:
        c.print("no datasets")
        return
    c.print(tables.datasets_table(found))


@datasets.command("show")
@click.argument("ref")
@click.option("--rows", "n_rows", type=click.IntRange(min=0), default=10, help="Rows to print.")
@click.pass_context
def datasets_show(ctx: click.Context, ref: str, n_rows: int) -> None:
    """Versions of NAME, or one version's rows with NAME:VERSION."""
    from evals import tables

    parsed = parse_ref(ref)
    explicit = ":" in ref

    def go(b: Backend) -> tuple[dict[str, Any], dict[str, Any]]:
        versions = b.client.dataset_versions(parsed.name, b.project)
        data = b.client.dataset_rows(parsed.name, parsed.version, b.project)
        return versions, data

    versions, data = _with_backend(ctx.obj["project"], go)
    c = tables.console()
    if not explicit:
        c.print(tables.versions_table(versions["versions"]))
    c.print(f"{data['name']}:{data['version']}  id {data['version_id']}  {data['row_count']} rows"
            f"{'  key ' + data['key'] if data.get('key') else ''}")
    for row in data["rows"][:n_rows]:
        click.echo(json.dumps(row, ensure_ascii=False))


@datasets.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--limit", type=click.IntRange(min=1), default=20, help="Rows listed per kind.")
@click.pass_context
def datasets_diff(ctx: click.Context, a: str, b: str, limit: int) -> None:
    """Rows added, removed and changed from A (NAME:v1) to B (NAME:v2 or just v2)."""
    ra = parse_ref(a)
    if ":" not in a:
        raise CommandError(f"diff {a}: give the first version as NAME:VERSION")
    rb = parse_ref(b) if ":" in b else parse_ref(f"{ra.name}:{b}")
    if rb.name != ra.name:
        raise CommandError(f"diff compares two versions of one dataset, got {ra.name} and {rb.name}")
    diff = _with_backend(ctx.obj["project"],
                         lambda be: be.client.dataset_diff(ra.name, ra.version, rb.version, be.project,
                                                           limit=limit))
    counts = diff["counts"]
    click.echo(f"{ra.name} {diff['a']['version']} ({diff['a']['version_id'][:12]}) -> "
               f"{diff['b']['version']} ({diff['b']['version_id'][:12]}), "
               f"{'by key ' + diff['key'] if diff['key'] else 'by content'}: "
               f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed, "
               f"{counts['unchanged']} unchanged")
    for row in diff["added"]:
        click.echo(f"+ {json.dumps(row, ensure_ascii=False)}")
    for row in diff["removed"]:
        click.echo(f"- {json.dumps(row, ensure_ascii=False)}")
    for change in diff["changed"]:
        click.echo(f"~ {json.dumps(change['before'], ensure_ascii=False)}")
        click.echo(f"  -> {json.dumps(change['after'], ensure_ascii=False)}")


@datasets.command("push")
@click.argument("file")
@click.option("--name", required=True, help="Dataset name.")
@click.option("--key", default=None, help="Column identifying a row (for diffs and pairing).")
@click.option("--description", default=None)
@click.pass_context
def datasets_push(ctx: click.Context, file: str, name: str, key: str | None,
                  description: str | None) -> None:
    """Publish FILE (.jsonl, .json or .csv; ``-`` reads JSONL from stdin) as the next
    version of NAME; unchanged rows make no new version."""
    if file == "-":
        local = Dataset(_stdin_jsonl(), name=name, key=key)
    else:
        local = Dataset.from_file(file, name=name, key=key)
    record = _with_backend(ctx.obj["project"], lambda b: b.client.push_dataset(
        name, local.rows, project=b.project, key=key, description=description))
    if record["version_id"] != local.version_id:
        raise CommandError(f"the collector computed version id {record['version_id']} but this "
                           f"client computed {local.version_id}; versions differ")
    state = "new version" if record["created"] else "unchanged, no new version"
    click.echo(f"{name}:{record['version']}  id {record['version_id']}  {record['row_count']} rows  ({state})")


def _stdin_jsonl() -> list[Any]:
    rows = []
    for lineno, line in enumerate(sys.stdin, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CommandError(f"stdin:{lineno}: invalid JSON ({exc.msg})") from None
    return rows


@datasets.command("pull")
@click.argument("ref")
@click.option("-o", "--output", default=None, help="Write JSONL here (default: stdout).")
@click.pass_context
def datasets_pull(ctx: click.Context, ref: str, output: str | None) -> None:
    """Write the rows of NAME[:VERSION] as JSONL."""
    parsed = parse_ref(ref)
    data = _with_backend(ctx.obj["project"],
                         lambda b: b.client.dataset_rows(parsed.name, parsed.version, b.project))
    text = Dataset(data["rows"]).to_jsonl()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        _say(f"{parsed.name}:{data['version']} ({data['row_count']} rows) -> {output}")
    else:
        click.echo(text, nl=False)
