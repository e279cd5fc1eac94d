"""The Resolve installer, into a temporary home, for each OS layout."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("install", ROOT / "resolve_scripts" / "install.py")
install = importlib.util.module_from_spec(spec)
sys.modules["install"] = install      # dataclasses look their module up while it loads
spec.loader.exec_module(install)

USER = {
    "linux": ".local/share/DaVinciResolve/Fusion/Scripts",
    "macos": "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts",
}


@pytest.mark.parametrize("os_name", ["linux", "macos", "windows"])
def test_per_user_paths(os_name, tmp_path):
    env = {"APPDATA": str(tmp_path / "AppData" / "Roaming")}
    root = install.scripts_root(os_name, False, env, tmp_path)
    if os_name == "windows":
        assert str(root).replace("\\", "/").endswith(
            "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts")
    else:
        assert root == tmp_path / USER[os_name]


def test_system_wide_paths():
    assert install.scripts_root("linux", True) == Path("/opt/resolve/Fusion/Scripts")
    assert str(install.scripts_root("macos", True)) == (
        "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts")
    win = install.scripts_root("windows", True, {"PROGRAMDATA": r"C:\ProgramData"})
    assert str(win).replace("\\", "/") == "C:/ProgramData/Blackmagic Design/DaVinci Resolve/Fusion/Scripts"


@pytest.mark.parametrize("os_name,arch,tag", [
    ("linux", "x86_64", "manylinux_2_28_x86_64"), ("linux", "aarch64", "aarch64"),
    ("macos", "arm64", "macosx_11_0_arm64"), ("macos", "x86_64", "macosx_10_13_x86_64"),
    ("windows", "AMD64", "win_amd64"), ("windows", "ARM64", "win_arm64")])
def test_audioop_lts_only_for_python_3_13_and_for_the_right_platform(os_name, arch, tag, tmp_path):
    old = install.layout(os_name, False, (3, 11), arch, {}, tmp_path)
    assert not [w for w in old.wheels if w.startswith("audioop")]
    new = install.layout(os_name, False, (3, 14), arch, {}, tmp_path)
    (audioop,) = [w for w in new.wheels if w.startswith("audioop")]
    assert tag in audioop
    assert len(new.wheels) == len(old.wheels) + 1


@pytest.mark.parametrize("os_name,arch,tag", [
    ("linux", "x86_64", "manylinux_2_28_x86_64"), ("linux", "aarch64", "manylinux_2_28_aarch64"),
    ("macos", "arm64", "macosx_11_0_arm64"), ("windows", "AMD64", "win_amd64")])
def test_numpy_is_fetched_for_the_target_python_and_platform(os_name, arch, tag, tmp_path):
    plan = install.layout(os_name, False, (3, 14), arch, {}, tmp_path)
    assert plan.numpy == ((3, 14), tag)
    with pytest.raises(SystemExit, match="no NumPy wheel"):
        install.layout("linux", False, (3, 11), "riscv64", {}, tmp_path)


def test_dry_run_changes_nothing(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "resolve_scripts" / "install.py"), "--dry-run",
                          "--home", str(tmp_path), "--os", "linux"], capture_output=True, text=True,
                         check=True).stdout
    assert "Would copy the menu entry to " + str(tmp_path / USER["linux"] / "Utility/ScoreFit") in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("os_name", ["linux", "macos", "windows"])
def test_install_then_the_launcher_imports_the_vendored_package_in_a_fresh_interpreter(os_name, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    script = ROOT / "resolve_scripts" / "install.py"
    run = subprocess.run([sys.executable, str(script), "--home", str(tmp_path), "--os", os_name,
                          "--arch", "x86_64"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Restart DaVinci Resolve" in run.stdout
    plan = install.layout(os_name, False, sys.version_info[:2], "x86_64",
                          {"APPDATA": str(tmp_path / "AppData" / "Roaming")}, tmp_path)
    launcher, refit = plan.launchers
    assert launcher.name == "Generate Soundtrack.py" and refit.name == "Refit Soundtrack.py"
    assert "ACTION = 'refit'" in refit.read_text() and repr(str(plan.lib_dir)) in refit.read_text()
    assert "ACTION = 'generate'" in launcher.read_text()
    # only the entries are in the menu: the libraries live outside Scripts
    assert sorted(launcher.parent.rglob("*.py")) == sorted(plan.launchers)
    # -I -S: no site-packages, no environment: only the standard library and the vendored folder.
    imports = ("import scorefit, requests, pydub, platformdirs;"
               "print(scorefit.__file__); print(requests.__file__); print(pydub.__file__)")
    if os_name == "linux":      # the one platform whose compiled wheels (NumPy) load here
        probe = (f"import runpy; runpy.run_path(r'{launcher}', init_globals={{'resolve': None}});"
                 f"{imports}; import numpy, scorefit.core.fit; print(numpy.__file__)")
    else:
        tag = next(line for line in next(plan.lib_dir.glob("numpy-*.dist-info")).joinpath("WHEEL")
                   .read_text().splitlines() if line.startswith("Tag:"))
        family, arch = plan.numpy[1].split("_")[0], plan.numpy[1].rsplit("_", 1)[-1]
        assert family in tag and arch in tag, tag       # pip may choose an older compatible OS tag
        probe = f"import sys; sys.path.insert(0, r'{plan.lib_dir}'); {imports}"
    fresh = subprocess.run([getattr(sys, "_base_executable", sys.executable), "-I", "-S", "-c", probe],
                           capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    lines = fresh.stdout.splitlines()
    if os_name == "linux":
        assert "run this from DaVinci Resolve" in lines.pop(0)
    lib = str(plan.lib_dir)
    assert all(line.startswith(lib) for line in lines), lines
    # and uninstall removes both folders
    subprocess.run([sys.executable, str(script), "--home", str(tmp_path), "--os", os_name, "--uninstall"],
                   check=True, capture_output=True)
    assert not plan.menu_dir.exists() and not plan.lib_dir.exists()
