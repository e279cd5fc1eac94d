"""Ctrl Shift M in the Sequencer runs Generate; the item is removed again on unregister."""
from __future__ import annotations

import bpy

_items: list = []


def register():
    keyconfig = bpy.context.window_manager.keyconfigs.addon
    if keyconfig is None:        # blender --background has no add-on keyconfig
        return
    keymap = keyconfig.keymaps.new(name="Sequencer", space_type="SEQUENCE_EDITOR")
    item = keymap.keymap_items.new("scorefit.generate", "M", "PRESS", ctrl=True, shift=True)
    _items.append((keymap, item))


def unregister():
    for keymap, item in _items:
        keymap.keymap_items.remove(item)
    _items.clear()
