"""One version everywhere, and the manifest's pins cover what the core imports."""
import tomllib
from pathlib import Path

import scorefit
from scorefit.emulator import server
from scorefit.core import plan

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_written_once_and_the_manifest_agrees():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "scorefit.__version__"}
    assert manifest["version"] == scorefit.__version__
    assert manifest["id"] == "scorefit" and manifest["blender_version_min"] == "4.2.0"


def test_the_plans_model_and_credit_tables_agree_with_the_emulator():
    # Two copies on purpose: the emulator stands for the service, the plan is the client's
    # forecast. Adding a model or changing a price in one alone fails here.
    assert {m.name: (m.max_seconds, m.typical_seconds) for m in plan.MODELS.values()} == server.MODEL_SECONDS
    assert plan.MODELS.keys() >= server.DURATION_TARGET_MODELS
    assert {n for n, m in plan.MODELS.items() if m.duration_target} == server.DURATION_TARGET_MODELS
    costs = {"create": "create_music", "extend": "extend_music", "concat": "concat_music", "wav": "wav"}
    assert {kind: server.CREDIT_COST[name] for kind, name in costs.items()} == plan.CREDITS


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


def test_the_extension_carries_neither_opentimelineio_nor_the_interchange_module(tmp_path):
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    import build_extension
    staged = build_extension.stage(tmp_path, [])
    assert (staged / "cli.py").is_file() and not (staged / "interchange.py").exists()
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert not [w for w in manifest["wheels"] if "otio" in w.lower() or "opentimelineio" in w.lower()]
