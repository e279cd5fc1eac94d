"""Blender tests: the built extension, installed and enabled in real Blender (the bpy module).

Blender as a module has no event loop, so ``drive`` plays its part: it calls the timer the
add-on registered until the timer stops itself, as Blender's window manager would.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Blender reads its user folders when bpy is imported: never the real user's.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="scorefit-blender-user-"))

if os.environ.get("SCOREFIT_REQUIRE_BLENDER"):
    import bpy   # make test: a missing bpy is a failure, not a skip
else:
    bpy = pytest.importorskip("bpy", reason="Blender tests need the bpy module (make test installs it)")

from scorefit.emulator import DEFAULT_KEY, Emulator

try:
    import aud  # noqa: F401
    HAS_AUDIO = True
except ImportError:    # the PyPI bpy 4.2 wheel is built without Audaspace
    HAS_AUDIO = False

ROOT = Path(__file__).resolve().parents[2]
MODULE = "bl_ext.user_default.scorefit"


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.blender)


@pytest.fixture(scope="session")
def built_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Builds with Blender's own tool and runs its validator on the zip (non-zero exit fails).
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_extension.py"), "--output-dir", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out / "scorefit-0.1.0.zip"


@pytest.fixture(scope="session")
def extension(built_zip):
    bpy.context.preferences.system.use_online_access = True
    result = bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(built_zip),
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    assert MODULE in bpy.context.preferences.addons
    return importlib.import_module(MODULE)


@pytest.fixture
def runner(extension):
    runner = extension.blender.runner
    runner.state.message = runner.Message()
    yield runner
    runner.shutdown()


@pytest.fixture
def prefs(extension):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    yield prefs
    prefs.service = "MUSICAPI"


@pytest.fixture
def scene(extension):
    """A fresh 24 fps, 2-minute scene (frames 1-2880) at 48 kHz, shown in the window."""
    window = bpy.context.window
    previous = window.scene
    scene = bpy.data.scenes.new("ScoreFit Test")
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.frame_start, scene.frame_end = 1, 2880
    scene.render.ffmpeg.audio_mixrate = 48000
    scene.sequence_editor_create()
    window.scene = scene
    uid = scene.session_uid
    yield scene
    window.scene = previous
    for left in [s for s in bpy.data.scenes if s.session_uid == uid]:   # a test may remove it
        bpy.data.scenes.remove(left)


@pytest.fixture
def online():
    bpy.context.preferences.system.use_online_access = True
    yield
    bpy.context.preferences.system.use_online_access = True


@pytest.fixture
def emulator(monkeypatch):
    """An emulator the editor started by hand; ScoreFit polls at its speed."""
    with Emulator(speed=0.002, sample_rate=22050, seed=3) as emu:
        monkeypatch.setenv("MUSICAPI_KEY", DEFAULT_KEY)
        from scorefit.core import config
        config.save_settings(base_url=emu.url)
        yield emu


def generate() -> set:
    return bpy.ops.scorefit.generate()


def drive(runner, on_tick=None):
    """Blender as a module has no event loop: run the add-on's timer as Blender would."""
    runner.wait(timeout=120, on_tick=on_tick)
    assert not runner.busy()


def strips(scene):
    editor = scene.sequence_editor
    return list(editor.strips if hasattr(editor, "strips") else editor.sequences)


def add_color_strip(scene, channel: int, start: int, end_exclusive: int):
    editor = scene.sequence_editor
    if hasattr(editor, "strips"):
        return editor.strips.new_effect("busy", "COLOR", channel, start, length=end_exclusive - start)
    return editor.sequences.new_effect("busy", "COLOR", channel, start, frame_end=end_exclusive)
