"""``spyglass monitors``: the monitors stored in a collector (``list``, ``create``, ``pause``,
``resume``, ``delete``, ``status``, ``import FILE``, ``export [FILE]``, through
``/api/monitors``), and the standalone mode over a YAML/TOML file (``run``, ``check``).

The stored-monitor commands find the collector like every client (``--endpoint``, else
``SPYGLASS_ENDPOINT``, else the running ``spyglass serve``'s ``~/.spyglass/endpoint``, else
http://127.0.0.1:4318) and send ``--api-key``/``SPYGLASS_API_KEY``. Errors are one line on
stderr: exit 2 for bad input (and 4xx answers), 1 when the collector is unreachable or fails.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
import msgspec
import yaml

from common.endpoint import resolve_endpoint
from common.wire.monitors import MonitorIn, MonitorList, MonitorOut, MonitorStatus
from scorers.base import ScorerError
from scorers.monitors.config import MonitorConfigError, load_config, parse_entry, read_config_data
from scorers.monitors.runner import MonitorError, MonitorRunner


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"spyglass monitors: error: {message}", err=True)
    sys.exit(code)


# -- stored monitors (the collector's /api/monitors) ------------------------------------------

_endpoint = click.option("--endpoint", default=None,
                         help="Collector URL [SPYGLASS_ENDPOINT; the running `spyglass serve`; "
                              "http://127.0.0.1:4318].")
_key = click.option("--api-key", default=None, envvar="SPYGLASS_API_KEY", help="API key [SPYGLASS_API_KEY].")


class _Api:
    """The collector's /api/monitors for one command: one-line errors, exit codes."""

    def __init__(self, endpoint: str | None, api_key: str | None) -> None:
        self.base = resolve_endpoint(endpoint)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.base, headers=headers, timeout=30.0)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            _fail(f"collector at {self.base} unreachable: {exc}", 1)
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text[:300]
            _fail(f"HTTP {response.status_code}: {message}", 1 if response.status_code >= 500 else 2)
        return response

    def monitors(self, project: str | None = None) -> list[MonitorOut]:
        response = self.call("GET", "/api/monitors/", params={"project": project} if project else {})
        return msgspec.json.decode(response.content, type=MonitorList).monitors

    def find(self, ref: str, project: str | None) -> MonitorOut:
        """A monitor by id, or by name (within ``--project`` when several projects use it)."""
        found = self.monitors(project)
        by_id = [m for m in found if m.id == ref]
        if by_id:
            return by_id[0]
        named = [m for m in found if m.name == ref]
        if not named:
            _fail(f"no monitor with id or name {ref!r}" + (f" in project {project!r}" if project else ""))
        if len(named) > 1:
            _fail(f"monitor name {ref!r} is used in projects {sorted(m.project for m in named)}: "
                  "pass --project or the id")
        return named[0]

    def save(self, body: MonitorIn, monitor_id: str | None = None) -> MonitorOut:
        data = msgspec.json.encode(body)
        headers = {"Content-Type": "application/json"}
        if monitor_id is None:
            response = self.call("POST", "/api/monitors/", content=data, headers=headers)
        else:
            response = self.call("PUT", f"/api/monitors/{monitor_id}", content=data, headers=headers)
        return msgspec.json.decode(response.content, type=MonitorOut)


def _body_of(monitor: MonitorOut, **changes: Any) -> MonitorIn:
    fields = {k: v for k, v in msgspec.structs.asdict(monitor).items() if k not in ("id", "created_at")}
    return MonitorIn(**(fields | changes))


def _entry_body(entry: Mapping[str, Any], i: int, source: str) -> MonitorIn:
    """A monitors-file entry, validated like ``run`` would (scorers built), as an API body."""
    monitor = parse_entry(entry, i, source)
    try:
        return msgspec.convert({
            "project": monitor.project, "name": monitor.name, "scorers": list(entry.get("scorers") or []),
            "filter": dict(monitor.filter), "sample_rate": monitor.sample_rate,
            "fields": dict(entry["fields"]) if entry.get("fields") else None,
            "enabled": entry.get("enabled", True),
            "judge_budget_usd_per_day": monitor.judge_budget_usd_per_day}, MonitorIn)
    except msgspec.ValidationError as exc:
        raise MonitorConfigError(f"{source}: monitors[{i}]: {exc}") from None


def _file_entries(path: Path) -> tuple[str, list[Any]]:
    data = read_config_data(path)
    entries = data.get("monitors") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise MonitorConfigError(f"{path}: 'monitors' must be a non-empty list")
    return str(path), entries


