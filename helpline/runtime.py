"""The running pieces one process needs: settings, config, Redis, clock, keys, Twilio, RQ.

The web app holds one (``app.extensions["helpline"]``); CLI commands and RQ jobs get theirs
from `get_runtime()`, built once per process from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis
from rq import Queue
from twilio.rest import Client

from helpline.clock import Clock, ScaledClock, SystemClock
from helpline.keys import Keys
from helpline.redis_topology import CLUSTER, SINGLE, connect, is_cluster, parse_redis_url
from helpline.settings import ConfigError, HelplineConfig, Settings, load_config
from helpline.twilio_client import make_client

REDIS_TIMEOUT = 2.0  # seconds
RedisClient = redis.Redis  # the name ``redis`` is a field inside `Runtime`


def queue_name(helpline_id: str) -> str:
    """The helpline's RQ queue: helplines sharing one RQ Redis never run each other's jobs."""
    return f"helpline-{helpline_id}"


@dataclass
class Runtime:
    """Shared resources of one process."""

    settings: Settings
    config: HelplineConfig
    redis: redis.Redis  # decode_responses=True: our own data (a RedisCluster on a Cluster)
    clock: Clock = field(default_factory=SystemClock)
    twilio_override: Client | None = None
    rq_is_async: bool = True

    @cached_property
    def keys(self) -> Keys:
        """Key names for this helpline."""
        return Keys(self.config.helpline.id)

    @cached_property
    def rq_redis(self) -> RedisClient:
        """A binary connection for RQ (it stores pickled/JSON bytes): RQ_REDIS_URL, else the
        runtime's own server. RQ's keys share no hash tag, so never a Cluster."""
        url = self.settings.rq_redis_url or self.settings.redis_url
        if url:
            target = parse_redis_url(url)
            if target.kind == CLUSTER:
                raise ConfigError("RQ cannot use a Redis Cluster: set RQ_REDIS_URL")
            # No socket timeout: RQ blocks on its queues for long periods.
            return connect(target, decode_responses=False, socket_timeout=None)
        if is_cluster(self.redis):
            raise ConfigError("RQ cannot use a Redis Cluster: set RQ_REDIS_URL")
        return self.redis_with(decode_responses=False, socket_timeout=None)

    def redis_with(self, max_connections: int | None = None, **options: Any) -> RedisClient:
        """A client of the runtime's Redis (any topology) with other connection options (a
        longer timeout for blocking reads like XREAD BLOCK, bytes for RQ), on a pool of its
        own: what a live view should use instead of copying ``redis.connection_pool``."""
        limit: dict[str, Any] = {}
        if max_connections is not None:
            limit["max_connections"] = max_connections
        url = self.settings.redis_url
        if url and parse_redis_url(url).kind != SINGLE:
            return connect(url, **{"socket_timeout": REDIS_TIMEOUT, **options, **limit})
        # One server (REDIS_URL or the embedded one, or a test's): same pool settings but these.
        pool = self.redis.connection_pool
        kwargs = {**pool.connection_kwargs, **options, **limit}
        own = pool.__class__(connection_class=pool.connection_class, **kwargs)
        return redis.Redis(connection_pool=own)

    @cached_property
    def queue(self) -> Queue:
        """The helpline's RQ queue for ACD jobs."""
        name = queue_name(self.config.helpline.id)
        return Queue(name, connection=self.rq_redis, is_async=self.rq_is_async)

    @property
    def twilio(self) -> Client:
        """The Twilio REST client (base URL from TWILIO_API_BASE_URL)."""
        if self.twilio_override is not None:
            return self.twilio_override
        return self._twilio

    @cached_property
    def _twilio(self) -> Client:
        s = self.settings
        return make_client(
            s.twilio_account_sid, s.twilio_auth_token, s.twilio_api_base_url, s.twilio_http_timeout
        )

    def public_url(self, path: str) -> str:
        """Absolute URL Twilio should call for ``path`` (PUBLIC_BASE_URL + path)."""
        base = self.settings.public_base_url or "http://localhost:8000"
        return base + path


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL (any topology, see `helpline.redis_topology`), or the embedded server under
    the data folder (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    from helpline.redis_server import ensure_embedded

    return ensure_embedded(settings.data_dir)


def build_runtime(settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
    """A runtime from the environment."""
    settings = settings or Settings.from_env()
    config = load_config(settings.config_path)
    # Short timeouts: a webhook must answer (safe TwiML) well within Twilio's 15 s even when
    # Redis is unreachable. Blocking reads (RQ, live views) use their own connections.
    client = connect(
        resolve_redis_url(settings),
        decode_responses=True,
        health_check_interval=30,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )
    if clock is None:
        speed = settings.clock_speed
        clock = ScaledClock(speed, settings.clock_origin) if speed != 1.0 else SystemClock()
    return Runtime(settings=settings, config=config, redis=client, clock=clock)


_current: Runtime | None = None


def get_runtime() -> Runtime:
    """This process's runtime (built from the environment on first use)."""
    global _current  # noqa: PLW0603 - one per process by design
    if _current is None:
        _current = build_runtime()
    return _current


def set_runtime(runtime: Runtime | None) -> None:
    """Install ``runtime`` as this process's (tests, the web app)."""
    global _current  # noqa: PLW0603
    _current = runtime
