"""Blender tests: the built extension, installed and enabled in real Blender (the bpy module).

Blender as a module has no event loop, so ``drive`` plays its part: it calls the timer the
add-on registered until the timer stops itself, as Blender's window manager would.
"""
from __future__ import annotations

import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Blender reads its user folders when bpy is imported: never the real user's.
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="scorefit-blender-user-")
atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], ignore_errors=True)

import bpy  # noqa: E402  (after the environment above; tests/conftest.py skips this folder without it)

from blender_helpers import MODULE, ROOT  # noqa: E402
from scorefit.emulator import DEFAULT_KEY, Emulator  # noqa: E402


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
        config.save_settings(base_url=emu.url, time_scale=emu.speed)
        yield emu


