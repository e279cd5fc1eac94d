"""The Blender layer: a thin adapter from the Sequencer to the host-free core.

Data flows one way: scene → timeline model (read.py) → plan and job (core.session, run in a
worker by runner.py) → fitted audio → strips (place.py).
"""
from __future__ import annotations

import bpy

from . import keymap, ops, props, runner, ui

_classes = (*runner.classes, *ops.classes, *ui.classes)


def register():
    props.register()
    for cls in _classes:
        bpy.utils.register_class(cls)
    bpy.types.SEQUENCER_MT_add.append(ui.menu_entry)
    bpy.types.SEQUENCER_MT_strip.append(ui.strip_menu_entry)
    keymap.register()


def unregister():
    runner.shutdown()           # the one task, whether Generate or Fit Strip to Cut
    keymap.unregister()
    bpy.types.SEQUENCER_MT_strip.remove(ui.strip_menu_entry)
    bpy.types.SEQUENCER_MT_add.remove(ui.menu_entry)
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
    props.unregister()
