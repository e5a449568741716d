"""The Ray a bench starts for itself: local, two CPUs, its workers at nice 0."""

from __future__ import annotations

from pathlib import Path

import ray

ROOT = Path(__file__).resolve().parents[1]


def start_local_ray(namespace: str) -> None:
    """Start a Ray of the bench's own in ``namespace`` (never one another process left in
    /tmp/ray/ray_current_cluster).

    Ray nices its workers to 15; on a shared, busy machine they would then lose to everything else (and to the
    uvicorn front end, a nice 0 process): the same conditions for all, as bench/solver.py.
    """
    ray.init(
        address="local",
        _system_config={"worker_niceness": 0},
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        namespace=namespace,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
