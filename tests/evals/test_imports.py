"""Fast start (issue 12): `evals --help` and simple commands must not import the heavy
statistics stack, and the embedded collector must not import it either. Asserted on the
modules loaded (in a fresh interpreter), not on times."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

HEAVY = ("scipy", "numpy", "litestar", "chdb", "opentelemetry.sdk", "scorers", "pandas")


def loaded_after(code: str) -> set[str]:
    """Top-level module names loaded by a fresh interpreter running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "", "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded = loaded_after("import evals.cli")
    assert not [m for m in HEAVY if m in loaded]


def test_help_loads_no_heavy_module() -> None:
    loaded = loaded_after(
        "import sys\nfrom evals.cli import cli\n"
        "try:\n    cli.main(args=['--help'], prog_name='evals', standalone_mode=False)\n"
        "except SystemExit:\n    pass")
    assert not [m for m in HEAVY if m in loaded]


def test_suite_and_stats_modules_defer_scipy_until_used() -> None:
    loaded = loaded_after("import evals.suite, common.stats, common.compare")
    assert "scipy" not in loaded and "numpy" not in loaded


def test_the_collector_app_does_not_import_scipy() -> None:
    """The embedded collector `evals` starts without a server imports every route module,
    the evals routes included: scipy made it seconds slower than talking to a server."""
    loaded = loaded_after("import collector.app\ncollector.app.api_routes()")
    assert "scipy" not in loaded
