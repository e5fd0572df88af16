"""Messages that must not mislead (issue 12): exceptions whose ``__str__`` raises, the
price-file CLI naming where the file came from, the exit wait with a dead collector."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tracer.helpers import Traced
from tracer import op

REPO = Path(__file__).resolve().parents[2]


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken too")


def test_exception_whose_str_raises_is_recorded_with_a_placeholder_quietly(
        traced: Traced, caplog: pytest.LogCaptureFixture) -> None:
    @op
    def fails() -> None:
        raise Unprintable()

    with caplog.at_level(logging.WARNING), pytest.raises(Unprintable):
        fails()
    span = traced.one("fails")
    assert span.status.description == "Unprintable: <Unprintable: str() failed>"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "Unprintable"
    assert event.attributes["exception.message"] == "<Unprintable: str() failed>"
    assert "Traceback" in event.attributes["exception.stacktrace"]
    # Quietly: nothing logged about it, no traceback printed.
    assert not [r for r in caplog.records if r.name.startswith("spyglass")], caplog.text


def test_prices_cli_blames_the_argument_not_the_environment_variable(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text("{not json")
    env = {k: v for k, v in os.environ.items() if k != "SPYGLASS_PRICES_FILE"}
    done = subprocess.run([sys.executable, "-m", "tracer.llm", "prices", str(bad)], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "SPYGLASS_PRICES_FILE" not in done.stderr
    assert f"price file {bad} (given as an argument) is not valid JSON" in done.stderr
    missing = subprocess.run([sys.executable, "-m", "tracer.llm", "prices", str(tmp_path / "no")],
                             cwd=REPO, capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2 and "SPYGLASS_PRICES_FILE" not in missing.stderr


EXIT_SCRIPT = """
import tracer
from tracer import op
tracer.init(project="exit-wait", endpoint="{endpoint}", flush_timeout_s=30)
@op
def f(x):
    return x
f(1)
print("done", flush=True)
"""


def test_dead_collector_that_refuses_does_not_hold_up_exit(tmp_path: Path) -> None:
    """Nothing ever exported and the endpoint refuses: one line, no wait. Checked as what
    happens (the message, the exit), not a duration: the 30 s budget would fail the
    test's own timeout if it were spent."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "app.py"
    script.write_text(EXIT_SCRIPT.format(endpoint=f"http://127.0.0.1:{port}"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=25, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0 and done.stdout == "done\n"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "connection refused" in lines[0] and "without waiting" in lines[0]
