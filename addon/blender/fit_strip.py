"""Fit Strip to Cut: fit a sound strip the editor already has to the scene's range.

The fit runs in a worker thread (NumPy releases the interpreter lock), a persistent timer
places the result, and nothing is paid: it is the editor's own music. The original strip
stays where it is, muted; the fitted copy goes on a free channel at the scene's start,
exactly the scene's length, as one undo step.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core import BackgroundTask, fit_file, host, Library, PlacementError, report_path, ScoreFitError
from . import compat, runner
from .decode import decode_mp3
from .place import PROP, add_strip, choose_channels
from .read import timeline_from_scene

@dataclass(frozen=True)
class _Fit:
    strip_name: str
    source: Path
    output: Path
    timeline: object          # the scene's range it is fitted to
    window: tuple             # (start, length) in seconds of the file: what the strip plays
    mix: dict                 # the strip's volume, pan and mute, given to the fitted strip


def heard(strip, fps) -> tuple[float, float]:
    """(start, length) in seconds of the sound file that ``strip`` plays: its trim (the
    left handle past where the sound starts) plus Blender's own sound offset."""
    first, after = compat.span(strip)
    offset = float(getattr(strip, "sound_offset", 0.0) or 0.0)
    return float((first - compat.content_start(strip)) / fps) + offset, float((after - first) / fps)


def busy() -> bool:
    return runner.busy()


tick = runner.tick          # one timer drives every task


def fittable(strip) -> str:
    """Why ``strip`` cannot be fitted, or "" when it can."""
    if strip is None or strip.type != "SOUND" or strip.sound is None:
        return "Select a sound strip to fit"
    if strip.sound.packed_file:
        return "The sound is packed into the .blend: unpack it first (File > External Data > Unpack Resources)"
    return ""


def _output(source: Path, frames: int, rate: int, how: tuple) -> Path:
    """Beside the .blend when it is saved, else in the user's library; named from what it is
    made of, so fits of different strips or lengths never overwrite each other."""
    beside = runner.destination()
    folder = beside.folder if beside is not None else Library().root / "fitted"
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{frames}|{rate}|{how}"
                         .encode("utf-8")).hexdigest()[:10]
    return folder / f"{source.stem}-fit-{frames}f-{key}.wav"


def start(scene, strip) -> str | None:
    """Start fitting ``strip`` to ``scene``'s range. Returns an error text, or None when started."""
    if busy():
        return "A ScoreFit task is already running; wait for it to finish."
    if not compat.has_audio():
        return runner.NO_AUDIO
    problem = fittable(strip)
    if problem:
        return problem + "."
    source = Path(bpy.path.abspath(strip.sound.filepath))
    if not source.is_file():
        return f"The strip's sound file is missing: {source}."
    try:
        timeline = timeline_from_scene(scene)
    except ScoreFitError as error:
        return f"This scene can't be fitted to: {error}."
    window = heard(strip, timeline.fps.fraction)
    job = _Fit(strip.name, source, _output(source, timeline.duration_frames, timeline.sample_rate,
                                           (window, scene.scorefit.loudness)),
               timeline, window, {"volume": strip.volume, "pan": getattr(strip, "pan", 0.0), "mute": strip.mute})
    decoder = None if source.suffix.lower() == ".wav" else decode_mp3
    level = scene.scorefit.choices().loudness

    def work(token):        # NumPy releases the interpreter lock: the UI stays live
        return fit_file(source, job.output, timeline.duration_samples, timeline.sample_rate, decoder, window,
                        loudness=level)
    runner.run(BackgroundTask(work, stage="Fitting"), scene, lambda snap: _finish(job, snap))
    return None


def wait(timeout: float = 120, on_tick=None) -> runner.Message:
    """For scripts and ``--background``, where Blender runs no timers."""
    return runner.wait(timeout, on_tick)


def _finish(job: _Fit, snap):
    if snap.state == "cancelled":
        runner.tell("info", f"Fit Strip to Cut was cancelled; nothing was placed ({job.source.name} is untouched).")
        return
    if snap.state != "done":
        runner.tell("error", f"{job.source.name} could not be fitted: {snap.error.rstrip('.')}.")
        return
    report = snap.result
    scene = runner.scene_of_task()
    if scene is None:
        runner.tell("info", f"The scene is gone, so nothing was placed. The fitted file is {job.output}.")
        return
    changed = host.range_changed(job.timeline, timeline_from_scene(scene))
    if changed:
        runner.tell("error", f"{changed} The fitted file is kept at {job.output}; Fit Strip to Cut "
                             "again fits it to the new range.")
        return
    original = compat.top_strips(scene).get(job.strip_name) if scene.sequence_editor else None
    try:
        channel, _ = choose_channels(scene, alternate=False)
        strip = add_strip(scene, f"{job.strip_name} (fit)", job.output, channel, job.timeline.duration_frames)
    except (PlacementError, RuntimeError) as error:
        runner.tell("error", f"{error} The fitted file is kept at {job.output}.")
        return
    strip[PROP + "role"] = "fitted"
    strip[PROP + "source"] = str(job.source)
    strip[PROP + "file"] = str(job.output)
    strip[PROP + "sidecar"] = str(report_path(job.output))
    strip[PROP + "quality"] = report.quality
    # What the editor set on the strip carries over (its volume and fade keyframes do not:
    # the fitted music has its own ending and entry).
    strip.volume, strip.mute = job.mix["volume"], job.mix["mute"]
    if hasattr(strip, "pan"):
        strip.pan = job.mix["pan"]
    if original is not None:
        original.mute = True
    runner.undo_push("Fit Strip to Cut")
    kept = f"; '{job.strip_name}' is kept, muted" if original is not None else ""
    runner.tell("info", f"Fitted '{job.strip_name}' to {job.timeline.duration_frames} frames on channel "
                        f"{channel}{kept}. Fit: {report.quality}.")


def shutdown():
    runner.shutdown()
