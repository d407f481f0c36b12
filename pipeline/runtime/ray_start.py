"""Connect to Ray: an existing cluster when RAY_ADDRESS is set, else a local instance."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def ensure_ray(num_cpus: int | None = None, address: str | None = None) -> None:
    """Initialise Ray once per process (a no-op inside Ray jobs and workers).

    `address` (or RAY_ADDRESS) joins an existing cluster; otherwise a local instance starts.
    """
    import ray

    if ray.is_initialized():
        return
    # Local instances need no token authentication (Ray 2.60 turns it on by default).
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
        log.info("connected to the Ray cluster at %s", address)
    else:
        # The dashboard serves Ray's state API, which Ray Train's placement-group cleaner polls
        # every second (without it, it logs a warning each time), and shows the run's progress.
        ray.init(num_cpus=num_cpus, include_dashboard=True, dashboard_host="127.0.0.1", configure_logging=False)
        log.info("started a local Ray instance")
