"""Collector settings: command-line arguments, then ``SPYGLASS_*`` environment variables,
then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
DEFAULT_DATA_DIR = Path("~/.spyglass/data").expanduser()


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Everything the collector needs to start. Build with :meth:`Settings.load`."""

    host: str = "127.0.0.1"
    port: int = 4318
    data_dir: Path = DEFAULT_DATA_DIR
    clickhouse_url: str = ""
    # ClickHouse cluster (remote_servers name) for the sharded, replicated schema; empty:
    # single node (collector/storage/cluster.py).
    cluster: str = ""
    # Largest accepted request body, measured after gzip decompression (guards gzip bombs).
    max_body_bytes: int = 16 * MIB
    insecure_no_auth: bool = False
    # Writer: most spans one insert may carry, and most spans waiting or being written
    # before ingest answers 429 with Retry-After instead of buffering more.
    writer_max_batch_spans: int = 50_000
    writer_max_pending_spans: int = 200_000
    # Seconds a client is told to wait when the collector sheds load.
    retry_after_s: int = 1
    # Days spans are kept when a project has no TTL of its own; 0 keeps them forever.
    default_ttl_days: int = 0
    log_level: str = "info"
    # Alerts: how often the collector evaluates every rule (0 turns evaluation off), and the
    # first wait between webhook retries (doubling).
    alert_interval_ms: int = 30_000
    alert_retry_backoff_ms: int = 1_000
    # Most rows one GET /api/export/traces streams (a request may ask for fewer).
    export_max_rows: int = 100_000
    # Extra background workers (package.module:factory, comma separated) beside those of the
    # spyglass.workers entry points; "off" runs none (see collector/workers.py).
    workers: str = ""

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **args: Any) -> Settings:
        """Settings from ``args`` (None means "not given"), then ``SPYGLASS_<NAME>``
        variables in ``env`` (default ``os.environ``), then the defaults above."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls)}
        unknown = set(args) - set(known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        for name, f in known.items():
            default = f.default
            raw: Any = args.get(name)
            source = f"--{name.replace('_', '-')}"
            if raw is None:
                env_name = f"SPYGLASS_{name.upper()}"
                if env_name not in env or env[env_name] == "":
                    continue
                raw, source = env[env_name], env_name
            values[name] = _coerce(name, raw, default, source)
        return replace(cls(), **values)

    @property
    def url(self) -> str:
        """The base URL clients use to reach this collector."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _coerce(name: str, raw: Any, default: Any, source: str) -> Any:
    """Convert ``raw`` to the type of ``default``; errors name the setting's source."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{source} must be true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{source} must be an integer, got {raw!r}") from None
        if value < 0 or (name == "port" and value > 65535):
            raise SettingsError(f"{source} is out of range: {value}")
        return value
    if isinstance(default, Path):
        return Path(str(raw)).expanduser()
    return str(raw)
