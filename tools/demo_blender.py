"""The main demo: a real Blender timeline gets a fitted soundtrack from the built-in emulator.

    make demo        (or: .venv/bin/python tools/demo_blender.py)

Headless Blender (the bpy module): builds and installs the extension into a private Blender
user folder, makes a sample timeline from tools/sample_timeline.json (a colour strip over the
cut and its markers), presses Generate, saves the .blend and a mixdown WAV, and prints where.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-output"
SAMPLE = ROOT / "tools" / "sample_timeline.json"

shutil.rmtree(OUT, ignore_errors=True)
OUT.mkdir()
# A private Blender configuration and ScoreFit library, so the demo touches nothing of the user's.
os.environ["BLENDER_USER_RESOURCES"] = str(OUT / "blender-user")
os.environ["SCOREFIT_HOME"] = str(OUT / "library")
os.environ["SCOREFIT_CONFIG"] = str(OUT / "config.json")

import bpy  # noqa: E402  (after the environment above)

sys.path.insert(0, str(ROOT / "tools"))
import build_extension  # noqa: E402


def sample_scene(data: dict):
    """The sample cut: 23.976 fps from frame 1001, a colour strip on channel 1, three markers."""
    scene = bpy.context.scene
    scene.name = data["name"]
    scene.render.fps, scene.render.fps_base = 24, 1.001
    scene.frame_start = data["start_frame"]
    scene.frame_end = data["start_frame"] + data["duration_frames"] - 1
    scene.render.ffmpeg.audio_mixrate = data["sample_rate"]
    from scorefit.blender import compat
    compat.new_effect(compat.top_strips(scene), "Picture", "COLOR", 1, scene.frame_start, data["duration_frames"])
    for marker in data["markers"]:
        scene.timeline_markers.new(marker["name"], frame=scene.frame_start + marker["frame"])
    return scene


def main() -> int:
    build_extension.main(["--output-dir", str(OUT / "dist")])
    archive = next((OUT / "dist").glob("scorefit-*.zip"))
    # Allowed here only, in the demo's private configuration: the emulator is a local server.
    bpy.context.preferences.system.use_online_access = True
    bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(archive),
                                             enable_on_install=True)
    addon = bpy.context.preferences.addons["bl_ext.user_default.scorefit"]
    addon.preferences.service = "EMULATOR"
    from bl_ext.user_default.scorefit.blender import runner

    scene = sample_scene(json.loads(SAMPLE.read_text("utf-8")))
    blend = OUT / "sample_timeline.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    print(f"Timeline: {scene.name}, frames {scene.frame_start}-{scene.frame_end} at 23.976 fps, "
          f"{len(scene.timeline_markers)} markers")

    began = time.monotonic()
    if bpy.ops.scorefit.generate() != {"FINISHED"}:
        print(f"ScoreFit: {runner.state.message.text}")
        return 1
    last = [""]

    def show():
        snap = runner.snapshot()
        if snap and snap.stage != last[0]:
            last[0] = snap.stage
            print(f"  {snap.elapsed:5.1f} s  {snap.stage}")
    message = runner.wait(timeout=600, on_tick=show)
    print(f"ScoreFit ({time.monotonic() - began:.1f} s): {message.text}")
    if message.kind == "error":
        return 1

    bpy.ops.wm.save_mainfile()
    mixdown = OUT / "mixdown.wav"
    bpy.ops.sound.mixdown(filepath=str(mixdown), container="WAV", codec="PCM", format="S16",
                          mixrate=scene.render.ffmpeg.audio_mixrate)
    from scorefit.blender import compat
    for strip in compat.top_strips(scene):
        first, after = compat.span(strip)
        print(f"  channel {strip.channel}: {strip.name!r} from frame {first}, "
              f"{after - first} frames{' (muted)' if strip.mute else ''}")
    stats = runner.state.stats
    print(f"Main thread: Generate took {stats.start * 1000:.0f} ms, the longest of {stats.ticks} "
          f"progress ticks {stats.longest_tick * 1000:.2f} ms, placing the strips "
          f"{stats.placement * 1000:.0f} ms")
    print(f"Saved the timeline: {blend}")
    print(f"Saved the mixdown:  {mixdown}")
    print(f"Soundtrack and provenance: {Path(scene.scorefit.last_file).parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
