"""Build dist/scorefit-<version>.zip: addon/ + blender_manifest.toml + the pinned wheels,
then check it with Blender's own tool (bl_pkg/cli/blender_ext.py from the bpy module).

    python tools/build_extension.py [--output-dir dist] [--no-validate]

Needs the ``bpy`` module in the running interpreter (``pip install bpy==5.0.1``) for
Blender's builder and validator, and the package index for the wheels (downloaded once
into build/wheels).
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from wheels import MANIFEST, download, manifest, pinned_wheels  # noqa: E402


def blender_ext() -> Path:
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("build_extension: needs the bpy module for Blender's extension tool: "
                         "pip install bpy==5.0.1")
    base = Path(list(spec.submodule_search_locations)[0])
    found = sorted(base.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise SystemExit(f"build_extension: blender_ext.py not found under {base}")
    return found[-1]


def package_version() -> str:
    """``__version__`` from addon/__init__.py, read without importing the package."""
    import ast
    tree = ast.parse((ROOT / "addon" / "__init__.py").read_text("utf-8"))
    return next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(t, "id", "") == "__version__" for t in node.targets))


def stage(build: Path, wheels: list[str]) -> Path:
    source = build / "extension"
    shutil.rmtree(source, ignore_errors=True)
    # interchange.py reads other editors' timelines for the command line (OpenTimelineIO, an
    # optional extra): Blender never loads it, so the extension does not carry it.
    shutil.copytree(ROOT / "addon", source,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "interchange.py"))
    shutil.copy2(MANIFEST, source / MANIFEST.name)
    (source / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy2(download(wheel, build / "wheels"), source / "wheels" / wheel)
    return source


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default=str(ROOT / "dist"))
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args(argv)
    info = manifest()
    version = package_version()
    if info["version"] != version:
        raise SystemExit(f"build_extension: blender_manifest.toml says version {info['version']}, "
                         f"addon/__init__.py says {version}: make them agree")
    wheels = pinned_wheels()
    build = ROOT / "build"
    (build / "wheels").mkdir(parents=True, exist_ok=True)
    source = stage(build, wheels)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tool = blender_ext()
    subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(source),
                    "--output-dir", str(out)], check=True)
    archive = out / f"{info['id']}-{info['version']}.zip"
    if not args.no_validate:
        subprocess.run([sys.executable, str(tool), "validate", str(archive)], check=True)
    print(f"Built {archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
