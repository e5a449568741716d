"""Shared fixtures: one local Ray per session, a fresh PostgreSQL database per
session (real server from DATABASE_URL, else the embedded one), cleaned
between tests, and Redis (REDIS_URL, else embedded).

Ray, the database and Redis start only when a test asks for them, so the unit
tests of domain/ and solver/ never pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """The one local Ray instance of the test session (2 CPUs, no dashboard)."""
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            namespace="scheduling-tests",
            runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}},
        )
    yield ray
    ray.shutdown()
