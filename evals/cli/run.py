"""``evals run``: run a suite, compare with baselines, gate; and its gate options."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import click

from evals.backend import Backend
from evals.cli.common import EXIT_OK, EXIT_REGRESSION, CommandError, _say, _with_backend

if TYPE_CHECKING:  # common.gate imports scipy: only when a run needs it
    from common.gate import GateConfig


# -- evals run ----------------------------------------------------------------------------

@click.command("run")
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
