"""API keys end to end: `spyglass keys` CLI, 401 without a key, project isolation for
reads and writes, revocation, and the refusal to serve an open collector off loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from test_api_support import MINUTE, S, now_ns, run_tour, send

from tests.conftest import REPO_ROOT, ServerHandle, free_port, start_server


def spyglass(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (``python -m collector ...``)."""
    return subprocess.run([sys.executable, "-m", "collector", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def create_key(data_dir: Path, project: str) -> str:
    done = spyglass("keys", "create", "--project", project, "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("sg_") and "\n" not in key
    assert "cannot be shown again" in done.stderr
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Keyed:
    """A collector with keys for projects alpha and beta, and a trace sent under each."""

    def __init__(self, tmp: Path) -> None:
        self.data_dir = tmp / "data"
        self.data_dir.mkdir(parents=True)
        suffix = uuid.uuid4().hex[:6]
        self.alpha, self.beta = f"alpha-{suffix}", f"beta-{suffix}"
        self.alpha_key = create_key(self.data_dir, self.alpha)
        self.beta_key = create_key(self.data_dir, self.beta)
        self.server: ServerHandle = start_server(self.data_dir)
        base = now_ns() - 5 * MINUTE
        url = self.server.url
        self.alpha_trace = send(url, self.alpha, [(base, S("alpha-root"))], bearer(self.alpha_key))[0]
        self.beta_trace = send(url, self.beta, [(base, S("beta-root"))], bearer(self.beta_key))[0]
        # No project in the resource: the key's project applies.
        self.implicit_trace = send(url, None, [(base + 1, S("implicit-root"))],
                                   bearer(self.alpha_key))[0]
        # A resource naming *another* project must not let alpha's key write into beta.
        self.smuggled_trace = send(url, self.beta, [(base + 2, S("smuggled-root"))],
                                   bearer(self.alpha_key))[0]

    def get(self, path: str, key: str | None, **params) -> httpx.Response:
        return httpx.get(f"{self.server.url}{path}", params=params,
                         headers=bearer(key) if key else {}, timeout=30)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    setup = Keyed(tmp_path_factory.mktemp("auth"))
    yield setup
    setup.server.stop()


def test_keys_cli_goes_through_the_running_collector(keyed: Keyed) -> None:
    """chDB allows one process per data dir: while the server holds it, `spyglass keys`
    manages keys through the server (admin token from the data dir), effective at once."""
    data = ["--data-dir", str(keyed.data_dir)]
    lost = spyglass("keys", "list", *data, "--url", f"http://127.0.0.1:{free_port()}")
    assert lost.returncode == 1
    assert lost.stderr.startswith("spyglass: error:") and "--url" in lost.stderr
    assert len(lost.stderr.strip().splitlines()) == 1
    via = ["--url", keyed.server.url]
    made = spyglass("keys", "create", "--project", "gamma", *data, *via)
    assert made.returncode == 0, made.stderr
    gamma_key = made.stdout.strip()
    reply = keyed.get("/api/projects", gamma_key)
    assert reply.status_code == 200 and [p["name"] for p in reply.json()["projects"]] == ["gamma"]
    listed = spyglass("keys", "list", "--json", *data, *via)
    assert {json.loads(line)["project"] for line in listed.stdout.splitlines()} == {
        keyed.alpha, keyed.beta, "gamma"}
    gamma_id = gamma_key.split("_")[1]
    revoked = spyglass("keys", "revoke", gamma_id, *data, *via)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    assert keyed.get("/api/projects", gamma_key).status_code == 401
    again = spyglass("keys", "revoke", gamma_id, *data, *via)
    assert again.returncode == 1 and "already revoked" in again.stderr


def test_admin_routes_need_the_admin_token(keyed: Keyed) -> None:
    token_file = keyed.data_dir / "admin.token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    url = f"{keyed.server.url}/api/admin/keys"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers=bearer(keyed.alpha_key), timeout=30).status_code == 401
    wrong = httpx.get(url, headers={"X-Spyglass-Admin-Token": "guess"}, timeout=30)
    assert wrong.status_code == 401 and "admin token" in wrong.json()["error"]
    token = token_file.read_text().strip()
    listed = httpx.get(url, headers={"X-Spyglass-Admin-Token": token}, timeout=30)
    assert listed.status_code == 200
    assert all("key" not in k for k in listed.json()["keys"])  # ids and hashes only
    made = httpx.post(url, json={"project": "bad name"}, timeout=30,
                      headers={"X-Spyglass-Admin-Token": token})
    assert made.status_code == 400 and "'project'" in made.json()["error"]


@pytest.mark.parametrize("path", ["/api/traces", "/api/projects", "/api/stats",
                                  "/api/spans", "/api/values/name", "/api/feedback",
                                  "/api/sessions", "/api/sessions/s-1", "/api/console/ttft"])
def test_api_needs_a_key(keyed: Keyed, path: str) -> None:
    missing = keyed.get(path, None)
    assert missing.status_code == 401
    assert "API key" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = keyed.get(path, "sg_0123456789ab_" + "x" * 40)
    assert wrong.status_code == 401 and "invalid" in wrong.json()["error"]
    malformed = httpx.get(f"{keyed.server.url}{path}", headers={"Authorization": "Basic abc"},
                          timeout=30)
    assert malformed.status_code == 401


def test_ingest_needs_a_key(keyed: Keyed) -> None:
    url = f"{keyed.server.url}/v1/traces"
    as_json = httpx.post(url, json={"resourceSpans": []}, timeout=30)
    assert as_json.status_code == 401 and "API key" in as_json.json()["error"]
    as_proto = httpx.post(url, content=ExportTraceServiceRequest().SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=30)
    assert as_proto.status_code == 401
    assert as_proto.headers["content-type"] == "application/x-protobuf"
    status = status_pb2.Status.FromString(as_proto.content)
    assert "API key" in status.message
    ok = httpx.post(url, json={"resourceSpans": []}, headers=bearer(keyed.beta_key), timeout=30)
    assert ok.status_code == 200


def test_public_paths_stay_open(keyed: Keyed) -> None:
    assert keyed.get("/healthz", None).status_code == 200
    assert keyed.get("/schema/openapi.json", None).status_code == 200


def test_each_key_sees_only_its_project(keyed: Keyed) -> None:
    traces = keyed.get("/api/traces", keyed.alpha_key).json()["traces"]
    assert {t["trace_id"] for t in traces} == {keyed.alpha_trace, keyed.implicit_trace,
                                               keyed.smuggled_trace}
    assert {t["project"] for t in traces} == {keyed.alpha}
    beta = keyed.get("/api/traces", keyed.beta_key).json()["traces"]
    assert [t["trace_id"] for t in beta] == [keyed.beta_trace]
    projects = keyed.get("/api/projects", keyed.alpha_key).json()["projects"]
    assert [p["name"] for p in projects] == [keyed.alpha]
    names = {v["value"] for v in keyed.get("/api/values/name", keyed.alpha_key).json()["values"]}
    assert names == {"alpha-root", "implicit-root", "smuggled-root"}
    stats = keyed.get("/api/stats", keyed.alpha_key, since="-1h").json()
    assert stats["project"] == keyed.alpha
    assert stats["totals"]["count"] == len(traces)
    spans = keyed.get("/api/spans", keyed.beta_key).json()["spans"]
    assert [s["name"] for s in spans] == ["beta-root"]


def test_a_key_cannot_write_another_project(keyed: Keyed) -> None:
    """Spans sent with alpha's key and a resource naming beta land in alpha."""
    beta = keyed.get("/api/traces", keyed.beta_key).json()["traces"]
    assert [t["trace_id"] for t in beta] == [keyed.beta_trace]
    assert keyed.get(f"/api/traces/{keyed.smuggled_trace}", keyed.beta_key).status_code == 404
    smuggled = keyed.get(f"/api/traces/{keyed.smuggled_trace}", keyed.alpha_key).json()
    assert smuggled["project"] == keyed.alpha


@pytest.mark.parametrize("path", ["/api/traces", "/api/spans", "/api/stats", "/api/values/name",
                                  "/api/feedback", "/api/sessions", "/api/sessions/s-1",
                                  "/api/console/ttft"])
def test_naming_another_project_is_403(keyed: Keyed, path: str) -> None:
    response = keyed.get(path, keyed.alpha_key, project=keyed.beta)
    assert response.status_code == 403
    assert keyed.beta in response.json()["error"]


def test_the_tracer_sends_with_its_api_key(keyed: Keyed) -> None:
    """tracer.init(api_key=...) authenticates; the spans land in the key's project even
    though the tracer names another one."""
    run_tour(keyed.server.url, f"elsewhere-{uuid.uuid4().hex[:6]}", keyed.beta_key)
    traces = keyed.get("/api/traces", keyed.beta_key, q="capital of France").json()["traces"]
    assert [t["root_name"] for t in traces] == ["answer"]
    assert traces[0]["project"] == keyed.beta and traces[0]["input_tokens"] == 12


def test_another_projects_trace_is_404(keyed: Keyed) -> None:
    assert keyed.get(f"/api/traces/{keyed.beta_trace}", keyed.alpha_key).status_code == 404
    own = keyed.get(f"/api/traces/{keyed.beta_trace}", keyed.beta_key)
    assert own.status_code == 200 and own.json()["project"] == keyed.beta


def test_feedback_is_confined_to_the_keys_project(keyed: Keyed) -> None:
    url = f"{keyed.server.url}/api/feedback"
    denied = httpx.post(url, json={"trace_id": keyed.beta_trace, "name": "x", "value": 1,
                                   "project": keyed.beta}, headers=bearer(keyed.alpha_key),
                        timeout=30)
    assert denied.status_code == 403
    mine = httpx.post(url, json={"trace_id": keyed.alpha_trace, "name": "x", "value": 1},
                      headers=bearer(keyed.alpha_key), timeout=30)
    assert mine.status_code == 201 and mine.json()["project"] == keyed.alpha
    seen_by_beta = keyed.get("/api/feedback", keyed.beta_key, trace_id=keyed.alpha_trace)
    assert seen_by_beta.json()["feedback"] == []
    seen_by_alpha = keyed.get("/api/feedback", keyed.alpha_key, trace_id=keyed.alpha_trace)
    assert [f["name"] for f in seen_by_alpha.json()["feedback"]] == ["x"]


def test_feedback_to_an_unknown_trace_with_a_key_is_404_without_leaking(keyed: Keyed) -> None:
    """Another project's trace and a trace that exists nowhere get the same 404 body, and
    nothing is stored; naming the key's own project still allows early feedback."""
    url = f"{keyed.server.url}/api/feedback"

    def post(trace_id: str, **extra) -> httpx.Response:
        return httpx.post(url, json={"trace_id": trace_id, "name": "probe", "value": 1, **extra},
                          headers=bearer(keyed.alpha_key), timeout=30)

    nowhere = "ab" * 16
    other, unknown = post(keyed.beta_trace), post(nowhere)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"].replace(keyed.beta_trace, "ID") == \
        unknown.json()["error"].replace(nowhere, "ID")
    assert keyed.beta not in other.text
    for trace_id in (keyed.beta_trace, nowhere):
        stored = keyed.get("/api/feedback", keyed.beta_key, trace_id=trace_id).json()["feedback"]
        assert [f for f in stored if f["name"] == "probe"] == []
    early = post(nowhere, project=keyed.alpha)
    assert early.status_code == 201 and early.json()["project"] == keyed.alpha


def test_revoked_key_is_refused_and_listing_shows_it(keyed: Keyed) -> None:
    keyed.server.stop()
    listed = spyglass("keys", "list", "--json", "--data-dir", str(keyed.data_dir))
    assert listed.returncode == 0, listed.stderr
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["project"] for r in records} == {keyed.alpha, keyed.beta, "gamma"}
    # The secret is base64url and may itself contain "_": split only the prefix and id off.
    secret = keyed.alpha_key.split("_", 2)[2]
    assert keyed.alpha_key not in listed.stdout and secret not in listed.stdout
    alpha_id = next(r["key_id"] for r in records if r["project"] == keyed.alpha)
    assert keyed.alpha_key.startswith(f"sg_{alpha_id}_")
    revoked = spyglass("keys", "revoke", alpha_id, "--data-dir", str(keyed.data_dir))
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    again = spyglass("keys", "revoke", alpha_id, "--data-dir", str(keyed.data_dir))
    assert again.returncode == 1 and "already revoked" in again.stderr
    unknown = spyglass("keys", "revoke", "ffffffffffff", "--data-dir", str(keyed.data_dir))
    assert unknown.returncode == 1 and "no API key" in unknown.stderr
    table = spyglass("keys", "list", "--data-dir", str(keyed.data_dir))
    assert "revoked" in table.stdout and "active" in table.stdout
    # With a key in place, serving on every interface is allowed.
    keyed.server = start_server(keyed.data_dir, "--host", "0.0.0.0")
    assert keyed.get("/api/traces", keyed.alpha_key).status_code == 401
    assert keyed.get("/api/traces", keyed.beta_key).status_code == 200


def test_bad_project_name_for_a_key(tmp_path) -> None:
    done = spyglass("keys", "create", "--project", "no spaces", "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 1 and "invalid project name" in done.stderr
    assert done.stdout == ""


def test_open_collector_refuses_non_loopback(tmp_path) -> None:
    port = free_port()
    refused = spyglass("serve", "--host", "0.0.0.0", "--port", str(port), "--data-dir",
                       str(tmp_path / "data"), timeout=120)
    assert refused.returncode != 0
    assert "refusing to listen on 0.0.0.0" in refused.stderr and "--insecure-no-auth" in refused.stderr
    assert "Spyglass listening" not in refused.stdout
    server = start_server(tmp_path / "data", "--host", "0.0.0.0", "--insecure-no-auth")
    try:
        assert "WITHOUT AUTHENTICATION" in server.log()
        assert httpx.get(f"{server.url}/api/projects", timeout=30).status_code == 200
    finally:
        server.stop()
