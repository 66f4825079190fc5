"""Fixtures of the beyond-one-machine tests: a 3-primary Redis Cluster and a Sentinel set-up
started from the session's redis-server binary (`helpline.redis_cluster`).

Inside this folder the usual fixtures run on the Cluster: ``redis`` is a `RedisCluster` client
(every primary emptied before each test) and ``settings`` name it in REDIS_URL, with RQ on the
session's plain private server (RQ_REDIS_URL), as docs/deployment.md says to deploy it. The
ACD's own fixtures are imported, so its tests run here unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from helpline.redis_cluster import LocalCluster
from helpline.redis_server import PrivateRedis
from helpline.redis_topology import connect
from helpline.settings import Settings
from tests.acd.conftest import acd, make_counsellor  # noqa: F401 - fixtures, reused
from tests.conftest import AUTH_TOKEN, PUBLIC, SECRET_KEY
from tests.twilio_fake import ACCOUNT


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three cluster primaries sharing the 16384 slots, for the whole session."""
    local = LocalCluster(Path(tmp_path_factory.mktemp("cluster")), primaries=3)
    yield local
    local.stop()


@pytest.fixture
def redis(cluster: LocalCluster, redis_server: PrivateRedis) -> Iterator[redis_lib.Redis]:
    """A Cluster client on empty primaries (and an empty RQ server)."""
    cluster.flushall()
    plain = redis_lib.Redis.from_url(redis_server.url)
    plain.flushall()
    plain.close()
    client = connect(cluster.url)
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, cluster: LocalCluster, redis_server: PrivateRedis) -> Settings:
    """The test settings with REDIS_URL on the Cluster and RQ_REDIS_URL on the plain server."""
    return Settings.from_env(
        {
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "PUBLIC_BASE_URL": PUBLIC,
            "HELPLINE_DATA_DIR": str(tmp_path / "var"),
            "REDIS_URL": cluster.url,
            "RQ_REDIS_URL": redis_server.url,
        },
        mode="test",
    )
