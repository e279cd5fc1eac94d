"""Helpers for the Blender tests (imported after conftest.py has pointed Blender at a
temporary user folder)."""
from __future__ import annotations

from pathlib import Path

import bpy

try:
    import aud  # noqa: F401
    HAS_AUDIO = True
except ImportError:    # the PyPI bpy 4.2 wheel is built without Audaspace
    HAS_AUDIO = False

ROOT = Path(__file__).resolve().parents[2]
MODULE = "bl_ext.user_default.scorefit"


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
    from scorefit.blender import compat
    return compat.new_effect(compat.top_strips(scene), "busy", "COLOR", channel, start, end_exclusive - start)


def span(strip) -> tuple[int, int, int]:
    """(channel, first frame, frames) of a strip, on every Blender line."""
    from scorefit.blender import compat
    first, after = compat.span(strip)
    return strip.channel, first, after - first
