"""``python -m tracer.llm``: exit codes, one-line errors, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "SPYGLASS_PRICES_FILE"}
    return subprocess.run([sys.executable, "-m", "tracer.llm", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**full_env, **(env or {})})


def test_cost_of_a_snapshot_with_cached_tokens() -> None:
    result = run("cost", "gpt-4o-2024-08-06", "1000", "500", "--cached", "800")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0.00650000 USD (gpt-4o-2024-08-06 billed as gpt-4o")


def test_cost_at_a_past_date() -> None:
    result = run("cost", "o3", "1000000", "0", "--at", "2025-05-01")
    assert result.stdout.startswith("10.00000000 USD")


def test_unknown_model_exits_1_with_one_line() -> None:
    result = run("cost", "my-llama", "1", "1")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "unknown model 'my-llama'" in result.stderr


def test_bad_numbers_exit_2() -> None:
    result = run("cost", "gpt-4o", "-5", "1")
    assert result.returncode == 2
    assert result.stderr == ("error: input_tokens must be a non-negative number of tokens, "
                             "got -5\n")
    assert run("cost", "gpt-4o", "1", "1", "--at", "someday").returncode == 2


def test_prices_lists_the_table_and_validates_a_file(tmp_path: Path) -> None:
    result = run("prices")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].endswith("USD per million tokens")
    assert any(line.split()[:2] == ["claude-haiku-4-5", "anthropic"]
               for line in result.stdout.splitlines())
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"acme-70b": {"input": 0.6, "output": 0.8}}))
    listed = run("prices", str(good))
    assert listed.returncode == 0, listed.stderr
    assert f"+file:{good}" in listed.stdout.splitlines()[0]
    assert any(line.split()[0] == "acme-70b" for line in listed.stdout.splitlines())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"models": {"acme-70b": {"input": -1, "output": 1}}}))
    rejected = run("prices", str(bad))
    assert rejected.returncode == 2
    assert rejected.stderr == (f"error: price file {bad}: models.acme-70b.prices[0].input "
                               "must be a non-negative number, got -1\n")


def test_prices_file_from_env_is_used_for_cost(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"acme-70b": {"input": 1.0, "output": 3.0}}))
    result = run("cost", "acme-70b", "1000000", "1000000",
                 env={"SPYGLASS_PRICES_FILE": str(path)})
    assert result.stdout.startswith("4.00000000 USD")


def test_tokens_offline() -> None:
    assert run("tokens", "hello world", "--model", "gpt-4o").stdout == "2 tokens (o200k_base)\n"
    assert run("tokens", "-", stdin="tiktoken is great!").stdout == "6 tokens (cl100k_base)\n"
