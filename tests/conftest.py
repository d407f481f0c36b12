from __future__ import annotations

import os

import pytest

# Ray's token authentication is on by default in 2.60; local test clusters do not need it.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

pytest_plugins = ["tests.s3_server"]  # a moto S3 server: fixtures s3_server, s3_bucket, s3_uri


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance for the whole test session (starting Ray costs ~7 s)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
