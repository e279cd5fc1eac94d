"""Fit Strip to Cut: fit a sound strip the editor already has to the scene's range.

The fit runs in a worker thread (NumPy releases the interpreter lock), a persistent timer
places the result, and nothing is paid: it is the editor's own music. The original strip
stays where it is, muted; the fitted copy goes on a free channel at the scene's start,
exactly the scene's length, as one undo step.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core import PlacementError, AudioError, fit_file, FitError, FitReport, Library, report_path
from . import compat, runner
from .decode import decode_mp3
from .place import PROP, add_strip, choose_channels
from .read import timeline_from_scene

TICK = 0.1


@dataclass
class _Fit:
    scene_uid: int
    strip_name: str
    source: Path
    output: Path
    frames: int
    thread: threading.Thread | None = None
    report: FitReport | None = None
    error: str = ""


current: _Fit | None = None


def busy() -> bool:
    return current is not None


def fittable(strip) -> str:
    """Why ``strip`` cannot be fitted, or "" when it can."""
    if strip is None or strip.type != "SOUND" or strip.sound is None:
        return "Select a sound strip to fit"
    if strip.sound.packed_file:
        return "The sound is packed into the .blend: unpack it first (File > External Data > Unpack Resources)"
    return ""


def _output(source: Path, frames: int, rate: int) -> Path:
    """Beside the .blend when it is saved, else in the user's library; named from what it is
    made of, so fits of different strips or lengths never overwrite each other."""
    beside = runner.destination()
    folder = beside.folder if beside is not None else Library().root / "fitted"
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{frames}|{rate}"
                         .encode("utf-8")).hexdigest()[:10]
    return folder / f"{source.stem}-fit-{frames}f-{key}.wav"


def start(scene, strip) -> str | None:
    """Start fitting ``strip`` to ``scene``'s range. Returns an error text, or None when started."""
    global current
    if busy():
        return "A fit is already running; wait for it to finish."
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
    except ValueError as error:
        return f"This scene can't be fitted to: {error}."
    output = _output(source, timeline.duration_frames, timeline.sample_rate)
    job = _Fit(scene.session_uid, strip.name, source, output, timeline.duration_frames)
    decoder = None if source.suffix.lower() == ".wav" else decode_mp3

    def work():
        try:
            job.report = fit_file(source, output, timeline.duration_samples, timeline.sample_rate, decoder)
        except (AudioError, FitError) as error:
            job.error = f"{source.name} could not be fitted: {error}."
        except OSError as error:
            job.error = f"Could not write {output}: {error.strerror or error}."
        except Exception as error:           # a worker must always report back
            job.error = f"Unexpected error ({error.__class__.__name__}) while fitting {source.name}."

    job.thread = threading.Thread(target=work, name="ScoreFit fit", daemon=True)
    current = job
    job.thread.start()
    bpy.app.timers.register(tick, first_interval=TICK, persistent=True)
    return None


def tick() -> float | None:
    global current
    job = current
    if job is None:
        return None
    if job.thread.is_alive():
        return TICK
    current = None
    _finish(job)
    return None


def wait(timeout: float = 120, on_tick=None) -> runner.Message:
    """For scripts and ``--background``, where Blender runs no timers."""
    return runner.drive(tick, timeout, on_tick)


def _finish(job: _Fit):
    if job.error:
        runner.tell("error", job.error)
        return
    scene = next((s for s in bpy.data.scenes if s.session_uid == job.scene_uid), None)
    original = None
    if scene is not None and scene.sequence_editor:
        original = compat.top_strips(scene).get(job.strip_name)
    if scene is None:
        runner.tell("info", f"The scene is gone, so nothing was placed. The fitted file is {job.output}.")
        return
    try:
        channel, _ = choose_channels(scene, alternate=False)
        strip = add_strip(scene, f"{job.strip_name} (fit)", job.output, channel, job.frames)
    except (PlacementError, RuntimeError) as error:
        runner.tell("error", f"{error} The fitted file is kept at {job.output}.")
        return
    strip[PROP + "role"] = "fitted"
    strip[PROP + "source"] = str(job.source)
    strip[PROP + "file"] = str(job.output)
    strip[PROP + "sidecar"] = str(report_path(job.output))
    strip[PROP + "quality"] = job.report.quality
    if original is not None:
        original.mute = True
    runner.undo_push("Fit Strip to Cut")
    kept = f"; '{job.strip_name}' is kept, muted" if original is not None else ""
    runner.tell("info", f"Fitted '{job.strip_name}' to {job.frames} frames on channel {channel}{kept}. "
                        f"Fit: {job.report.quality}.")


def shutdown():
    global current
    if current is not None and current.thread is not None:
        current.thread.join(10)
    current = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
