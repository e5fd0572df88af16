"""Where clients find the collector: one rule for the tracer, ``evals``, ``spyglass keys``
and the monitors.

``spyglass serve`` writes the URL it listens on (and its data directory and pid) to
``$SPYGLASS_HOME/endpoint`` (``~/.spyglass/endpoint``) and removes it when it stops. A
client resolves the collector as: an explicit argument, else ``SPYGLASS_ENDPOINT``, else
the endpoint file when the process that wrote it is still running, else
``http://127.0.0.1:4318``. So ``spyglass serve --port 5000`` (or ``make run ARGS="--port
5000 --data-dir /tmp/sg"``) is followed by every client on the machine without further
settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
ENDPOINT_ENV = "SPYGLASS_ENDPOINT"
HOME_ENV = "SPYGLASS_HOME"
ENDPOINT_FILE = "endpoint"


@dataclass(frozen=True)
class Served:
    """What a running ``spyglass serve`` published: its URL, data directory and pid."""

    url: str
    data_dir: str
    pid: int


def spyglass_home(env: Mapping[str, str] | None = None) -> Path:
    """``SPYGLASS_HOME`` (in ``env``, then the process environment), else ``~/.spyglass``."""
    value = (env or {}).get(HOME_ENV) or os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else Path("~/.spyglass").expanduser()


def endpoint_file(env: Mapping[str, str] | None = None) -> Path:
    """The file ``spyglass serve`` publishes its URL in."""
    return spyglass_home(env) / ENDPOINT_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except OSError:
        return False
    return True


def served(env: Mapping[str, str] | None = None) -> Served | None:
    """The running collector the endpoint file names; None when there is none (no file,
    an unreadable one, or its writer has exited, e.g. after ``kill -9``)."""
    try:
        doc = json.loads(endpoint_file(env).read_text())
        found = Served(str(doc["url"]).rstrip("/"), str(doc.get("data_dir", "")), int(doc["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if found.url and _alive(found.pid) else None


def publish(url: str, data_dir: str | os.PathLike[str] | None,
            env: Mapping[str, str] | None = None) -> Path | None:
    """Write the endpoint file for this process (atomically); None if it cannot be
    written (clients then fall back to their settings and the default)."""
    path = endpoint_file(env)
    doc = {"url": url, "data_dir": str(data_dir or ""), "pid": os.getpid()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{ENDPOINT_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps(doc) + "\n")
        os.replace(tmp, path)
    except OSError:
        return None
    return path


def withdraw(env: Mapping[str, str] | None = None) -> None:
    """Remove the endpoint file if this process wrote it (another serve may have since)."""
    path = endpoint_file(env)
    try:
        if int(json.loads(path.read_text())["pid"]) == os.getpid():
            path.unlink()
    except (OSError, ValueError, KeyError, TypeError):
        pass


def resolve_endpoint(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The collector's base URL: ``explicit``, else ``SPYGLASS_ENDPOINT``, else the running
    ``spyglass serve`` of the endpoint file, else :data:`DEFAULT_ENDPOINT`."""
    env = os.environ if env is None else env
    if explicit:
        return explicit.rstrip("/")
    if env.get(ENDPOINT_ENV):
        return env[ENDPOINT_ENV].rstrip("/")
    found = served(env)
    return found.url if found else DEFAULT_ENDPOINT


def discovered_endpoint(env: Mapping[str, str] | None = None) -> str | None:
    """The URL of the running ``spyglass serve`` the endpoint file names, or None."""
    found = served(env)
    return found.url if found else None
