"""ScoreFit: a soundtrack that fits the cut, generated with MusicAPI.

This file is the Blender extension's entry point. It imports Blender only inside
register(), so the same package is usable without Blender: ``core`` (host-free),
``emulator``, ``resolve`` and the command line (``python -m scorefit``).
"""

# The one place the version is written: pyproject.toml reads it, and the extension's
# build refuses a blender_manifest.toml that says otherwise.
__version__ = "0.1.0"


def register():
    from .blender import register as _register
    _register()


def unregister():
    from .blender import unregister as _unregister
    _unregister()
