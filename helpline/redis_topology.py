"""REDIS_URL and RQ_REDIS_URL: one server, a Redis Cluster, or the primary Sentinels watch.

| URL                                                              | topology |
|------------------------------------------------------------------|----------|
| ``redis://[[user]:pass@]host[:port][/db]``, ``rediss://…``, ``unix:///path/redis.sock[?db=N]`` | one server (redis-py's own URL syntax) |
| ``redis+cluster://[[user]:pass@]host:port[,host:port…][?ssl=true]`` | a Redis Cluster; the nodes listed are starting points, the client learns the others |
| ``redis+sentinel://[[user]:pass@]host:port[,host:port…]/<master name>[/db][?ssl=true]`` | the primary that the Sentinels name; asked again after a failover |

Every client gets the same retry policy (`RETRY`): a command that meets a connection error or
a timeout is sent again, at most `RETRIES` times with a short backoff, on a fresh connection —
which, for Sentinel, means asking the Sentinels who the primary is now, and for a Cluster,
refreshing the slot map. docs/deployment.md says which ACD scripts are safe to repeat.
"""

# ruff: noqa: E501 - the URL table reads best unwrapped
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

SINGLE, CLUSTER, SENTINEL = "single", "cluster", "sentinel"
CLUSTER_SCHEME = "redis+cluster"
SENTINEL_SCHEME = "redis+sentinel"
#: Resends after a connection error or a timeout. With 2 s timeouts, the worst case (host
#: unreachable) stays well under Twilio's 15 s webhook limit; redis-py's own default (10) does not.
RETRIES = 3


def retry_policy() -> Retry:
    """A fresh retry policy (ConnectionError, TimeoutError): 3 resends, 50 ms to 500 ms apart."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), RETRIES)


@dataclass(frozen=True)
class RedisTarget:
    """Where a URL points: the topology and what each kind needs."""

    kind: str  # single | cluster | sentinel
    url: str
    nodes: tuple[tuple[str, int], ...] = ()  # cluster: start nodes; sentinel: the Sentinels
    master: str = ""  # sentinel: the monitored primary's name
    username: str | None = None
    password: str | None = None
    db: int = 0
    ssl: bool = False


def _nodes(netloc: str, url: str) -> tuple[tuple[str, int], ...]:
    hosts = netloc.rpartition("@")[2]
    nodes = []
    for part in hosts.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{url!r}: each node must be host:port (got {part!r})")
        nodes.append((host.strip("[]"), int(port)))
    return tuple(nodes)


def _credentials(netloc: str) -> tuple[str | None, str | None]:
    userinfo, at, _ = netloc.rpartition("@")
    if not at:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if colon else None)


def _flag(query: dict[str, list[str]], name: str) -> bool:
    value = query.get(name, ["false"])[-1].lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"{name} must be true or false")
    return value in ("true", "1", "yes")


def parse_redis_url(url: str) -> RedisTarget:
    """The topology ``url`` names; ValueError with a readable message when it names none."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        return RedisTarget(SINGLE, url)
    if scheme not in (CLUSTER_SCHEME, SENTINEL_SCHEME):
        raise ValueError(
            f"{url!r}: the scheme must be redis://, rediss://, unix://, "
            f"{CLUSTER_SCHEME}:// or {SENTINEL_SCHEME}://"
        )
    # urlsplit's own host/port parsing stops at the first node: read the netloc ourselves.
    nodes = _nodes(parts.netloc, url)
    username, password = _credentials(parts.netloc)
    query = parse_qs(parts.query)
    unknown = set(query) - {"ssl"}
    if unknown:
        raise ValueError(f"{url!r}: unknown options {', '.join(sorted(unknown))} (only ssl)")
    ssl = _flag(query, "ssl")
    path = [p for p in parts.path.split("/") if p]
    if scheme == CLUSTER_SCHEME:
        if path:
            raise ValueError(f"{url!r}: a cluster URL has no path (a Redis Cluster has only db 0)")
        return RedisTarget(CLUSTER, url, nodes, username=username, password=password, ssl=ssl)
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(f"{url!r}: a Sentinel URL ends with /<master name>[/<db>]")
    db = int(path[1]) if len(path) == 2 else 0
    return RedisTarget(
        SENTINEL, url, nodes, master=unquote(path[0]), username=username, password=password,
        db=db, ssl=ssl,
    )  # fmt: skip


def connect(
    target: RedisTarget | str,
    *,
    decode_responses: bool = True,
    socket_timeout: float | None = 2.0,
    socket_connect_timeout: float | None = 2.0,
    **extra: Any,
) -> redis.Redis:
    """A client for ``target`` with these options, whatever the topology.

    A `RedisCluster` is not a `redis.Redis` subclass but offers the same commands, scripts and
    non-transactional pipelines over keys of one hash tag, which is all the application uses;
    the annotation says `redis.Redis` so that callers need not care."""
    if isinstance(target, str):
        target = parse_redis_url(target)
    options: dict[str, Any] = {
        "decode_responses": decode_responses,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "retry": retry_policy(),
        **extra,
    }
    if target.kind == SINGLE:
        return redis.Redis.from_url(target.url, **options)
    auth = {"username": target.username, "password": target.password}
    if target.kind == CLUSTER:
        nodes = [ClusterNode(h, p) for h, p in target.nodes]  # type: ignore[no-untyped-call]
        client = RedisCluster(startup_nodes=nodes, ssl=target.ssl, **{**auth, **options})
        return cast(redis.Redis, client)
    # Sentinels are asked with the same timeouts; the primary gets the credentials and db.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.nodes),
        sentinel_kwargs={
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_connect_timeout,
            "ssl": target.ssl,
        },
    )
    return cast(
        redis.Redis,
        sentinel.master_for(  # type: ignore[no-untyped-call]
            target.master, ssl=target.ssl, db=target.db, **auth, **options
        ),
    )


def is_cluster(client: object) -> bool:
    """True for a Redis Cluster client."""
    return isinstance(client, RedisCluster)
