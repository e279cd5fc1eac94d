"""Refit after a recut, in real Blender against the emulator's ledger: free when the song is
long enough, one extend and a join when it is not; the strip replaced on its channel."""
from __future__ import annotations

import bpy
import pytest

from blender_helpers import HAS_AUDIO, drive, generate, span, strips

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not HAS_AUDIO, reason="no sound strips without Audaspace (PyPI bpy 4.2)")]


def charges(emulator) -> list[str]:
    return [c["what"] for c in emulator.state.charges]


def soundtrack(scene):
    (strip,) = [s for s in strips(scene) if s.get("scorefit_role") == "primary"]
    return strip


@pytest.fixture
def placed(runner, scene, online, emulator):
    """A 2-minute scene with its soundtrack placed (no alternate), paid once."""
    scene.scorefit.alternate = False
    generate()
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    strip = soundtrack(scene)
    strip.volume = 0.5                         # the editor's own mix survives a Refit
    assert charges(emulator) == ["create_music", "wav"]
    return strip


def test_a_shorter_cut_is_refitted_for_free_on_the_same_channel(runner, scene, emulator, placed):
    from scorefit.blender import place
    channel = placed.channel
    scene.frame_end = 2000                     # the editor recut: 2000 frames now
    assert "the scene now runs from 1 to 2000" in place.out_of_step(scene)
    requests_before = len(emulator.state.log)
    assert bpy.ops.scorefit.refit("EXEC_DEFAULT") == {"FINISHED"}
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    assert "Refitted" in runner.state.message.text
    strip = soundtrack(scene)
    assert span(strip) == (channel, 1, 2000) and strip.volume == 0.5
    assert place.out_of_step(scene) == ""
    # Free: not one request reached the service.
    assert charges(emulator) == ["create_music", "wav"]
    assert len(emulator.state.log) == requests_before
    import wave
    with wave.open(strip["scorefit_file"]) as w:
        assert w.getnframes() == round(2000 / 24 * 48000)


def test_a_longer_cut_than_the_song_costs_one_extend_and_a_join_never_a_new_song(
        runner, scene, emulator, placed):
    channel = placed.channel
    scene.frame_end = 24 * 420                 # 7 minutes: longer than any one clip of sonic-v5
    plan = runner.plan_preview(scene, refit=True)
    assert [s.kind for s in plan.steps] == ["extend", "concat", "wav"] or \
        [s.kind for s in plan.steps][-2:] == ["concat", "wav"]
    assert bpy.ops.scorefit.refit("EXEC_DEFAULT") == {"FINISHED"}
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    assert span(soundtrack(scene)) == (channel, 1, 24 * 420)
    paid = charges(emulator)
    assert paid.count("create_music") == 1                      # the first song only
    assert paid[2:] == ["extend_music"] * (len(paid) - 4) + ["concat_music", "wav"]
    # And a second Refit to the same range is served from the library.
    scene.frame_end = 24 * 420 - 1
    scene.frame_end = 24 * 420
    before = len(emulator.state.charges)
    runner.start(bpy.context, refit=True)
    drive(runner)
    assert len(emulator.state.charges) == before


def test_a_range_changed_during_the_job_is_not_stretched_onto(runner, scene, online, emulator):
    scene.scorefit.alternate = False
    generate()
    scene.frame_end = 2400                     # recut while ScoreFit works
    drive(runner)
    assert runner.state.message.kind == "error"
    assert "changed while ScoreFit worked" in runner.state.message.text
    assert "Refit" in runner.state.message.text
    assert not [s for s in strips(scene) if s.get("scorefit_role")]
    # Place Again refuses the range it was not fitted to, and says what works instead …
    with pytest.raises(RuntimeError, match="fitted to frames 1 to 2880; the scene now runs 1 to 2400"):
        bpy.ops.scorefit.place_again()
    # … which Refit does: offered although nothing is placed, free (the song is long enough).
    assert bpy.ops.scorefit.refit.poll()
    before = len(emulator.state.charges)
    assert bpy.ops.scorefit.refit("EXEC_DEFAULT") == {"FINISHED"}
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    placed = [s for s in strips(scene) if s.get("scorefit_role") == "primary"]
    assert len(placed) == 1 and span(placed[0])[1:] == (1, 2400)
    assert len(emulator.state.charges) == before


def test_a_refit_removes_the_muted_alternate_of_the_old_range_and_says_so(runner, scene, online, emulator):
    scene.scorefit.alternate = True
    generate()
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    assert [s.get("scorefit_role") for s in strips(scene) if s.get("scorefit_role")].count("alternate") == 1
    scene.frame_end = 2000
    assert bpy.ops.scorefit.refit("EXEC_DEFAULT") == {"FINISHED"}
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    assert "alternate take, fitted to the old range, was removed" in runner.state.message.text
    roles = [s.get("scorefit_role") for s in strips(scene) if s.get("scorefit_role")]
    assert roles == ["primary"] and span(soundtrack(scene))[1:] == (1, 2000)
