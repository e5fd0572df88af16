"""The ``evals`` command: run suites, manage datasets, list and compare runs.

Exit status of ``evals run``: 0 when the gate passes, 1 when it fails (a regression, task
failures, a latency/cost increase; see :mod:`common.gate`), 2 on a usage
error (bad suite file, unknown eval, bad param, unreachable or locked store) with one line
on stderr, 130 after Ctrl-C (SIGINT) and 143 after SIGTERM (the finished rows are saved and
the run marked partial).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlencode

import click

from evals.backend import Backend, BackendError, connect
from evals.client import ApiError
from evals.datasets import Dataset, DatasetError, parse_ref
from evals.signing import SigningKeyError

if TYPE_CHECKING:  # common.gate imports scipy: only when a run needs it
    from common.gate import GateConfig

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit 2."""


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"evals: error: {message}", err=True)
    sys.exit(code)


def _say(message: str) -> None:
    click.echo(message, err=True)


def _quiet_logs() -> None:
    # The in-process collector configures INFO logging; a CLI should print only its own lines.
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "litestar", "spyglass"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _with_backend(project: str | None, fn: Callable[[Backend], Any]) -> Any:
    with connect(project) as backend:
        _quiet_logs()
        return fn(backend)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", default=None,
              help="Project (default: $SPYGLASS_PROJECT, else the API key's project, else 'default').")
@click.pass_context
def cli(ctx: click.Context, project: str | None) -> None:
    """Spyglass evaluations: versioned datasets, suites, regressions against a baseline.

    Talks to the collector at $SPYGLASS_ENDPOINT (default http://127.0.0.1:4318); when
    none answers, starts one in-process over $SPYGLASS_DATA_DIR for the command."""
    ctx.obj = {"project": project}


# -- evals run ----------------------------------------------------------------------------

@cli.command("run")
@click.argument("suite")
@click.option("-k", "pattern", default=None, help="Run only the eval with this name (or glob).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Rows in flight at once (default: the eval's, else 8).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N rows.")
@click.option("--baseline", default=None,
              help="RUN id, 'latest' (last complete run of the eval), or 'none'. Default: the "
                   "last complete run of the same eval and params on the same dataset version.")
@click.option("--param", "params", multiple=True, help="Override a param: NAME=VALUE (JSON or text).")
@click.option("--json", "json_path", default=None, help="Write the full results as JSON here.")
@click.option("--junit", "junit_path", default=None, help="Write JUnit XML here.")
@click.option("--markdown", "markdown_path", default=None, help="Write a Markdown report here.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per row attempt before it is recorded as timed out.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--min-delta", "min_deltas", multiple=True, metavar="[SCORER=]VALUE",
              help="Smallest change that counts as a regression: 0.05 (absolute) or 5% (of the "
                   "baseline mean), for SCORER or, without a name, every scorer.")
@click.option("--max-error-rate", default=None, metavar="RATE",
              help="Fail when more than this share of rows' tasks failed (0.5 or 50%; default "
                   "0.5, applied without a baseline).")
@click.option("--max-latency-increase", default=None, metavar="PCT",
              help="Fail when per-row latency rose significantly by at least PCT (e.g. 20%).")
@click.option("--max-cost-increase", default=None, metavar="PCT",
              help="Fail when per-row cost rose significantly by at least PCT (e.g. 10%).")
@click.pass_context
def run_cmd(ctx: click.Context, suite: str, pattern: str | None, concurrency: int | None,
            limit: int | None, baseline: str | None, params: tuple[str, ...],
            json_path: str | None, junit_path: str | None, markdown_path: str | None,
            timeout: float | None, progress: bool | None, min_deltas: tuple[str, ...],
            max_error_rate: str | None, max_latency_increase: str | None,
            max_cost_increase: str | None) -> None:
    """Run every Eval in SUITE (a Python file) and compare each with its baseline."""
    from evals import reports, tables
    from evals.session import RunRequest, execute
    from evals.suite import load_suite, parse_param, select
    from evals.tracing import setup

    gate_options = _gate_options(min_deltas, max_error_rate, max_latency_increase, max_cost_increase)
    overrides = dict(parse_param(p) for p in params)
    suite_path, evals = load_suite(suite)
    chosen = select(evals, pattern)
    for ev in chosen:
        ev.param_grid(overrides)
    known = {s.name for ev in chosen for s in ev.scorers} | {"task_success", "*"}
    for name, spec in gate_options.min_delta.items():
        if name not in known:
            raise CommandError(f"--min-delta {name}={spec.text()}: no scorer named {name!r} "
                               f"(scorers: {', '.join(sorted(known - {'*'}))})")
    for target in (json_path, junit_path, markdown_path):
        if target and not Path(target).resolve().parent.is_dir():
            raise CommandError(f"cannot write {target}: its folder does not exist")
    request = RunRequest(
        suite_path=suite_path, suite_label=_suite_label(suite_path), evals=chosen,
        param_overrides=overrides, concurrency=concurrency, limit=limit, baseline=baseline,
        timeout_s=timeout, progress=sys.stderr.isatty() if progress is None else progress,
        gate_options=gate_options)

    def go(backend: Backend) -> Any:
        tracing = setup(backend.url, backend.project, backend.api_key, _say)
        try:
            return execute(request, backend, tracing, _say), (None if backend.embedded else backend.url)
        finally:
            tracing.close()

    results, console_url = _with_backend(ctx.obj["project"], go)
    c = tables.console()
    for r in results:
        c.print()
        tables.print_run_header(c, r.run)
        for failure in r.failures:  # why the gate fails, before any table
            c.print(f"FAILED: {failure}")
        c.print(tables.summaries_table(r.summaries))
        if r.comparison:
            c.print(tables.comparison_table(r.comparison))
            gates = tables.gates_table(r.comparison)
            if gates is not None:
                c.print(gates)
            flipped = tables.flipped_table(r.comparison)
            if flipped is not None:
                c.print(flipped)
        else:
            c.print("no baseline to compare with")
        if console_url:
            c.print(f"console: {_console_link(console_url, r)}")
    if len(results) > 1:
        c.print()
        c.print(tables.sweep_table(results))
    stopped = next((r for r in results if r.interrupted), None)
    regressed = [r for r in results if r.regressed]
    if stopped is not None:
        code = 128 + (stopped.signal or signal.SIGINT)
    else:
        code = EXIT_REGRESSION if regressed else EXIT_OK
    if json_path:
        reports.write_json(Path(json_path), results, suite=str(suite), exit_code=code)
    if junit_path:
        reports.write_junit(Path(junit_path), results)
    if markdown_path:
        reports.write_markdown(Path(markdown_path), results)
    for r in regressed:
        where = f"{r.eval_name}{_params_label(r.params)} (run {r.run['run_id'][:12]})"
        _say(f"evals: FAILED {where}: {r.failures[0]}")
        for failure in r.failures[1:]:
            _say(f"evals:   also: {failure}")
    sys.exit(code)


