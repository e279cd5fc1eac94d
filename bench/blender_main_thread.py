"""How long Blender's main thread is busy while a ScoreFit job runs (real bpy, built-in emulator).

Prints ratios to one frame of a 60 Hz UI (16.7 ms): the Generate click (read the scene,
plan, start the worker), the longest progress tick, and placing the strips at the end,
for 1-, 5- and 10-minute timelines. Above 1.0 a user could see a hitch.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="scorefit-bench-"))
os.environ.update(BLENDER_USER_RESOURCES=str(TMP / "blender"), SCOREFIT_HOME=str(TMP / "library"),
                  SCOREFIT_CONFIG=str(TMP / "config.json"))

import bpy  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import build_extension  # noqa: E402

FRAME = 1 / 60


def main() -> int:
    build_extension.main(["--output-dir", str(TMP / "dist"), "--no-validate"])
    bpy.context.preferences.system.use_online_access = True
    bpy.ops.extensions.package_install_files(repo="user_default", filepath=str(TMP / "dist" / "scorefit-0.1.0.zip"),
                                             enable_on_install=True)
    bpy.context.preferences.addons["bl_ext.user_default.scorefit"].preferences.service = "EMULATOR"
    from bl_ext.user_default.scorefit.blender import runner
    print("Main thread per job, as a share of one 60 Hz frame (16.7 ms); 24 fps, 48 kHz, built-in emulator")
    for minutes in (1, 5, 10):
        scene = bpy.data.scenes.new(f"{minutes} min")
        scene.render.fps, scene.render.fps_base = 24, 1.0
        scene.frame_start, scene.frame_end = 1, minutes * 60 * 24
        scene.sequence_editor_create()
        bpy.context.window.scene = scene
        assert bpy.ops.scorefit.generate() == {"FINISHED"}, runner.state.message.text
        message = runner.wait(timeout=900)
        assert message.kind == "info", message.text
        s = runner.state.stats
        print(f"  {minutes:>2} min: Generate {s.start / FRAME:.2f}   longest of {s.ticks} progress ticks "
              f"{s.longest_tick / FRAME:.3f}   placing the strips {s.placement / FRAME:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
