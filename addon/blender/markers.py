"""Bars on the timeline: the fitted soundtrack's bar lines and phrase starts as timeline
markers, so cuts can snap to the music. Only markers with ScoreFit's prefixes are ever
added or removed; the editor's own markers are left as they are."""
from __future__ import annotations

import json
from pathlib import Path

import bpy

from ..core import BAR, bars, FrameRate, InputError, PHRASE, Provenance
from . import compat
from .place import PROP


def _report_of(sidecar: Path) -> dict:
    return Provenance.load(sidecar).report()


def source(scene) -> tuple[int, dict]:
    """(the frame the music starts at, its fit report): the active ScoreFit strip's, else the
    last soundtrack's. Raises InputError with what to do."""
    strip = compat.active_strip(scene)
    if strip is not None and strip.get(PROP + "sidecar"):
        sidecar, start = Path(bpy.path.abspath(strip[PROP + "sidecar"])), compat.span(strip)[0]
    elif scene.scorefit.last_sidecar:
        sidecar, start = Path(bpy.path.abspath(scene.scorefit.last_sidecar)), scene.frame_start
    else:
        raise InputError("Select a ScoreFit strip (or generate a soundtrack) first")
    try:
        report = _report_of(sidecar)
    except (OSError, ValueError):
        raise InputError(f"The soundtrack's report is missing or damaged: {sidecar}") from None
    if not report.get("bars"):
        raise InputError("This soundtrack has no beat grid (no clear beat was found), so there are "
                         "no bar lines to mark")
    return start, report


def _added(scene) -> set:
    try:
        return {(int(frame), str(name)) for frame, name in json.loads(scene.scorefit.bar_markers or "[]")}
    except (ValueError, TypeError):
        return set()


def remove(scene) -> int:
    """Remove the markers ScoreFit added, as it recorded them (frame and name): the editor's
    own markers stay, whatever they are called, and so does one of ours the editor moved
    or renamed (it is theirs now)."""
    added = _added(scene)
    ours = [m for m in scene.timeline_markers if (m.frame, m.name) in added]
    for marker in ours:
        scene.timeline_markers.remove(marker)
    scene.scorefit.bar_markers = ""
    return len(ours)


def add(scene, phrases_only: bool = False) -> int:
    """Replace ScoreFit's markers with the soundtrack's bars (or phrase starts only)."""
    start, report = source(scene)
    fps = FrameRate.from_blender(scene.render.fps, scene.render.fps_base).fraction
    remove(scene)
    found = bars.marks(report, fps, scene.frame_end + 1 - start, phrases_only)
    for mark in found:
        scene.timeline_markers.new(mark.name, frame=start + mark.frame)
    scene.scorefit.bar_markers = json.dumps([[start + mark.frame, mark.name] for mark in found])
    return len(found)
