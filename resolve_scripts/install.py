"""Install ScoreFit into DaVinci Resolve's Workspace ▸ Scripts menu (run once, then restart Resolve).

    python resolve_scripts/install.py                 # for this user
    python resolve_scripts/install.py --system        # for every user (needs admin rights)
    python resolve_scripts/install.py --dry-run       # only say what would happen
    python resolve_scripts/install.py --uninstall

It copies the menu entry to Fusion/Scripts/Utility/ScoreFit/ and puts ScoreFit with its
pinned dependencies in a private folder beside Fusion/Scripts (Resolve lists every .py
under Scripts as a menu item, so the libraries must not live there). Run it with the
Python that Resolve uses, or name that version: ``--resolve-python 3.13``.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The menu entries, each written from the one launcher: its file name and its action.
LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
ENTRIES = {"Generate Soundtrack.py": "generate", "Refit Soundtrack.py": "refit"}
sys.path.insert(0, str(ROOT / "tools"))
from wheels import NUMPY, download, download_compiled, pinned_wheels  # noqa: E402

MENU = "ScoreFit"
LIB = "ScoreFit-lib"
# audioop-lts (needed by pydub on Python 3.13+) is compiled: one wheel per OS and CPU.
# (OS, CPU) -> (platform tag prefix, suffix) of the matching wheel.
AUDIOOP_PLATFORM = {("linux", "x86_64"): ("manylinux", "x86_64"), ("linux", "aarch64"): ("manylinux", "aarch64"),
                    ("macos", "arm64"): ("macosx", "arm64"), ("macos", "x86_64"): ("macosx", "x86_64"),
                    ("windows", "amd64"): ("win", "amd64"), ("windows", "x86_64"): ("win", "amd64"),
                    ("windows", "arm64"): ("win", "arm64")}
# NumPy (the fit's analysis) is compiled per OS, CPU and Python: the platform tag pip asks for.
NUMPY_PLATFORM = {("linux", "x86_64"): "manylinux_2_28_x86_64", ("linux", "aarch64"): "manylinux_2_28_aarch64",
                  ("macos", "arm64"): "macosx_11_0_arm64", ("macos", "x86_64"): "macosx_10_13_x86_64",
                  ("windows", "amd64"): "win_amd64", ("windows", "x86_64"): "win_amd64",
                  ("windows", "arm64"): "win_arm64"}


def this_os() -> str:
    return {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")


def scripts_root(os_name: str, system: bool, env=os.environ, home: Path | None = None) -> Path:
    """Resolve's Fusion/Scripts folder (Blackmagic's scripting README)."""
    home = Path(home or Path.home())
    if os_name == "macos":
        base = Path("/Library") if system else home / "Library"
        return base / "Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts"
    if os_name == "windows":
        if system:
            return Path(env.get("PROGRAMDATA") or r"C:\ProgramData", "Blackmagic Design",
                        "DaVinci Resolve", "Fusion", "Scripts")
        return Path(env.get("APPDATA") or home / "AppData" / "Roaming", "Blackmagic Design",
                    "DaVinci Resolve", "Support", "Fusion", "Scripts")
    return Path("/opt/resolve/Fusion/Scripts") if system else home / ".local/share/DaVinciResolve/Fusion/Scripts"


@dataclass(frozen=True)
class Layout:
    menu_dir: Path        # Fusion/Scripts/Utility/ScoreFit: listed in every page's Scripts menu
    lib_dir: Path         # Fusion/ScoreFit-lib: the scorefit package and its dependencies
    wheels: tuple
    numpy: tuple          # (python, platform tag) of the NumPy wheel to fetch

    @property
    def launchers(self) -> list[Path]:
        return [self.menu_dir / name for name in ENTRIES]


def layout(os_name: str, system: bool, python: tuple[int, int], arch: str, env=os.environ,
           home: Path | None = None) -> Layout:
    scripts = scripts_root(os_name, system, env, home)
    wheels = []
    for wheel in pinned_wheels():
        if wheel.startswith("audioop_lts-"):
            prefix, suffix = AUDIOOP_PLATFORM.get((os_name, arch.lower()), ("?", "?"))
            tag = wheel[:-len(".whl")].split("-")[-1]
            if python >= (3, 13) and tag.startswith(prefix) and tag.endswith(suffix):
                wheels.append(wheel)
        else:
            wheels.append(wheel)
    if python >= (3, 13) and not any(w.startswith("audioop_lts-") for w in wheels):
        raise SystemExit(f"install: no audioop-lts wheel for {os_name}/{arch}; pydub needs it on "
                         f"Python {python[0]}.{python[1]}.")
    numpy_platform = NUMPY_PLATFORM.get((os_name, arch.lower()))
    if numpy_platform is None:
        raise SystemExit(f"install: no NumPy wheel is known for {os_name}/{arch}.")
    return Layout(scripts / "Utility" / MENU, scripts.parent / LIB, tuple(wheels), (python, numpy_platform))


def install(plan: Layout, dry_run: bool, say=print):
    for launcher in plan.launchers:
        say(f"{'Would copy' if dry_run else 'Copying'} the menu entry to {launcher}")
    say(f"{'Would put' if dry_run else 'Putting'} ScoreFit and {len(plan.wheels) + 1} pinned packages "
        f"in {plan.lib_dir}")
    for wheel in plan.wheels:
        say(f"  {wheel}")
    python, platform_tag = plan.numpy
    say(f"  {NUMPY[0]} {NUMPY[1]} for Python {python[0]}.{python[1]} on {platform_tag}")
    if dry_run:
        return
    # Fetch everything before changing anything.
    wheel_files = [download(w) for w in plan.wheels] + [download_compiled(*NUMPY, *plan.numpy)]
    staging = plan.lib_dir.with_name(plan.lib_dir.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(ROOT / "addon", staging / "scorefit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "blender"))
    for wheel in wheel_files:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(staging)
    shutil.rmtree(plan.lib_dir, ignore_errors=True)
    staging.rename(plan.lib_dir)                              # the old copy is replaced whole
    plan.menu_dir.mkdir(parents=True, exist_ok=True)
    for launcher in plan.launchers:
        text = (LAUNCHER.read_text("utf-8").replace('"@SCOREFIT_LIB@"', repr(str(plan.lib_dir)))
                .replace('"@SCOREFIT_ACTION@"', repr(ENTRIES[launcher.name])))
        partial = launcher.with_name(launcher.name + ".part")
        partial.write_text(text, "utf-8")
        os.replace(partial, launcher)      # Resolve never lists a half-written entry


def uninstall(plan: Layout, dry_run: bool, say=print):
    for path in (plan.menu_dir, plan.lib_dir):
        if path.exists():
            say(f"{'Would remove' if dry_run else 'Removing'} {path}")
            if not dry_run:
                shutil.rmtree(path)
        else:
            say(f"Nothing at {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", action="store_true", help="install for every user")
    parser.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    parser.add_argument("--uninstall", action="store_true")
    parser.add_argument("--os", choices=("windows", "macos", "linux"), default=this_os())
    parser.add_argument("--arch", default=platform.machine(), help="CPU: x86_64, arm64, aarch64, amd64")
    parser.add_argument("--resolve-python", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                        help="the Python version Resolve runs scripts with (21.1 bundles 3.14)")
    parser.add_argument("--home", help=argparse.SUPPRESS)     # tests: a temporary home folder
    args = parser.parse_args(argv)
    python = tuple(int(p) for p in args.resolve_python.split(".")[:2])
    plan = layout(args.os, args.system, python, args.arch, home=Path(args.home) if args.home else None)
    if args.uninstall:
        uninstall(plan, args.dry_run)
        print("Restart DaVinci Resolve to drop ScoreFit from Workspace > Scripts.")
        return 0
    install(plan, args.dry_run)
    if not args.dry_run:
        print(f"Installed. Restart DaVinci Resolve, then run Workspace > Scripts > {MENU} > "
              "Generate Soundtrack (or Refit Soundtrack after a recut). Free edition 21.1 and "
              "later do not list Python scripts (see README).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
