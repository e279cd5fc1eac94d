"""Duck Under Dialogue: the ScoreFit strip's volume keyframed down wherever the scene's
dialogue speaks, as the editor can then move or delete them (one undo step).

Dialogue is the sound strips of channels named for it ("dialogue", "dialog", "VO",
"voice"), or, where none is, every other sound strip that is not ScoreFit's and not
muted. Their audio is read and analysed in the worker; only the keyframes are written on
the main thread.
"""
from __future__ import annotations

import re
from pathlib import Path

import bpy

from ..core import Audio, BackgroundTask, FrameRate, load, speech_keyframes
from . import compat, runner
from .decode import decode_mp3
from .fit_strip import heard
from .place import PROP

DIALOGUE_CHANNEL = re.compile(r"\b(dialog(ue)?|vo|voice|voices)\b", re.I)


def dialogue(scene, music) -> list:
    """The sound strips that count as dialogue under ``music``."""
    editor = scene.sequence_editor
    names = {number: channel.name for number, channel in enumerate(getattr(editor, "channels", ()))}
    sounds = [s for s in compat.top_strips(scene) if s.type == "SOUND" and s != music and not s.mute
              and not s.get(PROP + "role") and s.sound is not None]
    named = [s for s in sounds if DIALOGUE_CHANNEL.search(names.get(s.channel, ""))]
    return named or sounds


def start(scene, music) -> str | None:
    """Start finding the dialogue under the ScoreFit strip ``music``; an error text, or None."""
    if runner.busy():
        return "A ScoreFit task is already running; wait for it to finish."
    if music is None or not music.get(PROP + "role"):
        return "Select a ScoreFit strip to duck."
    voices = dialogue(scene, music)
    if not voices:
        return "There is no dialogue to duck under: no other sound strip plays in this scene."
    fps = FrameRate.from_blender(scene.render.fps, scene.render.fps_base).fraction
    first, after = compat.span(music)
    clips = [(Path(bpy.path.abspath(v.sound.filepath)), float((compat.span(v)[0] - first) / fps), heard(v, fps))
             for v in voices]
    seconds = float((after - first) / fps)

    def work(token):
        laid_out = []
        for path, at, (start_s, length) in clips:
            token.check()
            audio = load(path, None if path.suffix.lower() == ".wav" else decode_mp3)
            window = audio.samples[int(start_s * audio.rate):int((start_s + length) * audio.rate)]
            laid_out.append((Audio(window, audio.rate), at))
        return speech_keyframes(laid_out, seconds)
    name = music.name
    runner.run(BackgroundTask(work, stage="Finding dialogue"), scene,
               lambda snap: _finish(name, first, fps, snap))
    return None


def _finish(name: str, first: int, fps, snap):
    if snap.state != "done":
        runner.tell("info" if snap.state == "cancelled" else "error", snap.error)
        return
    scene = runner.scene_of_task()
    music = compat.top_strips(scene).get(name) if scene is not None else None
    if music is None:
        runner.tell("info", f"The strip '{name}' is gone, so nothing was ducked.")
        return
    spans, points = snap.result
    if not points:
        runner.tell("info", "No speech was found in the dialogue strips; the music was left as it was.")
        return
    base = music.volume
    for frame, db in on_frames(points, first, fps):
        music.volume = base * 10 ** (db / 20)
        music.keyframe_insert("volume", frame=frame)
    music.volume = base
    runner.undo_push("Duck Under Dialogue")
    runner.tell("info", f"Ducked '{name}' {points[1][1]:g} dB under {len(spans)} stretch"
                        f"{'es' if len(spans) != 1 else ''} of dialogue: {len(points)} volume keyframes, "
                        "yours to move.")


def on_frames(points: list, first: int, fps) -> list[tuple[int, float]]:
    """The keyframes on whole frames, each on a frame of its own: a look-ahead shorter than a
    frame moves the ramp's start a frame earlier rather than losing it."""
    out: list[list] = []
    for seconds, db in points:
        frame = first + round(seconds * fps)
        if out and frame <= out[-1][0]:
            if out[-1][1] == 0.0 and db != 0.0 and (len(out) < 2 or out[-2][0] < frame - 1):
                out[-1][0] = frame - 1          # the ramp down starts a frame before the speech
            else:
                frame = out[-1][0] + 1
        out.append([frame, db])
    return [(int(f), db) for f, db in out]
