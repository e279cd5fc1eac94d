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
    # requests' own dependencies ride along too; NumPy does not: Blender bundles it.
    assert (needed - {"numpy"}) | {"urllib3", "idna", "certifi", "charset-normalizer"} == pinned


def test_resolve_gets_a_numpy_that_satisfies_the_package():
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    from wheels import NUMPY
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = [d for d in project["dependencies"] if d.startswith("numpy")]
    lowest = tuple(int(p) for p in spec.split(">=")[1].split("."))
    assert NUMPY[0] == "numpy" and tuple(int(p) for p in NUMPY[1].split(".")) >= lowest
