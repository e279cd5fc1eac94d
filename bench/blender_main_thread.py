"""How long Blender's main thread is busy while a ScoreFit job runs (real bpy, built-in emulator).

Prints ratios to one frame of a 60 Hz UI (16.7 ms): the Generate click (read the scene,
plan, start the worker), the longest progress tick, and placing the strips at the end,
for 1-, 5- and 10-minute timelines. Above 1.0 a user could see a hitch.

It also keeps a main-thread heartbeat, as Blender's event loop would: every 20 ms the main
thread wakes and runs the add-on's timer. The longest gap between two beats, less those
20 ms, is the longest time the main thread could not run, whatever held it: ScoreFit's
own timer, or the worker holding the interpreter lock while it downloads, analyses and
fits (NumPy's kernels release it; pure-Python loops over samples do not).
The built-in emulator runs in a process of its own (``emulator.process``), as the real
service runs elsewhere: its synthesis is no part of Blender's load.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="scorefit-bench-"))
os.environ.update(BLENDER_USER_RESOURCES=str(TMP / "blender"), SCOREFIT_HOME=str(TMP / "library"),
                  SCOREFIT_CONFIG=str(TMP / "config.json"))

import bpy  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import build_extension  # noqa: E402

FRAME = 1 / 60
BEAT = 0.02      # the wait loops sleep this long between timer calls


class Heartbeat:
    """The longest stall of the main thread between two beats (beyond the 20 ms sleep)."""

    def __init__(self):
        self.last = None
        self.longest = 0.0

    def __call__(self):
        now = time.perf_counter()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last - BEAT)
        self.last = now


def main() -> int:
    build_extension.main(["--output-dir", str(TMP / "dist"), "--no-validate"])
    bpy.context.preferences.system.use_online_access = True
    bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(TMP / "dist" / "scorefit-0.1.0.zip"),
                                             enable_on_install=True)
    prefs = bpy.context.preferences.addons["bl_ext.user_default.scorefit"].preferences
    prefs.service = "EMULATOR"
    print("Main thread per job, as a share of one 60 Hz frame (16.7 ms); 24 fps, 48 kHz, built-in emulator")
    print(f"  control: the same heartbeat with nothing running, {CONTROL_SECONDS} s: longest stall "
          f"{control() * 1000:.1f} ms (this machine's own scheduler noise)")
    jobs((1, 5, 10))
    jobs((10,), output="mp3")
    fit_strip_stall("wav")
    fit_strip_stall("mp3")
    draw_with_markers(2000)
    print(f"  control again: longest stall {control() * 1000:.1f} ms")
    return 0


CONTROL_SECONDS = 10


def control() -> float:
    """The longest stall of a heartbeat that runs nothing: what the machine alone costs."""
    beat = Heartbeat()
    end = time.perf_counter() + CONTROL_SECONDS
    while time.perf_counter() < end:
        time.sleep(BEAT)
        beat()
    return beat.longest


class _Layout:
    """Records nothing, draws nothing: a stand-in UILayout to time the panel's own work."""

    def __init__(self, *args):
        self.enabled = True

    def _child(self, *args, **kw):
        return _Layout()
    box = column = row = _child

    def __getattr__(self, name):
        return lambda *args, **kw: type("Properties", (), {})()


def draw_with_markers(count: int):
    """The sidebar's draw with ``count`` markers: the first draw after a change plans; the
    ones after it find the plan cached."""
    scene = bpy.data.scenes.new(f"{count} markers")
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.frame_start, scene.frame_end = 1, 10 * 60 * 24
    scene.sequence_editor_create()
    for i in range(count):
        scene.timeline_markers.new(("calm", "tense build", "epic chase", "cut here")[i % 4], frame=1 + i * 7)
    bpy.context.window.scene = scene
    panel = type("Panel", (), {"layout": _Layout()})()
    context = type("Ctx", (), {"scene": scene, "preferences": bpy.context.preferences})()
    times = []
    for _ in range(6):
        began = time.perf_counter()
        bpy.types.SCOREFIT_PT_panel.draw(panel, context)
        times.append(time.perf_counter() - began)
    print(f"  the sidebar's draw with {count} markers: first (plans) {times[0] * 1000:.1f} ms, then "
          f"{max(times[1:]) * 1000:.1f} ms at most (the plan is cached; target < 30 ms)")


def jobs(lengths, output: str = "wav"):
    from bl_ext.user_default.scorefit.blender import place, runner
    for minutes in lengths:
        place.blender_seconds = 0.0
        scene = bpy.data.scenes.new(f"{minutes} min {time.monotonic()}")
        scene.render.fps, scene.render.fps_base = 24, 1.0
        scene.frame_start, scene.frame_end = 1, minutes * 60 * 24
        scene.sequence_editor_create()
        scene.scorefit.output = output
        bpy.context.window.scene = scene
        assert bpy.ops.scorefit.generate() == {"FINISHED"}, runner.state.message.text
        beat = Heartbeat()
        message = runner.wait(timeout=900, on_tick=beat)
        assert message.kind == "info", message.text
        s = runner.state.stats
        ours = s.placement - place.blender_seconds
        print(f"  {minutes:>2} min {output.upper()}: Generate {s.start / FRAME:.2f}   longest of {s.ticks} progress ticks "
              f"{s.longest_tick / FRAME:.3f}   placing the strips {s.placement / FRAME:.2f} "
              f"(Blender's new_sound {place.blender_seconds * 1000:.0f} ms, ScoreFit's own {ours * 1000:.1f} ms)   "
              f"longest main-thread stall while the worker ran {beat.longest * 1000:.1f} ms "
              f"(less the placement: {max(0.0, beat.longest - s.placement) * 1000:.1f} ms)")


def fit_strip_stall(kind: str = "wav"):
    """Fit Strip to Cut on a 10-minute 48 kHz song (WAV, or MP3 that Blender's FFmpeg
    decodes): the decode and the fit run in the worker."""
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    from music import song
    from wavfile import write
    from bl_ext.user_default.scorefit.blender import fit_strip
    audio, _ = song(600, bpm=120, ending="ring", rate=48000)
    path = TMP / f"ten minutes.{kind}"
    if kind == "mp3":
        import lameenc
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(192)
        encoder.set_in_sample_rate(48000)
        encoder.set_channels(2)
        pcm = (np.clip(audio.samples, -1, 1) * 32767).astype("<i2").tobytes()
        path.write_bytes(encoder.encode(pcm) + encoder.flush())
    else:
        write(path, audio.samples, 48000)
    scene = bpy.data.scenes.new("Fit Strip")
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.frame_start, scene.frame_end = 1, 9 * 60 * 24
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    editor.active_strip = strips.new_sound("ten minutes", str(path), 1, 1)
    bpy.context.window.scene = scene
    beat = Heartbeat()
    started = time.perf_counter()
    assert bpy.ops.scorefit.fit_strip() == {"FINISHED"}
    message = fit_strip.wait(timeout=300, on_tick=beat)
    assert message.kind == "info", message.text
    print(f"  Fit Strip to Cut, 10-minute 48 kHz {kind.upper()} song to 9 minutes: {time.perf_counter() - started:.2f} s in all; "
          f"longest main-thread stall {beat.longest * 1000:.1f} ms ({beat.longest / FRAME:.2f} frames; target < 30 ms)")


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        # A run leaves about 2 GB of audio here (three jobs and a 10-minute song).
        shutil.rmtree(TMP, ignore_errors=True)
