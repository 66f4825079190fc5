"""The local Cluster/Sentinel tooling copes with a machine shared with other processes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from helpline import redis_cluster
from helpline.redis_cluster import HOST, start_node


def test_a_node_whose_port_was_taken_meanwhile_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between choosing a free port and binding it, another process may take it: retry."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy, redis_cluster.free_port()])
        monkeypatch.setattr(redis_cluster, "free_port", lambda bus_too=False: next(ports))
        node = start_node(tmp_path, lambda port: ["--port", str(port), "--bind", HOST])
        try:
            assert node.port != busy and node.client.ping()
        finally:
            node.stop()
