"""Generate in real Blender against the emulator: placement, lengths, channels, failures."""
from __future__ import annotations

import json
from pathlib import Path

import bpy
import pytest

from blender_helpers import HAS_AUDIO, add_color_strip, drive, generate, span, strips

needs_audio = pytest.mark.skipif(
    not HAS_AUDIO,
    reason="this bpy build has no Audaspace, so no sound strips (PyPI bpy 4.2); see test_no_audio_*")

pytestmark = pytest.mark.blender


def _markers(scene, *spots):
    for frame, name in spots:
        scene.timeline_markers.new(name, frame=frame)


@needs_audio
def test_two_minute_scene_gets_one_strip_at_frame_1_exactly_2880_frames(
        runner, prefs, scene, online, tmp_path):
    prefs.service = "EMULATOR"           # the built-in emulator, as a user trying ScoreFit would
    _markers(scene, (1, "calm intro"), (960, "tense build"), (2000, "triumphant finale"))
    assert generate() == {"FINISHED"}
    assert runner.busy() and bpy.app.timers.is_registered(runner.tick)
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    placed = strips(scene)
    assert len(placed) == 2
    main = next(s for s in placed if s["scorefit_role"] == "primary")
    alt = next(s for s in placed if s["scorefit_role"] == "alternate")
    assert span(main) == (1, 1, 2880)
    assert not main.mute
    assert span(alt) == (2, 1, 2880) and alt.mute
    assert type(main).__name__ in ("SoundStrip", "SoundSequence")
    # provenance on the strip, and the files it names
    assert main["scorefit_task_ids"] and main["scorefit_clip_id"]
    assert "tense" in main["scorefit_prompt"]
    sidecar = json.loads(Path(main["scorefit_sidecar"]).read_text())
    assert sidecar["clips"]["primary"] == main["scorefit_clip_id"]
    import wave
    with wave.open(main["scorefit_file"]) as w:
        assert w.getnframes() == 120 * 48000
    assert scene.scorefit.last_file == main["scorefit_file"]
    stats = runner.state.stats
    assert stats.ticks > 1 and stats.placement > 0


@needs_audio
def test_busy_channels_are_skipped(runner, prefs, scene, online):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    add_color_strip(scene, 1, 1, 2881)
    add_color_strip(scene, 2, 2000, 2100)        # busy for part of the range: still not free
    add_color_strip(scene, 3, 2881, 3000)        # right after the range: free
    before = [(s.name, span(s)) for s in strips(scene)]
    generate()
    drive(runner)
    placed = [s for s in strips(scene) if "scorefit_role" in s]
    assert [span(s) for s in placed] == [(3, 1, 2880)]
    after = [(s.name, span(s))
             for s in strips(scene) if "scorefit_role" not in s]
    assert after == before                       # nothing moved


@needs_audio
@pytest.mark.parametrize("fps,base,start,end,rate", [
    (24, 1.001, 1001, 2000, 48000),      # 23.976 from 1001
    (30, 1.001, 1, 1799, 44100),         # 29.97: a frame is not a whole number of samples
])
def test_fractional_rates_get_the_exact_length(runner, prefs, scene, online, fps, base, start, end, rate):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    scene.render.fps, scene.render.fps_base = fps, base
    scene.frame_start, scene.frame_end = start, end
    scene.render.ffmpeg.audio_mixrate = rate
    generate()
    drive(runner)
    (strip,) = strips(scene)
    assert span(strip) == (1, start, end - start + 1), runner.state.message.text


@needs_audio
def test_cancel_mid_job_places_nothing_and_leaves_no_partial_file(runner, prefs, scene, online, tmp_path):
    prefs.service = "EMULATOR"
    generate()
    ticks = []

    def cancel_once_generating():
        ticks.append(1)
        if len(ticks) == 3:
            assert bpy.ops.scorefit.cancel() == {"FINISHED"}
    drive(runner, on_tick=cancel_once_generating)
    assert strips(scene) == []
    assert runner.state.message.text.startswith("Cancelled")
    import os
    home = Path(os.environ["SCOREFIT_HOME"])
    assert not list(home.rglob("*.part")) and not list(home.rglob("fitted-*"))


@needs_audio
def test_a_failed_task_is_reported_in_the_panel_and_places_nothing(runner, scene, online, emulator):
    emulator.inject("task_failed", "POST /api/v1/sonic/create", message="Generation failed: server overloaded")
    generate()
    drive(runner)
    assert strips(scene) == []
    message = runner.state.message
    assert message.kind == "error"
    assert "failed" in message.text and "refunded" in message.text


