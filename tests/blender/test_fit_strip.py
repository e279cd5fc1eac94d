"""Fit Strip to Cut in real Blender: the editor's own music, fitted to the scene, no credits."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import bpy
import pytest

from blender_helpers import HAS_AUDIO, add_color_strip, span, strips
from music import song
from wavfile import write

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not HAS_AUDIO, reason="this bpy build has no Audaspace (PyPI bpy 4.2)")]


@pytest.fixture
def fitter(extension, runner):
    module = extension.blender.fit_strip
    yield module
    module.shutdown()


def sound_strip(scene, path: Path, channel=1):
    editor = scene.sequence_editor
    collection = editor.strips if hasattr(editor, "strips") else editor.sequences
    strip = collection.new_sound(name="My Song", filepath=str(path), channel=channel, frame_start=1)
    editor.active_strip = strip
    return strip


def test_a_long_song_is_fitted_to_the_scene_beside_the_muted_original(fitter, runner, scene, tmp_path):
    audio, _ = song(180, bpm=110, ending="ring", rate=44100)
    source = tmp_path / "my song.wav"
    write(source, audio.samples, 44100, bits=24)
    before = source.read_bytes()
    original = sound_strip(scene, source)
    assert bpy.ops.scorefit.fit_strip() == {"FINISHED"}
    assert fitter.busy() and bpy.app.timers.is_registered(fitter.tick)
    message = fitter.wait()
    assert message.kind == "info", message.text
    assert "Fit: clean cut" in message.text or "Fit: audible cut" in message.text
    fitted = next(s for s in strips(scene) if s.get("scorefit_role") == "fitted")
    assert span(fitted) == (2, 1, 2880)
    assert original.mute and not fitted.mute and original.channel == 1
    with wave.open(fitted["scorefit_file"]) as w:
        assert w.getnframes() == 120 * 48000 and w.getframerate() == 48000
    report = json.loads(Path(fitted["scorefit_sidecar"]).read_text())
    assert report["kind"] == "fit-to-cut" and report["origin"] == "own"
    assert report["fit"]["primary"]["ending"] == "ring-out" and report["fit"]["primary"]["joins"]
    assert source.read_bytes() == before


def test_only_a_sound_strip_can_be_fitted_and_a_missing_file_is_named(fitter, runner, scene, tmp_path):
    color = add_color_strip(scene, 1, 1, 100)
    scene.sequence_editor.active_strip = color
    assert not bpy.ops.scorefit.fit_strip.poll()
    audio, _ = song(60, rate=48000)
    source = tmp_path / "gone.wav"
    write(source, audio.samples, 48000)
    sound_strip(scene, source, channel=2)
    source.unlink()
    with pytest.raises(RuntimeError, match="sound file is missing"):
        bpy.ops.scorefit.fit_strip()
    assert not fitter.busy()


def test_too_short_music_is_refused_and_nothing_is_placed(fitter, runner, scene, tmp_path):
    audio, _ = song(30, rate=48000)
    source = tmp_path / "short.wav"
    write(source, audio.samples, 48000)
    sound_strip(scene, source)
    count = len(strips(scene))
    assert bpy.ops.scorefit.fit_strip() == {"FINISHED"}
    message = fitter.wait()
    assert message.kind == "error" and "shorter than the timeline" in message.text
    assert len(strips(scene)) == count


def test_the_operator_is_in_the_strip_menu(extension):
    assert extension.blender.ui.strip_menu_entry in bpy.types.SEQUENCER_MT_strip._dyn_ui_initialize()


def test_bar_markers_follow_the_fitted_music_and_leave_the_editors_own(fitter, runner, scene, tmp_path):
    audio, truth = song(180, bpm=120, ending="ring", rate=48000)
    source = tmp_path / "song.wav"
    write(source, audio.samples, 48000)
    sound_strip(scene, source)
    scene.timeline_markers.new("my cut", frame=500)
    scene.timeline_markers.new("SF bar 3", frame=777)       # the editor's own, named like ours
    bpy.ops.scorefit.fit_strip()
    assert fitter.wait().kind == "info"
    fitted = next(s for s in strips(scene) if s.get("scorefit_role") == "fitted")
    scene.sequence_editor.active_strip = fitted
    assert bpy.ops.scorefit.add_bar_markers() == {"FINISHED"}
    ours = sorted(m.frame for m in scene.timeline_markers if m.name.startswith("SF ") and (m.name, m.frame) != ("SF bar 3", 777))
    # 120 BPM at 24 fps: a bar every 48 frames from the first bar line heard (the fit is
    # back-timed from its ending: the music comes in less than a bar late, or enters the
    # song inside its first bar, whose next bar line is then less than a bar in), through
    # the join.
    fit = json.loads(Path(fitted["scorefit_sidecar"]).read_text())["fit"]["primary"]
    first = fit["late_start_ms"] if fit["late_start_ms"] else 2000 - fit["opening_cut_ms"]
    steps = {b - a for a, b in zip(ours, ours[1:])}
    assert 0 <= first < 2000 and abs(ours[0] - (1 + first / 1000 * 24)) <= 1
    assert steps <= {47, 48, 49} and len(ours) >= 2880 // 48 - 4
    assert any(m.name.startswith("SF phrase ") for m in scene.timeline_markers)
    assert bpy.ops.scorefit.add_bar_markers(phrases_only=True) == {"FINISHED"}
    assert all(m.name.startswith("SF phrase ") for m in scene.timeline_markers
               if m.name.startswith("SF ") and (m.name, m.frame) != ("SF bar 3", 777))
    assert bpy.ops.scorefit.remove_bar_markers() == {"FINISHED"}
    assert sorted((m.name, m.frame) for m in scene.timeline_markers) == [("SF bar 3", 777), ("my cut", 500)]


def start_fitting(scene, tmp_path, seconds=150) -> int:
    """A song strip, selected, and Fit Strip to Cut pressed; the strips there were before."""
    audio, _ = song(seconds, rate=48000)
    source = tmp_path / "song.wav"
    write(source, audio.samples, 48000)
    sound_strip(scene, source)
    count = len(strips(scene))
    assert bpy.ops.scorefit.fit_strip() == {"FINISHED"}
    return count


def test_fit_strip_runs_as_the_one_task_with_progress_and_cancel(fitter, runner, scene, tmp_path):
    count = start_fitting(scene, tmp_path)
    assert runner.busy() and runner.snapshot().stage == "Fitting"
    assert not bpy.ops.scorefit.generate.poll() and not bpy.ops.scorefit.fit_strip.poll()   # one at a time
    assert bpy.ops.scorefit.cancel() == {"FINISHED"}
    message = fitter.wait()
    assert message.kind == "info" and "cancelled; nothing was placed" in message.text
    assert len(strips(scene)) == count and not runner.busy()


def test_a_scene_recut_while_fitting_gets_nothing(fitter, runner, scene, tmp_path):
    count = start_fitting(scene, tmp_path)
    scene.frame_end = 2000                          # the editor recut while it fitted
    message = fitter.wait()
    assert message.kind == "error" and "range changed while ScoreFit worked" in message.text
    assert "Fit Strip to Cut again" in message.text and len(strips(scene)) == count


def test_what_the_editor_hears_is_fitted_with_its_volume_and_pan(fitter, runner, scene, tmp_path):
    audio, _ = song(200, bpm=110, ending="ring", rate=48000)
    source = tmp_path / "long song.wav"
    write(source, audio.samples, 48000)
    strip = sound_strip(scene, source)
    strip.volume = 0.4
    if hasattr(strip, "pan"):
        strip.pan = -0.5
    first, after = compat_span(strip)
    set_left(strip, first + 24 * 20)                      # the editor trimmed the first 20 s off
    assert bpy.ops.scorefit.fit_strip() == {"FINISHED"}
    assert fitter.wait().kind == "info"
    fitted = next(s for s in strips(scene) if s.get("scorefit_role") == "fitted")
    assert fitted.volume == pytest.approx(0.4) and (not hasattr(fitted, "pan") or fitted.pan == pytest.approx(-0.5))
    assert not fitted.mute and strip.mute
    window = json.loads(Path(fitted["scorefit_sidecar"]).read_text())["source"]["window_seconds"]
    assert window[0] == pytest.approx(20.0) and window[1] == pytest.approx((after - first) / 24 - 20.0)


def compat_span(strip):
    from scorefit.blender import compat
    return compat.span(strip)


def set_left(strip, frame: int):
    if hasattr(strip, "left_handle"):
        strip.left_handle = frame
    else:
        strip.frame_final_start = frame


def test_duck_under_dialogue_keys_the_volume_down_where_speech_plays(fitter, runner, scene, tmp_path):
    import numpy as np
    audio, _ = song(150, rate=48000)
    write(tmp_path / "song.wav", audio.samples, 48000)
    sound_strip(scene, tmp_path / "song.wav")
    assert bpy.ops.scorefit.fit_strip() == {"FINISHED"}
    assert fitter.wait().kind == "info"
    fitted = next(s for s in strips(scene) if s.get("scorefit_role") == "fitted")
    rng = np.random.default_rng(2)
    voice = np.zeros(48000 * 60, np.float32)
    for syllable in np.arange(20.0, 30.0, 0.25):              # speech from 20 s to 30 s of the scene
        a = int(syllable * 48000)
        spectrum = np.fft.rfft(rng.standard_normal(9600))
        spectrum[(np.fft.rfftfreq(9600, 1 / 48000) < 300) | (np.fft.rfftfreq(9600, 1 / 48000) > 3000)] = 0
        voice[a:a + 9600] = np.fft.irfft(spectrum, 9600) * 0.05
    write(tmp_path / "dialogue.wav", np.stack([voice, voice], 1), 48000)
    editor = scene.sequence_editor
    collection = editor.strips if hasattr(editor, "strips") else editor.sequences
    collection.new_sound(name="Interview", filepath=str(tmp_path / "dialogue.wav"), channel=5, frame_start=1)
    editor.active_strip = fitted
    fitted.volume = 0.8
    assert bpy.ops.scorefit.duck() == {"FINISHED"}
    message = fitter.wait()
    assert message.kind == "info" and "under 1 stretch of dialogue" in message.text, message.text
    levels = {}
    for seconds in (5, 25, 45):
        scene.frame_set(1 + seconds * 24)
        levels[seconds] = fitted.volume
    assert levels[5] == pytest.approx(0.8, abs=1e-3) and levels[45] == pytest.approx(0.8, abs=1e-3)
    assert levels[25] == pytest.approx(0.8 * 10 ** (-10 / 20), abs=1e-3)          # 10 dB under speech
