"""The one place that knows how the Sequencer's API differs between Blender lines.

Every difference is found by asking Blender what it has, never by its version number:
- the collection: ``SequenceEditor.sequences`` (4.2 LTS) or ``.strips`` (4.5 and later);
- ``new_effect``'s length: ``frame_end=`` (up to 4.5) or ``length=`` (5.0 and later);
- a strip's range: ``left_handle``/``right_handle`` (5.2 and later) or ``frame_final_*``,
  which 5.2 deprecates and 6.0 removes; where its content starts: ``content_start`` or
  ``frame_start``, likewise.
"""
from __future__ import annotations

import bpy


def top_strips(scene):
    """The strips at the top level of the scene's sequencer (created if missing)."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    # hasattr, not truthiness: an empty collection is falsy.
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def span(strip) -> tuple[int, int]:
    """(first frame, frame after the last) of what the strip shows."""
    if hasattr(strip, "left_handle"):
        return strip.left_handle, strip.right_handle
    return strip.frame_final_start, strip.frame_final_end


def content_start(strip) -> float:
    """The frame where the strip's content (its sound's first sample) sits: ``content_start``
    (5.2 and later) or ``frame_start``, which 5.2 deprecates."""
    return strip.content_start if hasattr(strip, "content_start") else strip.frame_start


def set_length(strip, frames: int):
    """Show exactly ``frames`` frames from the strip's start, moving its right handle."""
    if hasattr(strip, "right_handle"):
        strip.right_handle = strip.left_handle + frames
    else:
        strip.frame_final_duration = frames


def new_effect(strips, name: str, kind: str, channel: int, start: int, length: int):
    """``strips.new_effect`` with whichever length argument this Blender takes."""
    parameters = {p.identifier for p in strips.bl_rna.functions["new_effect"].parameters}
    if "length" in parameters:
        return strips.new_effect(name, kind, channel, start, length=length)
    return strips.new_effect(name, kind, channel, start, frame_end=start + length)


def active_strip(scene):
    """The active strip (``SequenceEditor.active_strip`` exists on every supported line)."""
    editor = scene.sequence_editor
    return editor.active_strip if editor else None


def has_audio() -> bool:
    """Sound strips need Audaspace, which real Blender always has but some bpy module builds
    (the PyPI 4.2 wheel) lack; there ``new_sound`` fails with "compiled without Audaspace"."""
    try:
        import aud  # noqa: F401  (built into Blender: sys.modules has it without a spec)
    except ImportError:
        return False
    return True


def online_access() -> bool:
    # 4.2 introduced the switch; a Blender without it predates the extension platform.
    return bool(getattr(bpy.app, "online_access", True))