@needs_audio
def test_refused_key_is_reported_before_any_strip(runner, scene, online, emulator, monkeypatch):
    monkeypatch.setenv("MUSICAPI_KEY", "not-a-key")
    result = generate()
    if result == {"FINISHED"}:
        drive(runner)
    assert strips(scene) == []
    assert "key" in runner.state.message.text.lower()
    assert "not-a-key" not in runner.state.message.text


def test_online_access_off_sends_nothing(runner, scene, emulator):
    bpy.context.preferences.system.use_online_access = False
    try:
        assert not bpy.ops.scorefit.generate.poll()           # greyed, saying why on hover
        with pytest.raises(RuntimeError, match="Online access is off"):
            generate()
        assert "Allow Online Access" in runner.start(bpy.context)     # a script that calls it anyway
        assert emulator.state.log == []
        assert not runner.busy() and strips(scene) == []
        assert "Allow Online Access" in runner.state.message.text
    finally:
        bpy.context.preferences.system.use_online_access = True


@needs_audio
def test_scene_removed_while_running_keeps_the_result(runner, prefs, scene, online):
    prefs.service = "EMULATOR"
    generate()
    name = scene.name
    window = bpy.context.window
    window.scene = next(s for s in bpy.data.scenes if s != scene)
    bpy.data.scenes.remove(scene)
    drive(runner)
    text = runner.state.message.text
    assert f"'{name}' is gone" in text
    kept = Path(text.split("kept at ")[1].rstrip("."))
    assert kept.is_file()


def test_timeline_is_read_exactly(extension, scene):
    scene.render.fps, scene.render.fps_base = 24, 1.001
    scene.frame_start, scene.frame_end = 1001, 2000
    scene.timeline_markers.new("tense", frame=1500)
    scene.timeline_markers.new("before the start", frame=10)
    timeline = extension.blender.read.timeline_from_scene(scene)
    assert (timeline.fps.num, timeline.fps.den) == (24000, 1001)
    assert (timeline.start_frame, timeline.duration_frames) == (1001, 1000)
    assert [(m.frame, m.name) for m in timeline.markers] == [(499, "tense")]
    assert timeline.duration_samples == 1000 * 2002


def test_channel_choice_on_a_busy_timeline(extension, scene):
    add_color_strip(scene, 1, 1, 100)
    add_color_strip(scene, 2, 2880, 2900)       # its first frame is the range's last
    add_color_strip(scene, 4, 1, 2881)
    choose = extension.blender.place.choose_channels
    assert choose(scene, alternate=True) == (3, 5)
    assert choose(scene, alternate=False) == (3, None)


@pytest.mark.skipif(HAS_AUDIO, reason="this Blender has audio support")
def test_no_audio_build_refuses_before_spending(runner, scene, online, emulator):
    with pytest.raises(RuntimeError, match="no audio support"):
        generate()
    assert emulator.state.log == [] and strips(scene) == []


@needs_audio
def test_a_lost_answer_is_never_resent_until_the_editor_starts_afresh(runner, scene, online, emulator):
    emulator.inject("reset", "POST /api/v1/sonic/create")       # sent, answer lost
    generate()
    drive(runner)
    message = runner.state.message
    assert message.kind == "error" and message.offer_afresh and "Start Afresh" in message.text
    creates = lambda: len(emulator.requests_to("POST", "/api/v1/sonic/create"))  # noqa: E731
    assert creates() == 1
    generate()                    # the plain button refuses to pay again
    drive(runner)
    assert creates() == 1 and runner.state.message.offer_afresh and strips(scene) == []
    assert bpy.ops.scorefit.generate(start_afresh=True) == {"FINISHED"}
    drive(runner)
    assert creates() == 2
    assert runner.state.message.kind == "info" and not runner.state.message.offer_afresh
    assert [span(s)[2] for s in strips(scene) if s["scorefit_role"] == "primary"] == [2880]


@needs_audio
def test_muted_and_locked_empty_channels_are_not_free(runner, prefs, scene, online):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    channels = scene.sequence_editor.channels
    channels[1].mute = True          # empty, but its sound would never be heard
    channels[2].lock = True          # empty, but the editor locked it
    generate()
    drive(runner)
    placed = [s for s in strips(scene) if "scorefit_role" in s]
    assert [span(s) for s in placed] == [(3, 1, 2880)], runner.state.message.text


