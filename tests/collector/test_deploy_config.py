"""The shipped deployment files parse and agree with each other: compose.yaml,
compose.cluster.yaml and the ClickHouse / Keeper XML they mount (no Docker here, so this
is what can be checked: YAML, XML, names, shards and replicas, system log TTLs, and the TTL
expressions through ClickHouse's parser)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

import clickhouse_connect
import pytest
import yaml

from tests.conftest import REPO_ROOT

SYSTEM_LOGS = REPO_ROOT / "deploy" / "clickhouse" / "system_logs.xml"
# The logs that grow without bound on a default server; each must carry a TTL.
MUST_BE_BOUNDED = ("query_log", "trace_log", "metric_log", "asynchronous_metric_log",
                   "part_log", "text_log", "processors_profile_log", "query_thread_log")


def _compose(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / name).read_text())


def _mounts(service: dict) -> dict[str, Path]:
    """Container path -> host file of the service's bind mounts."""
    out = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("./"):
            out[container] = REPO_ROOT / host
    return out


def _clickhouse_services(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items()
            if str(s.get("image", "")).startswith("clickhouse/clickhouse-server")}


@pytest.mark.parametrize("name", ["compose.yaml", "compose.cluster.yaml"])
def test_compose_files_parse_and_mount_files_that_exist(name: str) -> None:
    compose = _compose(name)
    assert "spyglass" in compose["services"]
    servers = _clickhouse_services(compose)
    assert servers
    for service in compose["services"].values():
        for container, host in _mounts(service).items():
            assert host.is_file(), f"{name} mounts missing {host}"
            if host.suffix == ".xml":
                ET.parse(host)  # raises on malformed XML
            assert container.startswith("/etc/clickhouse-")
    for server in servers.values():
        assert _mounts(server)["/etc/clickhouse-server/config.d/system_logs.xml"] == SYSTEM_LOGS


def test_system_logs_are_bounded_by_ttls_clickhouse_parses(clickhouse) -> None:
    root = ET.parse(SYSTEM_LOGS).getroot()
    ttls = {child.tag: child.findtext("ttl") for child in root}
    for log in MUST_BE_BOUNDED:
        assert ttls.get(log), f"system.{log} has no TTL"
    u = urlparse(clickhouse.url)
    client = clickhouse_connect.get_client(host=u.hostname, port=u.port, username=u.username,
                                           password=u.password or "")
    try:
        for log, ttl in ttls.items():
            column = "finish_date" if ttl.startswith("finish_date") else "event_date"
            ast = client.raw_query(
                f"EXPLAIN AST CREATE TABLE {log} ({column} Date) ENGINE = MergeTree "
                f"ORDER BY tuple() TTL {ttl}", fmt="TabSeparated").decode()
            assert "CreateQuery" in ast, (log, ttl)
    finally:
        client.close()


def test_cluster_compose_is_two_shards_of_two_replicas_with_keeper() -> None:
    compose = _compose("compose.cluster.yaml")
    services = compose["services"]
    servers = _clickhouse_services(compose)
    assert len(servers) == 4
    config = ET.parse(REPO_ROOT / "deploy" / "cluster" / "cluster.xml").getroot()
    (cluster,) = list(config.find("remote_servers"))
    shards = cluster.findall("shard")
    assert len(shards) == 2
    for number, shard in enumerate(shards, start=1):
        assert shard.findtext("internal_replication") == "true"
        hosts = [r.findtext("host") for r in shard.findall("replica")]
        assert len(hosts) == 2
        for host in hosts:
            env = servers[host]["environment"]
            # Each server's macros name its shard and itself.
            assert int(env["CH_SHARD"]) == number and env["CH_REPLICA"] == host
            assert servers[host]["hostname"] == host
    macros = config.find("macros")
    assert macros.find("shard").get("from_env") == "CH_SHARD"
    assert macros.find("replica").get("from_env") == "CH_REPLICA"
    # Spyglass creates its schema on this cluster, through one of its nodes.
    spyglass = services["spyglass"]["environment"]
    assert spyglass["SPYGLASS_CLUSTER"] == cluster.tag
    assert urlparse(spyglass["SPYGLASS_CLICKHOUSE_URL"]).hostname in servers
    # Keeper: every server knows the ensemble, and every member has its own id.
    keepers = [n.findtext("host") for n in config.find("zookeeper").findall("node")]
    keeper = ET.parse(REPO_ROOT / "deploy" / "cluster" / "keeper.xml").getroot()
    raft = {s.findtext("hostname"): s.findtext("id")
            for s in keeper.find("keeper_server/raft_configuration")}
    assert sorted(keepers) == sorted(raft) and len(raft) == 3
    for host, server_id in raft.items():
        assert services[host]["environment"]["KEEPER_SERVER_ID"] == server_id
    assert keeper.find("keeper_server/server_id").get("from_env") == "KEEPER_SERVER_ID"
