"""Signed records: ``evals export``, ``evals verify`` and ``evals keys ...``."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from evals.cli.common import EXIT_OK, EXIT_REGRESSION, CommandError, _say, _with_backend

# -- signed records: export, verify, keys ---------------------------------------------------

def _public_key_arg(value: str | None) -> str | None:
    """``--public-key``: 64 hex characters, or a file holding them (a ``.pub`` file)."""
    if value is None:
        return None
    text = value.strip()
    path = Path(text).expanduser()
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text) and path.is_file():
        text = path.read_text(encoding="ascii").strip()
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise CommandError(f"--public-key {value}: expected 64 lowercase hex characters or a file "
                           "holding them (evals keys export)")
    return text


def _report(result: Any, what: str) -> NoReturn:
    for line in result.checked:
        click.echo(f"ok      {line}")
    if result.ok:
        click.echo(f"INTACT  {what}")
        sys.exit(EXIT_OK)
    label = "UNSIGNED" if result.state == "unsigned" else "ALTERED"
    click.echo(f"{label} {what}: {result.problem}")
    sys.exit(EXIT_REGRESSION)


@click.command("export")
@click.argument("run_id")
@click.option("--bundle", "bundle_path", required=True, help="Write the bundle to this file.")
@click.pass_context
def export_cmd(ctx: click.Context, run_id: str, bundle_path: str) -> None:
    """Write RUN_ID's signed record as one self-contained bundle file (rows, manifest,
    signature, public key, chain) that ``evals verify FILE`` checks offline."""
    from evals.record import export_bundle

    target = Path(bundle_path)
    if not target.resolve().parent.is_dir():
        raise CommandError(f"cannot write {bundle_path}: its folder does not exist")
    data = _with_backend(ctx.obj["project"], lambda b: export_bundle(b.client, run_id, b.project))
    target.write_bytes(data)
    _say(f"evals: wrote {bundle_path} ({len(data)} bytes)")


@click.command("verify")
@click.argument("target", required=False)
@click.option("--public-key", "public_key", default=None,
              help="Pin the signer: 64 hex characters or a .pub file (default: trust the key in "
                   "the record and print its id).")
@click.option("--project", "verify_project", default=None,
              help="Verify the whole log of this project (every run, links, order).")
@click.option("--head", "pinned_head", default=None,
              help="With --project: the log head hash you pinned earlier (evals runs head).")
@click.pass_context
def verify_cmd(ctx: click.Context, target: str | None, public_key: str | None,
               verify_project: str | None, pinned_head: str | None) -> None:
    """Check a bundle FILE offline (no server, no data dir), a stored RUN, or with
    --project a project's whole log. Prints what it checked; exit 0 when intact, 1 when
    anything was altered (naming the first broken row or field) or unsigned."""
    from common import records

    pinned = _public_key_arg(public_key)
    if target and Path(target).is_file():
        _report(records.verify_bundle(Path(target).read_bytes(), pinned), target)
    from evals.record import verify_project as check_project
    from evals.record import verify_run

    project = verify_project or ctx.obj["project"]
    if target:
        result = _with_backend(project, lambda b: verify_run(b.client, target, b.project, pinned))
        _report(result, f"run {target}")
    if not project and not os.environ.get("SPYGLASS_PROJECT"):
        raise CommandError("give a bundle FILE, a RUN id, or --project P")
    result = _with_backend(project, lambda b: check_project(b.client, b.project, pinned, pinned_head))
    _report(result, f"project {project or os.environ.get('SPYGLASS_PROJECT')} log")


@click.group()
def keys() -> None:
    """The project signing key (Ed25519), kept outside the store."""


def _key_project(ctx: click.Context) -> str:
    return ctx.obj["project"] or os.environ.get("SPYGLASS_PROJECT") or "default"


@keys.command("show")
@click.pass_context
def keys_show(ctx: click.Context) -> None:
    """Where the project's key is, its id and public key (created if missing)."""
    from evals import signing

    project = _key_project(ctx)
    key = signing.load(project)
    assert key is not None
    click.echo(f"project {project}\nkey     {key.key_id}\npublic  {key.public_key}\nfile    {key.path}")


@keys.command("export")
@click.option("-o", "--output", default=None, help="Write the public key here (default: stdout).")
@click.pass_context
def keys_export(ctx: click.Context, output: str | None) -> None:
    """The project's public key (hex), for ``evals verify --public-key``."""
    from evals import signing

    key = signing.load(_key_project(ctx))
    assert key is not None
    if output:
        Path(output).write_text(key.public_key + "\n", encoding="ascii")
        _say(f"evals: public key {key.key_id} -> {output}")
    else:
        click.echo(key.public_key)