@needs_audio
def test_a_long_non_ascii_title_with_a_newline_generates_and_names_the_strip_on_one_line(
        runner, prefs, scene, online):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    scene.scorefit.title = "夜明けの街を走る少女と猫の長い物語、第一章：はじまりの朝\n第二章" * 2
    assert generate() == {"FINISHED"}
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    (placed,) = [s for s in strips(scene) if "scorefit_role" in s]
    assert "\n" not in placed.name and placed.name.startswith("ScoreFit 夜明けの街")


@needs_audio
def test_generating_again_with_the_built_in_emulator_is_served_from_the_library(runner, prefs, scene, online):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    generate()
    drive(runner)
    assert "Served from the library" not in runner.state.message.text
    generate()
    drive(runner)
    assert "Served from the library: no credits spent." in runner.state.message.text, \
        runner.state.message.text


@needs_audio      # without audio, Generate refuses before it would connect
def test_generate_does_not_wait_on_the_network_on_the_main_thread(runner, prefs, scene, online, monkeypatch):
    """A local address that accepts but never answers must not freeze Blender on Generate."""
    import socket
    import time
    from scorefit.core import config
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        monkeypatch.setenv("MUSICAPI_KEY", "a-test-key")
        config.save_settings(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        prefs.service = "MUSICAPI"
        started = time.perf_counter()
        assert generate() == {"FINISHED"}
        assert time.perf_counter() - started < 0.5
        runner.cancel()
        drive(runner)
    finally:
        silent.close()


@needs_audio
def test_save_as_during_a_job_takes_the_soundtrack_to_the_new_place(runner, prefs, scene, online, tmp_path):
    prefs.service = "EMULATOR"
    first, second = tmp_path / "first" / "cut.blend", tmp_path / "second" / "cut.blend"
    first.parent.mkdir()
    second.parent.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(first))
    assert generate() == {"FINISHED"}
    bpy.ops.wm.save_as_mainfile(filepath=str(second))          # while the worker runs
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    placed = [s for s in strips(bpy.context.scene) if "scorefit_role" in s]
    assert placed
    for strip in placed:
        path = Path(bpy.path.abspath(strip.sound.filepath)).resolve()
        assert path.parent == (second.parent / "ScoreFit").resolve() and path.is_file(), path
        assert Path(strip["scorefit_sidecar"]).parent.resolve() == path.parent


@needs_audio
def test_two_scenes_of_the_same_length_keep_their_own_files_beside_the_blend(
        runner, prefs, scene, online, tmp_path):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "two.blend"))
    other = bpy.data.scenes.new("Second Scene")
    other.render.fps, other.render.fps_base = 24, 1.0
    other.frame_start, other.frame_end = 1, 2880
    other.render.ffmpeg.audio_mixrate = 48000
    other.sequence_editor_create()
    other.scorefit.alternate = False
    other.scorefit.prompt = "driving synthwave chase"     # different music, same length
    try:
        placed = []
        for target in (scene, other):
            bpy.context.window.scene = target
            generate()
            drive(runner)
            assert runner.state.message.kind == "info", runner.state.message.text
            (strip,) = [s for s in strips(target) if "scorefit_role" in s]
            placed.append((Path(bpy.path.abspath(strip.sound.filepath)), Path(strip["scorefit_sidecar"])))
        (first_wav, first_json), (second_wav, second_json) = placed
        assert first_wav != second_wav and first_json != second_json
        assert first_wav.is_file() and second_wav.is_file()
        assert json.loads(first_json.read_text())["request"]["prompt"] != \
            json.loads(second_json.read_text())["request"]["prompt"]
    finally:
        bpy.context.window.scene = scene
        bpy.data.scenes.remove(other)


@needs_audio
def test_the_scene_s_loudness_choice_reaches_the_soundtrack(runner, prefs, scene, online):
    prefs.service = "EMULATOR"
    scene.scorefit.alternate = False
    scene.scorefit.loudness = "ebu-r128"
    assert generate() == {"FINISHED"}
    drive(runner)
    assert runner.state.message.kind == "info", runner.state.message.text
    assert "LUFS" in runner.state.message.text
    (main,) = [s for s in strips(scene) if s.get("scorefit_role") == "primary"]
    level = json.loads(Path(main["scorefit_sidecar"]).read_text())["fit"]["primary"]["loudness"]
    assert level["target"] == -23.0 and abs(level["after_lufs"] + 23.0) < 0.5 and level["after_dbtp"] <= -1.0
