"""Fitting against the emulator's synthetic music, whose tempo and bar lines are known."""
import pytest
from pydub import AudioSegment

import math
from scorefit.core import fit as F
from scorefit.emulator import synth


def music(seconds, *, ending, text="test song", rate=22050):
    style = synth.Style.from_text(text, rate)
    end = round(seconds / style.bar_seconds) * style.bar_seconds if ending else seconds
    pcm = synth.render(style, [synth.Segment(0, end, 1)], ending=ending)
    return AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=2), style


def on_bar_line(seconds, style, tolerance=0.012):
    bars = seconds / style.bar_seconds
    return abs(bars - round(bars)) * style.bar_seconds <= tolerance


@pytest.mark.parametrize("text", ["calm film", "epic chase", "abc"])
def test_beat_grid_matches_the_known_tempo_and_bars(text):
    seg, style = music(90, ending=False, text=text)
    grid = F.beat_grid(seg, 30, 60)
    assert grid.bpm == pytest.approx(style.bpm, rel=0.003)
    assert all(on_bar_line(d, style) for d in grid.downbeats[:6])


@pytest.mark.parametrize("target_s", [20, 61.3, 100])
@pytest.mark.parametrize("rate", [44100, 48000])
def test_music_with_an_ending_is_spliced_on_a_bar_line_and_keeps_its_ending(target_s, rate):
    seg, style = music(150, ending=True)
    target = round(target_s * rate)
    out, report = F.fit(seg, target, rate)
    assert int(out.frame_count()) == target and out.frame_rate == rate and out.channels == 2
    assert report.method == "splice"
    assert on_bar_line(report.splice_at, style) and on_bar_line(report.resume_from, style)
    # The ending is the music's own: quiet at the very end, but not silence padded on.
    tail = out.get_sample_slice(target - rate // 10, target)
    assert tail.rms < 200
    assert out.get_sample_slice(target - 4 * rate, target - 3 * rate).rms > 1000


def test_music_that_runs_on_fades_over_the_final_bar_from_a_downbeat():
    seg, style = music(140, ending=False)
    out, report = F.fit(seg, 48000 * 100, 48000)
    assert report.method == "fade"
    assert report.fade_seconds >= max(style.bar_seconds, 2.0) - 0.01
    assert on_bar_line(100 - report.fade_seconds, style)
    assert out.get_sample_slice(48000 * 100 - 64, 48000 * 100).rms == 0     # silent last samples
    assert out.get_sample_slice(48000 * 90, 48000 * 91).rms > 1000          # full level before


def test_shorter_music_is_refused_not_padded():
    seg, _ = music(30, ending=False)
    with pytest.raises(F.FitError, match="shorter than the timeline"):
        F.fit(seg, 48000 * 31, 48000)


@pytest.mark.slow
@pytest.mark.parametrize("minutes", [1 / 3, 3, 12, 30])
@pytest.mark.parametrize("rate,fps", [(44100, 30000 / 1001), (48000, 24000 / 1001)])
def test_fit_is_sample_exact_for_long_timelines(minutes, rate, fps):
    from fractions import Fraction
    from scorefit.core.timeline import FrameRate, Timeline
    frames = round(minutes * 60 * fps)
    tl = Timeline(FrameRate.parse(fps), frames, sample_rate=rate)
    seg, _ = music(float(tl.duration_seconds) + 9, ending=minutes < 5, rate=rate)
    out, _ = F.fit(seg, tl.duration_samples, rate)
    assert int(out.frame_count()) == tl.duration_samples == math.ceil(Fraction(frames) / tl.fps.fraction * rate)
