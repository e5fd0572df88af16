"""``spyglass monitors run|check``: online monitors from a YAML/TOML file."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click

from scorers.base import ScorerError
from scorers.monitors.config import load_config
from scorers.monitors.runner import MonitorError, MonitorRunner


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"spyglass monitors: error: {message}", err=True)
    sys.exit(code)


@click.group()
def monitors() -> None:
    """Score sampled production spans continuously and store the scores as feedback."""


@monitors.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Monitors file (.yaml, .yml or .toml).")
def check(config_path: Path) -> None:
    """Validate a monitors file and list what it would run."""
    try:
        config = load_config(config_path)
    except ScorerError as exc:
        _fail(str(exc))
        return
    for m in config.monitors:
        filt = ", ".join(f"{k}={v}" for k, v in m.filter.items()) or "all spans"
        names = ", ".join(s.name for s in m.scorers)
        click.echo(f"{m.name}: project={m.project} ({filt}), sample {m.sample_rate:g} -> {names}")


@monitors.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Monitors file (.yaml, .yml or .toml).")
@click.option("--endpoint", default=None,
              help="Collector URL [config 'endpoint'; SPYGLASS_ENDPOINT; http://127.0.0.1:4318].")
@click.option("--api-key", default=None, envvar="SPYGLASS_API_KEY", help="API key [SPYGLASS_API_KEY].")
@click.option("--once", is_flag=True, help="Catch up with every new span, score, print stats and exit.")
@click.option("--start", default=None, help="Where a monitor without saved state starts: now, "
              "beginning, a relative window (-1h) or RFC 3339 [config 'start'; now].")
@click.option("--trace-project", default=None,
              help="Trace the monitors' own scorer and judge calls (tokens, cost) into this "
                   "project on the same collector [config 'trace_project'; off].")
@click.option("--log-level", default="info", show_default=True)
def run(config_path: Path, endpoint: str | None, api_key: str | None, once: bool,
        start: str | None, trace_project: str | None, log_level: str) -> None:
    """Run the monitors until interrupted (Ctrl-C / SIGTERM stop cleanly)."""
    import os

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
    except ScorerError as exc:
        _fail(str(exc))
        return
    if start:
        config.start = start
    endpoint = endpoint or config.endpoint or os.environ.get("SPYGLASS_ENDPOINT")
    try:
        runner = MonitorRunner(config, endpoint=endpoint, api_key=api_key)
    except MonitorError as exc:
        _fail(str(exc))
        return
    trace_project = trace_project or config.trace_project
    if trace_project:
        import tracer

        # Judge calls then show up as llm spans with their cost, like any other LLM use.
        tracer.init(project=trace_project, endpoint=runner.endpoint, api_key=api_key or config.api_key)
    if once:
        try:
            stats = runner.run_once()
        except MonitorError as exc:
            _fail(str(exc), 1)
            return
        finally:
            runner._client.close()
        if trace_project:
            import tracer

            tracer.flush()
        click.echo(" ".join(f"{k}={v}" for k, v in stats.items()))
        sys.exit(1 if stats["errors"] else 0)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    click.echo(f"monitors: {len(config.monitors)} monitor(s) reading {runner.endpoint}", err=True)
    runner.start()
    done.wait()
    runner.close()
    click.echo(" ".join(f"{k}={v}" for k, v in runner.stats.items()), err=True)