def _params_label(params: dict[str, Any]) -> str:
    return f" [{', '.join(f'{k}={v}' for k, v in params.items())}]" if params else ""


def _gate_options(min_deltas: tuple[str, ...], max_error_rate: str | None,
                  max_latency_increase: str | None, max_cost_increase: str | None) -> GateConfig:
    """The gate options of ``evals run`` as a :class:`common.gate.GateConfig`."""
    from common.gate import GateConfig, GateConfigError, MinDelta, parse_fraction

    try:
        deltas: dict[str, MinDelta] = {}
        for item in min_deltas:
            name, sep, value = item.rpartition("=")
            spec = MinDelta.parse(value, f"--min-delta {item}")
            if spec is not None:
                deltas[name.strip() if sep else "*"] = spec
        rate = None if max_error_rate is None else parse_fraction(max_error_rate, "--max-error-rate")
        if rate is not None and rate > 1:
            raise CommandError(f"--max-error-rate {max_error_rate}: must be between 0 and 1 (or 0%..100%)")
        return GateConfig(
            max_error_rate=rate,
            max_latency_increase=(None if max_latency_increase is None
                                  else parse_fraction(max_latency_increase, "--max-latency-increase")),
            max_cost_increase=(None if max_cost_increase is None
                               else parse_fraction(max_cost_increase, "--max-cost-increase")),
            min_delta=deltas)
    except GateConfigError as exc:
        raise CommandError(str(exc)) from None


def _console_link(base: str, result: Any) -> str:
    """The console page of a run (its comparison when it has a baseline)."""
    run = result.run
    query = urlencode({"project": run["project"]})
    if result.comparison:
        a = result.comparison["a"]["run_id"]
        return f"{base}/evals/compare?a={a}&b={run['run_id']}&{query}"
    return f"{base}/evals/runs/{run['run_id']}?{query}"


def _suite_label(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- evals datasets -----------------------------------------------------------------------

@cli.group()
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


# -- evals runs / compare -----------------------------------------------------------------

@cli.group()
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


@cli.command("compare")
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


# -- signed records: export, verify, runs head, keys -----------------------------------------

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


@cli.command("export")
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


@cli.command("verify")
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


@runs.command("head")
@click.pass_context
def runs_head(ctx: click.Context) -> None:
    """The project's log head (seq and manifest hash): publish or pin it, then
    ``evals verify --project P --head HASH`` detects any rewrite before it."""
    log = _with_backend(ctx.obj["project"], lambda b: b.client.get_log(b.project, head_only=True))
    head = log["head"]
    click.echo(f"project {log['project']}  seq {head['seq']}  head {head['manifest_hash']}"
               f"{'  run ' + head['run_id'] if head['run_id'] else ''}")


@cli.group()
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


# -- entry point ----------------------------------------------------------------------------


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors reported as one line (exit 2). ``EvalConfigError`` is looked up only when
    ``evals.suite`` was imported (only code that imported it raises it): importing it up
    front would load numpy and scipy (via evals.stats) for every command, ``--help``
    included."""
    errors: list[type[BaseException]] = [CommandError, BackendError, DatasetError, ApiError,
                                         SigningKeyError]
    suite = sys.modules.get("evals.suite")
    if suite is not None:
        errors.append(suite.EvalConfigError)
    return tuple(errors)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: every user-fixable error is one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="evals", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as exc:
        _fail(exc.format_message())
    except _user_errors() as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        if os.environ.get("SPYGLASS_DEBUG"):
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (set SPYGLASS_DEBUG=1 for a traceback)", 3)
    sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()
