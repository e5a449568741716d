"""The arrows of DESIGN.md hold: import-linter checks the contracts in pyproject.toml.

Layers (deployments -> bridge -> actors -> application -> solver | store |
integrations -> domain), a domain free of infrastructure, Ray only in the
runtime layers, settings only at the entry points, HTTP only in deployments/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_follows_the_arrows() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