def _line(m: MonitorOut) -> str:
    scorers = ", ".join(s if isinstance(s, str) else str(s.get("type")) for s in m.scorers)
    where = ", ".join(f"{k}={v}" for k, v in m.filter.items()) or "all spans"
    budget = f", judge budget ${m.judge_budget_usd_per_day:g}/day" if m.judge_budget_usd_per_day is not None else ""
    return (f"{m.id}  {m.project}  {m.name}: {where}, sample {m.sample_rate:g} -> {scorers}{budget}"
            f"{'' if m.enabled else '  [paused]'}")


def _status_line(s: MonitorStatus) -> str:
    budget = (f" judge ${s.judge_cost_usd_today:.4f}/${s.judge_budget_usd_per_day:g} today"
              if s.judge_budget_usd_per_day is not None else "")
    return (f"{s.project}  {s.name}  [{s.state}] sampled={s.sampled} scored={s.scored} "
            f"posted={s.posted} dropped_backlog={s.dropped_backlog} "
            f"judge_skipped_budget={s.judge_skipped_budget} errors={s.errors} "
            f"last_run={s.last_run or '-'}{budget}"
            + (f" last_error={s.last_error!r}" if s.last_error and s.state == "error" else ""))


def _scorer_spec(text: str) -> str | dict[str, Any]:
    if not text.lstrip().startswith("{"):
        return text.strip()
    try:
        spec = json.loads(text)
    except ValueError as exc:
        _fail(f"--scorer {text!r} is not valid JSON: {exc}")
    if not isinstance(spec, dict):
        _fail(f"--scorer {text!r} must be a name or a JSON object")
    return spec


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"{option} takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


@click.group()
def monitors() -> None:
    """Score sampled production spans continuously and store the scores as feedback: monitors
    stored in the collector (list, create, pause, resume, delete, status, import, export) or
    a monitors file run by this process (run, check)."""


