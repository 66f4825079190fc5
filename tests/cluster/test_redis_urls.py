"""REDIS_URL / RQ_REDIS_URL: which topology a URL names, and what the settings refuse."""

from __future__ import annotations

import pytest

from helpline.redis_topology import (
    CLUSTER,
    RETRIES,
    SENTINEL,
    SINGLE,
    RedisTarget,
    connect,
    parse_redis_url,
)
from helpline.runtime import Runtime
from helpline.settings import ConfigError, Settings, load_config


@pytest.mark.parametrize(
    "url",
    ["redis://localhost:6379/0", "rediss://:secret@redis.example.org:6380", "unix:///run/r.sock"],
)
def test_plain_urls_name_one_server(url: str) -> None:
    """redis://, rediss:// and unix:// keep redis-py's own syntax."""
    assert parse_redis_url(url) == RedisTarget(SINGLE, url)


def test_a_cluster_url_lists_its_start_nodes_and_credentials() -> None:
    """redis+cluster://user:pass@host:port,host:port?ssl=true."""
    url = "redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2:7001?ssl=true"
    target = parse_redis_url(url)
    assert target.kind == CLUSTER
    assert target.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001))
    assert (target.username, target.password, target.ssl) == ("app", "s@cret", True)


def test_a_sentinel_url_names_the_sentinels_the_primary_and_the_db() -> None:
    """redis+sentinel://:pass@host:port,host:port/<master name>[/db]."""
    target = parse_redis_url("redis+sentinel://:pw@s1:26379,s2:26379,s3:26379/helpline/2")
    assert target.kind == SENTINEL
    assert target.nodes == (("s1", 26379), ("s2", 26379), ("s3", 26379))
    assert (target.master, target.db, target.password) == ("helpline", 2, "pw")
    assert parse_redis_url("redis+sentinel://s1:26379/helpline").db == 0


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://localhost:6379", "scheme"),
        ("redis+cluster://localhost", "host:port"),
        ("redis+cluster://a:7000/0", "no path"),
        ("redis+cluster://a:7000?timeout=3", "unknown options"),
        ("redis+sentinel://a:26379", "master name"),
        ("redis+sentinel://a:26379/helpline/x", "master name"),
        ("redis+sentinel://a:99999/helpline", "host:port"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, says: str) -> None:
    """A URL naming no topology stops the process with what is wrong."""
    with pytest.raises(ValueError, match=says):
        parse_redis_url(url)


def test_settings_refuse_a_cluster_without_a_separate_redis_for_rq() -> None:
    """RQ's keys have no common hash tag: with a Cluster, RQ_REDIS_URL must name one server."""
    cluster = "redis+cluster://a:7000,b:7001"
    with pytest.raises(ConfigError, match="RQ_REDIS_URL"):
        Settings.from_env({"REDIS_URL": cluster}, mode="test")
    with pytest.raises(ConfigError, match="RQ_REDIS_URL cannot be a Redis Cluster"):
        Settings.from_env({"REDIS_URL": cluster, "RQ_REDIS_URL": cluster}, mode="test")
    with pytest.raises(ConfigError, match="REDIS_URL: 'redis\\+sentinel://a:1'"):
        Settings.from_env({"REDIS_URL": "redis+sentinel://a:1"}, mode="test")
    ok = Settings.from_env({"REDIS_URL": cluster, "RQ_REDIS_URL": "redis://q:6379"}, mode="test")
    assert (ok.redis_url, ok.rq_redis_url) == (cluster, "redis://q:6379")


def test_rq_never_lands_on_the_cluster(cluster, redis_server) -> None:
    """A runtime on a Cluster puts RQ on RQ_REDIS_URL, and refuses to run RQ without it."""
    settings = Settings.from_env(
        {"REDIS_URL": cluster.url, "RQ_REDIS_URL": redis_server.url}, mode="test"
    )
    client = connect(cluster.url)
    runtime = Runtime(settings=settings, config=load_config(None), redis=client)
    assert runtime.queue.connection.connection_pool.connection_kwargs["path"] == str(
        redis_server.socket_path
    )
    bare = Runtime(settings=Settings.from_env({}, mode="test"), config=runtime.config, redis=client)
    with pytest.raises(ConfigError, match="RQ cannot use a Redis Cluster"):
        _ = bare.queue
    client.close()


def test_every_topology_resends_a_few_times_only(cluster) -> None:
    """A bounded retry policy: a webhook still answers within Twilio's 15 s when Redis is away."""
    single = connect("redis://127.0.0.1:1")
    sentinel = connect("redis+sentinel://127.0.0.1:1/helpline")
    on_cluster = connect(cluster.url)
    assert single.get_retry().get_retries() == RETRIES
    assert sentinel.connection_pool.connection_kwargs["retry"].get_retries() == RETRIES
    assert on_cluster.retry.get_retries() == RETRIES
    on_cluster.close()
