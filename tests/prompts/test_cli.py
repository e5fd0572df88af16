"""``spyglass prompts list|show|diff|push|label`` against a real collector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT


def _spyglass(url: str, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SPYGLASS_ENDPOINT": url,
           "SPYGLASS_PROJECT": project, "USER": "carol"}
    return subprocess.run([sys.executable, "-m", "collector", "prompts", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_push_show_diff_label_list(spyglass_server: Any, project: str, tmp_path: Path) -> None:
    url = spyglass_server.url
    one = tmp_path / "one.yaml"
    one.write_text("messages:\n  - {role: system, content: 'Be terse.'}\n"
                   "  - {role: user, content: '{{ question }}'}\nmodel: gpt-4o-mini\n"
                   "params: {temperature: 0}\n")
    two = tmp_path / "two.yaml"
    two.write_text(one.read_text().replace("Be terse.", "Be kind."))
    done = _spyglass(url, project, "push", "qa", str(one), "--label", "production")
    assert done.returncode == 0, done.stderr
    assert "qa v1" in done.stdout and "new version" in done.stdout
    again = _spyglass(url, project, "push", "qa", str(one))
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert _spyglass(url, project, "push", "qa", str(two)).returncode == 0

    shown = _spyglass(url, project, "show", "qa", "--label", "production")
    assert shown.returncode == 0 and "qa v1" in shown.stdout and "Be terse." in shown.stdout
    assert "variables: question" in shown.stdout

    diff = _spyglass(url, project, "diff", "qa", "v1", "v2")
    assert diff.returncode == 0
    assert any(line.startswith("-") and "Be terse." in line for line in diff.stdout.splitlines())
    assert any(line.startswith("+") and "Be kind." in line for line in diff.stdout.splitlines())

    moved = _spyglass(url, project, "label", "qa", "production", "v2")
    assert moved.returncode == 0, moved.stderr
    assert "production: v1 -> v2 by carol" in moved.stdout

    listed = _spyglass(url, project, "list")
    assert listed.returncode == 0 and "production=v2" in listed.stdout

    bad = _spyglass(url, project, "label", "qa", "production", "v7")
    assert bad.returncode == 1 and "v7" in bad.stderr
