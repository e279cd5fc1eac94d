"""The third-party wheels ScoreFit ships, pinned once in blender_manifest.toml and used by
both the Blender extension build and the Resolve installer."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"
CACHE = ROOT / "build" / "wheels"
# Blender bundles NumPy, so the extension ships none; Resolve's Python has none, so its
# installer fetches this release for the target OS, CPU and Python (cp311 to cp314 exist).
NUMPY = ("numpy", "2.3.5")


def manifest() -> dict:
    return tomllib.loads(MANIFEST.read_text("utf-8"))


def pinned_wheels() -> list[str]:
    return [Path(w).name for w in manifest().get("wheels", [])]


def download(wheel: str, cache: Path = CACHE) -> Path:
    """Fetch exactly ``wheel`` (name-version-python-abi-platform.whl) from the index."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / wheel
    if target.exists():
        return target
    name, version, python, _abi, platforms = wheel[:-4].split("-")
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--dest", str(cache), f"{name}=={version}"]
    if platforms == "any":
        args += ["--platform", "any", "--implementation", "py", "--python-version", "3.11"]
    else:
        major_minor = python.removeprefix("cp")
        args += ["--implementation", "cp", "--python-version", f"{major_minor[0]}.{major_minor[1:]}"]
        for platform in platforms.split("."):
            args += ["--platform", platform]
    subprocess.run(args, check=True)
    if not target.exists():
        raise SystemExit(f"wheels: the index gave another file than {wheel}; "
                         "update the pin in blender_manifest.toml")
    return target


def download_compiled(name: str, version: str, python: tuple[int, int], platform_tag: str,
                      cache: Path = CACHE) -> Path:
    """Fetch the binary wheel of ``name==version`` for one CPython version and platform."""
    folder = cache / f"{name}-{version}-cp{python[0]}{python[1]}-{platform_tag}"
    found = sorted(folder.glob("*.whl")) if folder.exists() else []
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", "--dest", str(folder), "--implementation", "cp",
                    "--python-version", f"{python[0]}.{python[1]}", "--platform", platform_tag,
                    f"{name}=={version}"], check=True)
    found = sorted(folder.glob("*.whl"))
    if not found:
        raise SystemExit(f"wheels: no {name} {version} wheel for Python {python[0]}.{python[1]} "
                         f"on {platform_tag}")
    return found[0]
