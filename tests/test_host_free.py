"""The core must never import a host, nor the emulator: it is shared by Blender, Resolve and
the CLI, and a host that offers the emulator starts it and hands it to the core."""
import re
import subprocess
import sys
from pathlib import Path

HOSTS = ("bpy", "aud", "DaVinciResolveScript", "fusionscript", "bmd")
FORBIDDEN = HOSTS + ("scorefit.emulator",)
CORE = Path(__file__).resolve().parents[1] / "addon" / "core"


def test_importing_every_core_module_loads_no_host_module():
    modules = sorted("scorefit.core." + ".".join(p.relative_to(CORE).with_suffix("").parts)
                     for p in CORE.rglob("*.py") if p.name != "__init__.py")
    assert "scorefit.core.pipeline" in modules and "scorefit.core.musicapi.client" in modules
    code = (f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
            f"print(sorted(h for h in {FORBIDDEN!r} if h in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_sources_name_no_host_import():
    # Also catches imports inside functions, which the import test above would not run.
    pattern = re.compile(rf"^\s*(?:import|from)\s+({'|'.join(HOSTS)}|\.+emulator|scorefit\.emulator)\b",
                         re.M)
    for path in CORE.rglob("*.py"):
        text = path.read_text("utf-8")
        assert not pattern.findall(text), path
        assert "/_emulator/" not in text, path      # the emulator's private control endpoints


HOST_CODE = [*(CORE.parent / "blender").glob("*.py"), *(CORE.parent / "resolve").glob("*.py"),
             CORE.parent / "cli.py", CORE.parent / "interchange.py"]


def test_hosts_use_the_core_through_its_front_door_only():
    """A host names ``core`` and nothing inside it, so the core can be rearranged freely."""
    inner = re.compile(r"^\s*(?:from|import)\s+(?:\.+|scorefit\.)core\.\w", re.M)
    assert len(HOST_CODE) > 10
    for path in HOST_CODE:
        assert not inner.findall(path.read_text("utf-8")), path
    import scorefit.core as front
    missing = [name for name in front.__all__ if not hasattr(front, name)]
    assert not missing


def test_every_error_a_host_catches_derives_from_scorefiterror():
    from scorefit.core import FrameRate, InputError, PlacementError, ScoreFitError, Timeline
    from scorefit.core.plan import Settings
    import pytest
    for bad in (lambda: FrameRate.parse("fast"), lambda: Timeline(FrameRate(24), 0),
                lambda: Timeline.from_dict({"fps": 24, "duration_seconds": "tense"}),
                lambda: Settings(output="flac")):
        with pytest.raises(InputError) as caught:
            bad()
        assert isinstance(caught.value, ScoreFitError) and isinstance(caught.value, ValueError)
    assert issubclass(PlacementError, ScoreFitError)
