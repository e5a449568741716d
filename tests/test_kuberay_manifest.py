"""The KubeRay manifest: generated from serve_config.yaml (in sync) and valid against the RayService CRD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from deployments.kuberay_manifest import MANIFEST, SECRET, SERVE_CONFIG, render

CRD = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "kuberay" / "ray.io_rayservices.yaml"


def manifest() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return doc


def test_the_committed_manifest_is_what_serve_config_yaml_generates() -> None:
    assert MANIFEST.read_text() == render(), "run: .venv/bin/python -m deployments.kuberay_manifest > " + str(
        MANIFEST.relative_to(MANIFEST.parents[2])
    )


def test_its_serve_config_is_serve_config_yaml() -> None:
    serve = manifest()["spec"]["serveConfigV2"]
    assert serve == SERVE_CONFIG.read_text()
    assert yaml.safe_load(serve)["applications"][0]["import_path"] == "deployments.app:build_app"


def test_database_and_redis_come_from_the_secret_in_every_container() -> None:
    spec = manifest()["spec"]["rayClusterConfig"]
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for group in groups:
        for container in group["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in container["env"]}
            for name in ("DATABASE_URL", "REDIS_URL"):
                assert env[name]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": name}
            assert container["resources"]["requests"]


@pytest.mark.skipif(not CRD.exists(), reason="the RayService CRD snapshot lives in ../shared/bench-data/kuberay")
def test_the_manifest_is_valid_against_the_rayservice_crd() -> None:
    crd = yaml.safe_load(CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = version["schema"]["openAPIV3Schema"]
    jsonschema.validate(manifest(), schema)
    # and the validator does catch a bad manifest (a worker group without its required groupName)
    broken = manifest()
    del broken["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["groupName"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
