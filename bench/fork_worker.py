"""The worker as ``helpline worker`` ran it before the dispatch fix: RQ's default `Worker`, which
forks a work horse per job. Only for ``python -m bench dispatch`` to measure both in one run:
``python -m bench.fork_worker`` with the product's environment."""

from __future__ import annotations

from rq import Worker

from acd import jobs as acd_jobs
from helpline.cli import WORKER_MAINTENANCE_S, WORKER_TTL_S
from helpline.log import configure_logging
from helpline.runtime import get_runtime


def main() -> None:
    """Start the periodic sweep and work, forking per job."""
    configure_logging()
    runtime = get_runtime()
    acd_jobs.start_periodic(runtime)
    Worker(  # the product's settings but for the class: only the fork differs
        [runtime.queue],
        connection=runtime.rq_redis,
        maintenance_interval=WORKER_MAINTENANCE_S,
        worker_ttl=WORKER_TTL_S,
    ).work(with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    main()