@monitors.command("list")
@click.option("--project", default=None, help="Only this project's monitors.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@_endpoint
@_key
def list_(project: str | None, as_json: bool, endpoint: str | None, api_key: str | None) -> None:
    """List the monitors stored in the collector (id, project, name, filter, scorers)."""
    api = _Api(endpoint, api_key)
    if as_json:
        click.echo(api.call("GET", "/api/monitors/", params={"project": project} if project else {}).text)
        return
    for m in api.monitors(project):
        click.echo(_line(m))


@monitors.command()
@click.option("--project", default=None, help="Project whose spans it scores.")
@click.option("--name", default=None, help="Name, unique per project (letters, digits, _ . : -).")
@click.option("--scorer", "scorers", multiple=True,
              help="A scorer: a name (pii, llm_judge.toxicity), module:attr, or a JSON object "
                   "{\"type\": ..., options}. Repeat for several.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Span filter (name, kind, model, status, user_id, session_id, tag). Repeatable.")
@click.option("--sample-rate", type=float, default=1.0, show_default=True)
@click.option("--field", "fields", multiple=True, metavar="FIELD=PATH",
              help="Scorer field from a span path (output=output.choices.0.message.content).")
@click.option("--judge-budget", type=float, default=None,
              help="USD the monitor's LLM-judge calls may cost per UTC day.")
@click.option("--paused", is_flag=True, help="Create it paused.")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Create every monitor of a monitors file (.yaml/.yml/.toml) instead of flags.")
@_endpoint
@_key
def create(project: str | None, name: str | None, scorers: tuple[str, ...], filters: tuple[str, ...],
           sample_rate: float, fields: tuple[str, ...], judge_budget: float | None, paused: bool,
           file: Path | None, endpoint: str | None, api_key: str | None) -> None:
    """Create a stored monitor from flags, or every monitor of a file (an existing name is an
    error; `import` updates instead). Prints the new ids."""
    try:
        if file is not None:
            if project or name or scorers or filters or fields:
                _fail("--file takes no --project/--name/--scorer/--filter/--field")
            source, entries = _file_entries(file)
            bodies = [_entry_body(e, i, source) for i, e in enumerate(entries)]
        else:
            if not (project and name and scorers):
                _fail("create needs --project, --name and at least one --scorer (or --file)")
            entry: dict[str, Any] = {"project": project, "name": name,
                                     "scorers": [_scorer_spec(s) for s in scorers],
                                     "filter": _pairs(filters, "--filter"), "sample_rate": sample_rate,
                                     "enabled": not paused}
            if fields:
                entry["fields"] = _pairs(fields, "--field")
            if judge_budget is not None:
                entry["judge_budget_usd_per_day"] = judge_budget
            bodies = [_entry_body(entry, 0, "flags")]
    except ScorerError as exc:
        _fail(str(exc))
    api = _Api(endpoint, api_key)
    for body in bodies:
        made = api.save(body)
        click.echo(f"{made.id}  {made.project}  {made.name}")


def _set_enabled(ref: str, project: str | None, enabled: bool, endpoint: str | None,
                 api_key: str | None) -> None:
    api = _Api(endpoint, api_key)
    m = api.find(ref, project)
    api.save(_body_of(m, enabled=enabled), m.id)
    click.echo(f"{m.id}  {m.project}  {m.name}: {'resumed' if enabled else 'paused'}")


_ref = click.argument("monitor")
_ref_project = click.option("--project", default=None, help="Project of MONITOR when given by name.")


@monitors.command()
@_ref
@_ref_project
@_endpoint
@_key
def pause(monitor: str, project: str | None, endpoint: str | None, api_key: str | None) -> None:
    """Pause a stored monitor (by id or name): it scores nothing until resumed."""
    _set_enabled(monitor, project, False, endpoint, api_key)


@monitors.command()
@_ref
@_ref_project
@_endpoint
@_key
def resume(monitor: str, project: str | None, endpoint: str | None, api_key: str | None) -> None:
    """Resume a paused monitor (by id or name)."""
    _set_enabled(monitor, project, True, endpoint, api_key)


@monitors.command()
@_ref
@_ref_project
@_endpoint
@_key
def delete(monitor: str, project: str | None, endpoint: str | None, api_key: str | None) -> None:
    """Delete a stored monitor (by id or name); its scores stay."""
    api = _Api(endpoint, api_key)
    m = api.find(monitor, project)
    api.call("DELETE", f"/api/monitors/{m.id}")
    click.echo(f"{m.id}  {m.project}  {m.name}: deleted")


@monitors.command()
@click.argument("monitor", required=False)
@click.option("--project", default=None, help="Only this project's monitors (or MONITOR's project).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (a list without MONITOR).")
@_endpoint
@_key
def status(monitor: str | None, project: str | None, as_json: bool, endpoint: str | None,
           api_key: str | None) -> None:
    """Counters of stored monitors as the collector's worker reports them: spans sampled,
    scores, spans dropped from a backlog, judge scores skipped over budget, errors, last run."""
    api = _Api(endpoint, api_key)
    chosen = [api.find(monitor, project)] if monitor else api.monitors(project)
    found = [msgspec.json.decode(api.call("GET", f"/api/monitors/{m.id}/status").content, type=MonitorStatus)
             for m in chosen]
    if as_json:
        click.echo(msgspec.json.encode(found[0] if monitor else found).decode())
        return
    for s in found:
        click.echo(_status_line(s))


@monitors.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_endpoint
@_key
def import_(file: Path, endpoint: str | None, api_key: str | None) -> None:
    """Store the monitors of a monitors file (the `run` format): a new (project, name) is
    created, an existing one replaced. Every entry is validated before anything is sent."""
    try:
        source, entries = _file_entries(file)
        bodies = [_entry_body(e, i, source) for i, e in enumerate(entries)]
    except ScorerError as exc:
        _fail(str(exc))
    keys = [(b.project, b.name) for b in bodies]
    dupes = sorted({f"{p}/{n}" for p, n in keys if keys.count((p, n)) > 1})
    if dupes:
        _fail(f"{source}: monitors named twice: {dupes}")
    api = _Api(endpoint, api_key)
    existing = {(m.project, m.name): m for m in api.monitors()}
    created = updated = 0
    for body in bodies:
        old = existing.get((body.project, body.name))
        api.save(body, old.id if old else None)
        created, updated = created + (old is None), updated + (old is not None)
    click.echo(f"{created} created, {updated} updated")


def _export_entry(m: MonitorOut) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": m.name, "project": m.project, "scorers": list(m.scorers)}
    if m.filter:
        entry["filter"] = dict(m.filter)
    entry["sample_rate"] = m.sample_rate
    if m.fields:
        entry["fields"] = dict(m.fields)
    if m.judge_budget_usd_per_day is not None:
        entry["judge_budget_usd_per_day"] = m.judge_budget_usd_per_day
    if not m.enabled:
        entry["enabled"] = False
    return entry


@monitors.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--project", default=None, help="Only this project's monitors.")
@_endpoint
@_key
def export(file: Path | None, project: str | None, endpoint: str | None, api_key: str | None) -> None:
    """Write the stored monitors as a monitors file (YAML; stdout without FILE), the format
    `import` and `run` read."""
    if file is not None and file.suffix not in (".yaml", ".yml"):
        _fail(f"{file}: export writes YAML: use a .yaml or .yml file")
    stored = _Api(endpoint, api_key).monitors(project)
    if not stored:
        _fail("no stored monitors to export" + (f" in project {project!r}" if project else ""))
    text = yaml.safe_dump({"monitors": [_export_entry(m) for m in stored]}, sort_keys=False,
                          allow_unicode=True)
    if file is None:
        click.echo(text, nl=False)
        return
    try:
        file.write_text(text)
    except OSError as exc:
        _fail(f"cannot write {file}: {exc.strerror}")
    click.echo(f"{len(stored)} monitor(s) written to {file}", err=True)


# -- the standalone mode: a monitors file, run by this process ---------------------------------

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
