"""ScoreFit: a soundtrack that fits the cut, generated with MusicAPI.

This file is the Blender extension's entry point. It imports Blender only inside
register(), so the same package is usable without Blender: ``core`` (host-free),
``emulator``, ``resolve`` and the command line (``python -m scorefit``).
"""


def register():
    from .blender import register as _register
    _register()


def unregister():
    from .blender import unregister as _unregister
    _unregister()
