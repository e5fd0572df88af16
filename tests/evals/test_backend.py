"""Which store ``evals`` uses: a collector that answers, else an in-process one, never a
data dir a running collector holds."""

from __future__ import annotations

import json

from tests.conftest import start_server


def test_locked_data_dir_is_one_line_exit_2(embedded_evals) -> None:
    e = embedded_evals
    holder = start_server(e.data_dir)  # a collector on another port holds the data dir
    try:
        e.write("rows.jsonl", '{"q": 1}\n')
        result = e.run("datasets", "push", "rows.jsonl", "--name", "x")
        assert result.returncode == 2
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("evals: error:")]
        assert len(errors) == 1
        assert str(e.data_dir) in errors[0] and "in use by another Spyglass process" in errors[0]
        assert f"pid {holder.process.pid}" in errors[0]
    finally:
        holder.stop()


def test_embedded_store_says_so_and_keeps_data_between_commands(embedded_evals) -> None:
    e = embedded_evals
    e.write("rows.jsonl", '{"q": 1}\n{"q": 2}\n')
    pushed = e.run("datasets", "push", "rows.jsonl", "--name", "kept")
    assert pushed.returncode == 0, pushed.stderr
    notice = [ln for ln in pushed.stderr.splitlines() if "in-process" in ln]
    assert len(notice) == 1 and str(e.data_dir) in notice[0] and e.env["SPYGLASS_ENDPOINT"] in notice[0]
    pulled = e.run("datasets", "pull", "kept:v1")
    assert [json.loads(ln) for ln in pulled.stdout.splitlines()] == [{"q": 1}, {"q": 2}]
    # Later, a collector over the same data dir serves what the embedded runs stored.
    server = start_server(e.data_dir)
    try:
        served = e.run("datasets", "list", extra_env={"SPYGLASS_ENDPOINT": server.url})
        assert served.returncode == 0 and "kept" in served.stdout
        assert "in-process" not in served.stderr
    finally:
        server.stop()
