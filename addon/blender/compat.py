"""The one place that knows Blender 5.0 renamed ``sequences`` to ``strips``.

4.2 LTS to 4.5: ``SequenceEditor.sequences`` and ``bpy.types.SoundSequence``;
5.0 and later: ``SequenceEditor.strips`` and ``bpy.types.SoundStrip``.
"""
from __future__ import annotations

import bpy


def top_strips(scene):
    """The strips at the top level of the scene's sequencer (created if missing)."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    # hasattr, not truthiness: an empty collection is falsy.
    return editor.strips if hasattr(editor, "strips") else editor.sequences


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
