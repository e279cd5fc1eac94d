"""Blender scene → ScoreFit timeline model. Read once, on the main thread, when a job starts."""
from __future__ import annotations

from ..core import FrameRate, Marker, Timeline


def timeline_from_scene(scene) -> Timeline:
    render = scene.render
    start, end = scene.frame_start, scene.frame_end    # both inclusive in Blender
    markers = tuple(Marker(frame=m.frame - start, name=m.name) for m in scene.timeline_markers)
    return Timeline(fps=FrameRate.from_blender(render.fps, render.fps_base),
                    duration_frames=end - start + 1, start_frame=start, name=scene.name,
                    markers=markers, sample_rate=int(render.ffmpeg.audio_mixrate))
