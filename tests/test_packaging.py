"""One version everywhere, and the manifest's pins cover what the core imports."""
import tomllib
from pathlib import Path

from scorefit.core import pipeline

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_in_manifest_pyproject_and_provenance():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["version"] == project["version"] == pipeline.VERSION
    assert manifest["id"] == "scorefit" and manifest["blender_version_min"] == "4.2.0"


def test_every_runtime_dependency_has_a_pinned_wheel():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    pinned = {Path(w).name.split("-")[0].lower().replace("_", "-") for w in manifest["wheels"]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {d.split(">")[0].split("=")[0].split(";")[0].strip().lower() for d in project["dependencies"]}
    # requests' own dependencies ride along too
    assert needed | {"urllib3", "idna", "certifi", "charset-normalizer"} == pinned
