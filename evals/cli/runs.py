"""``evals runs ...`` (list, show, head) and ``evals compare``."""

from __future__ import annotations

import json
import sys

import click

from evals.cli.common import EXIT_OK, EXIT_REGRESSION, _say, _with_backend

# -- evals runs / compare -----------------------------------------------------------------

@click.group()
def runs() -> None:
    """Stored evaluation runs."""


@runs.command("list")
@click.option("--eval", "eval_name", default=None, help="Only runs of this eval.")
@click.option("--status", default=None, help="running, complete, partial or failed.")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=20)
@click.pass_context
def runs_list(ctx: click.Context, eval_name: str | None, status: str | None, limit: int) -> None:
    """Runs newest first."""
    from evals import tables

    found = _with_backend(ctx.obj["project"], lambda b: b.client.list_runs(
        project=b.project, eval_name=eval_name, status=status, limit=limit))
    c = tables.console()
    if not found:
        c.print("no runs")
        return
    c.print(tables.runs_table(found))


@runs.command("show")
@click.argument("run_id")
@click.option("--rows", "n_rows", type=click.IntRange(min=0), default=20, help="Rows to print.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of tables.")
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, n_rows: int, as_json: bool) -> None:
    """One run: parameters, dataset, code, summaries and rows."""
    from evals import tables

    data = _with_backend(ctx.obj["project"], lambda b: b.client.get_run(run_id, b.project))
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    c = tables.console()
    tables.print_run_header(c, data["run"])
    c.print(tables.summaries_table(data["summaries"]))
    c.print(tables.run_rows_table(data["rows"], n_rows))


@click.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of tables.")
@click.pass_context
def compare_cmd(ctx: click.Context, run_a: str, run_b: str, as_json: bool) -> None:
    """Compare RUN_B with baseline RUN_A: per-scorer deltas, paired tests, verdicts.
    Exits 1 when RUN_B regressed."""
    from evals import tables

    comp = _with_backend(ctx.obj["project"], lambda b: b.client.compare(run_a, run_b, b.project))
    if as_json:
        click.echo(json.dumps(comp, indent=2, ensure_ascii=False))
    else:
        c = tables.console()
        c.print(f"baseline {comp['a']['run_id']} ({comp['a']['eval_name']})  ->  "
                f"current {comp['b']['run_id']} ({comp['b']['eval_name']})"
                f"{'' if comp['same_dataset'] else '  [different dataset versions]'}")
        c.print(tables.comparison_table(comp))
        flipped = tables.flipped_table(comp)
        if flipped is not None:
            c.print(flipped)
        for failure in comp.get("failures", []):
            _say(f"evals: FAILED: {failure}")
    sys.exit(EXIT_REGRESSION if comp["verdict"] == "regressed" else EXIT_OK)


@runs.command("head")
@click.pass_context
def runs_head(ctx: click.Context) -> None:
    """The project's log head (seq and manifest hash): publish or pin it, then
    ``evals verify --project P --head HASH`` detects any rewrite before it."""
    log = _with_backend(ctx.obj["project"], lambda b: b.client.get_log(b.project, head_only=True))
    head = log["head"]
    click.echo(f"project {log['project']}  seq {head['seq']}  head {head['manifest_hash']}"
               f"{'  run ' + head['run_id'] if head['run_id'] else ''}")
