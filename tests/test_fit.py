"""The fit engine against music whose truth is known: the emulator's songs (tempo and bar
lines exact) and tests/music.py's songs (metre, drift, every ending shape, no pulse)."""
import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

from music import ambient, song
from scorefit.core import fit as F
from scorefit.core.analysis import analyse, phase_margin
from scorefit.core.audio import Audio
from scorefit.emulator import synth

RATE = 48000


def emulator_song(seconds, *, ending, text="test song", rate=RATE):
    style = synth.Style.from_text(text, rate)
    end = round(seconds / style.bar_seconds) * style.bar_seconds if ending else seconds
    pcm = synth.render(style, [synth.Segment(0, end, 1)], ending=ending)
    samples = np.frombuffer(pcm, "<i2").reshape(-1, 2).astype(np.float32) / 32768
    return Audio(samples, rate), style


def near(times, grid, tolerance):
    return all(np.min(np.abs(np.asarray(grid) - t)) <= tolerance for t in times)


def level_db(x):
    return 10 * math.log10(float(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def audible_end(samples, loud_db=None):
    """Seconds: the end of the last 50 ms block within 30 dB of the music's loud level (the
    95th percentile of its blocks), as the bench judges it; computed here, not by ScoreFit."""
    block = RATE // 20
    count = samples.shape[0] // block
    mono = samples[:count * block].mean(axis=1).astype(np.float64)
    levels = 10 * np.log10(np.mean(mono.reshape(count, block) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(levels > (np.percentile(levels, 95) if loud_db is None else loud_db) - 30)
    return (loud[-1] + 1) * block / RATE


def loud_db(samples):
    block = RATE // 20
    count = samples.shape[0] // block
    mono = samples[:count * block].mean(axis=1).astype(np.float64)
    return float(np.percentile(10 * np.log10(np.mean(mono.reshape(count, block) ** 2, axis=1) + 1e-12), 95))


def check_start(out, report, audio, truth):
    """A bar path's start gives way to its ending: either a breath of silence, then the
    song's first downbeat, or the song entered inside its first bar and faded in up to a
    beat, heard from the first frame; never seconds of silence."""
    late = round(report.late_start_ms * RATE / 1000)
    cut = round(report.opening_cut_ms * RATE / 1000)
    assert late == 0 or cut == 0
    assert late < 0.4 * RATE
    if cut == 0:
        assert np.abs(out.samples[:max(0, late - 5)]).max(initial=0.0) == 0.0   # the report rounds to 0.1 ms
        assert level_db(out.samples[late:late + RATE // 10]) > -30              # the first kick
        return
    fade_in = round(report.fade_in_seconds * RATE)
    beat = 60 / truth.bpm
    assert 0 < fade_in <= beat * RATE + RATE // 1000
    assert cut < 4 * beat * RATE                            # inside the opening bar
    assert abs(out.samples[0]).max() < 1e-3
    assert near([(cut + fade_in) / RATE], truth.beats, 0.03)  # arrives on a beat
    # Past the fade-in, the song itself, untouched, up to the first join.
    first_join = round(report.joins[0].output_seconds * RATE) if report.joins else out.frames
    heard = slice(fade_in + RATE // 500, min(first_join, fade_in + RATE) - RATE // 100)
    shift = round(report.opening_cut_ms * RATE / 1000)
    assert any(np.array_equal(out.samples[heard], audio.samples[heard.start + k:heard.stop + k])
               for k in range(shift - 5, shift + 6))                    # the report rounds to 0.1 ms


# --- analysis ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["calm film", "epic chase", "abc"])
def test_one_grid_with_the_emulators_exact_tempo_and_bar_lines(text):
    audio, style = emulator_song(90, ending=False, text=text)
    result = analyse(audio)
    assert result.pulse and result.meter == 4
    assert result.bpm == pytest.approx(style.bpm, abs=0.05)
    bars = np.arange(0, 91, style.bar_seconds)
    assert len(result.downbeats) >= 88 / style.bar_seconds
    assert near(result.downbeats, bars, 0.012)


@pytest.mark.parametrize("bpm,meter,drift", [(96, 3, 0.0), (140, 4, 0.05), (72, 4, 0.0), (168, 3, 0.03)])
def test_metre_and_downbeats_follow_the_music_through_drift(bpm, meter, drift):
    audio, truth = song(70, bpm=bpm, meter=meter, drift=drift)
    result = analyse(audio)
    assert result.meter == meter
    played = result.downbeats[result.downbeats < truth.downbeats[-1] + 0.1]
    assert near(played, truth.downbeats, 0.03)
    # A fast piece may be read at half tempo (its bars are then two real bars, and every cut
    # is still on a bar line); never at a tempo that splits bars: 72 BPM with hats on every
    # eighth is not read at 144, though the hats recur most.
    assert len(played) >= len(truth.downbeats) // 2 - 1


@pytest.mark.parametrize("bpm", [150, 172])
def test_a_3_3_2_kick_is_not_read_as_the_beat(bpm):
    # Kicks every beat and a half recur more than the beat itself: read as the beat, every
    # "bar" would end mid-bar. Half the tempo is fine (its bars are two real bars).
    audio, truth = song(60, bpm=bpm, kicks=(0, 3, 6), ending="none")
    result = analyse(audio)
    assert result.bpm / bpm == pytest.approx(1.0, abs=0.02) or result.bpm / bpm == pytest.approx(0.5, abs=0.01)
    played = result.downbeats[result.downbeats < truth.downbeats[-1] + 0.1]
    assert len(played) >= len(truth.downbeats) // 2 - 1
    assert near(played, truth.downbeats, 0.03)


def test_a_drone_with_no_pulse_claims_no_tempo():
    result = analyse(ambient(40))
    assert not result.pulse and result.bpm is None and result.describe() == "no clear beat"


def test_silence_is_an_error_not_a_tempo():
    with pytest.raises(F.FitError, match="silent"):
        F.fit(Audio(np.zeros((RATE * 30, 2), np.float32), RATE), RATE * 10, RATE)


# --- the fit ---------------------------------------------------------------------------
def check_joins_on_bars(report, downbeats, tolerance=0.012):
    for join in report.joins:
        assert near([join.source_from, join.source_to], downbeats, tolerance), join


@pytest.mark.parametrize("target_s", [30, 61.3, 100])
@pytest.mark.parametrize("rate", [44100, 48000])
def test_emulator_music_is_cut_on_bar_lines_and_its_ending_lands_on_the_last_sample(target_s, rate):
    audio, style = emulator_song(150, ending=True, rate=rate)
    target = round(target_s * rate)
    out, report = F.fit(audio, target, rate)
    assert out.frames == target and out.rate == rate and out.channels == 2
    assert report.method == "bars" and report.ending == "ring-out" and report.ending_kept
    assert report.joins and report.ending_error_ms == 0.0
    check_joins_on_bars(report, np.arange(0, 151, style.bar_seconds))
    # Heard from the first frame: the song is entered inside its first bar, on a beat or
    # faded in up to one, rather than coming in late.
    assert report.late_start_ms == 0.0 and 0 < report.opening_cut_ms < 1000 * style.bar_seconds
    assert near([report.opening_cut_ms / 1000 + report.fade_in_seconds], np.arange(0, 151, 60 / style.bpm), 0.012)
    assert level_db(out.samples[round(report.fade_in_seconds * rate):][:rate // 2]) > -20
    # The ring-out is the song's own: full music before it, near silence at the very end.
    assert level_db(out.samples[-rate // 20:]) < -40
    assert level_db(out.samples[target - 12 * rate:target - 9 * rate]) > -20


def half_time(analysis, start, beats):
    """The same grid read at half the tempo over ``beats`` beats from ``start``, as a tracker
    may read a slower passage of real music: bars there last twice as long."""
    keep = np.ones(analysis.beats.size, bool)
    keep[start:start + beats] = np.arange(beats) % 2 == 0
    meter = analysis.meter
    per_beat = ("beats", "beat_chroma", "beat_timbre", "beat_loudness", "downbeat_evidence")
    changed = dataclasses.replace(analysis, **{name: getattr(analysis, name)[keep] for name in per_beat})
    changed.bar_position = (np.arange(changed.beats.size) - int(np.argmax(analysis.bar_position == 0))) % meter
    changed.phase_margin = phase_margin(changed.downbeat_evidence, changed.bar_position, meter)
    return changed


@pytest.mark.parametrize("target_s", [45, 70, 100])
def test_bars_of_different_lengths_still_land_the_ending_on_the_last_sample(monkeypatch, target_s):
    audio, style = emulator_song(150, ending=True)
    grid = half_time(analyse(audio), 32, 128)
    monkeypatch.setattr(F, "analyse", lambda music, options: grid)
    target = round(target_s * RATE)
    out, report = F.fit(audio, target, RATE)
    # A path is judged by its own length, not by a count of "typical" bars.
    assert out.frames == target and report.method == "bars" and report.ending_kept
    assert report.ending_error_ms == 0.0 and report.late_start_ms < 1000 * style.bar_seconds
    check_joins_on_bars(report, grid.downbeats)


@pytest.mark.parametrize("fraction", [0.4, 0.63, 0.9])
@pytest.mark.parametrize("shape", ["ring", "hard", "fade"])
def test_every_ending_shape_is_recognised_kept_whole_and_lands_on_the_last_sample(shape, fraction):
    audio, truth = song(80, bpm=110, ending=shape)
    target = int(audio.frames * fraction)
    out, report = F.fit(audio, target, RATE)
    assert out.frames == target
    assert report.ending == {"ring": "ring-out", "hard": "hard stop", "fade": "fade-out"}[shape]
    assert report.ending_kept
    check_joins_on_bars(report, truth.downbeats, 0.03)
    # Back-timed: the ending is whole and its sound ends on the last sample; what whole bars
    # leave over is taken at the start.
    # Within a frame at 24 fps: whole bars may leave a few ms to come off the inaudible rest.
    assert 0.0 <= report.ending_error_ms <= 1000 * F.FitOptions.end_tolerance
    assert report.ending_trimmed_ms == report.ending_error_ms
    check_start(out, report, audio, truth)
    # What a listener hears as the end (the song's own loudness judges it) is the last frame:
    # no seconds of a fade's or ring's inaudible tail after it. A slow fade crosses the
    # threshold at about 16 dB/s, so a kick 1 dB either side of it moves its end by 0.25 s.
    tolerance = 0.3 if shape == "fade" else 0.05
    assert audible_end(out.samples, loud_db(audio.samples)) == pytest.approx(target / RATE, abs=tolerance)
    if shape == "hard":
        # The final hit lands with its own short decay before the last sample.
        last = np.abs(out.samples[-3 * RATE:, 0])
        hit_to_end = (3 * RATE - int(np.argmax(last))) / RATE
        assert hit_to_end == pytest.approx(audible_end(audio.samples) - truth.final_hit, abs=0.05)
    assert level_db(out.samples[-RATE // 50:]) < -45
    assert "ends on the last frame" in report.quality


@pytest.mark.parametrize("shape", ["ring", "hard", "fade"])
def test_a_click_after_the_music_is_not_taken_for_its_end(shape):
    # Seen in real soundtracks: 20 ms of noise at the file's very end, 0.7 s after the music.
    audio, truth = song(80, bpm=110, ending=shape)
    samples = audio.samples.copy()
    click = int((truth.end_of_sound + 0.3) * RATE)
    samples[click:click + RATE // 50] += 0.03 * np.random.default_rng(5).standard_normal((RATE // 50, 2))
    clicked = Audio(samples.astype(np.float32), RATE)
    clean = F.find_ending(analyse(audio))
    assert F.find_ending(analyse(clicked)).end_of_sound == pytest.approx(clean.end_of_sound, abs=0.011)
    target = int(audio.frames * 0.6)
    out, report = F.fit(clicked, target, RATE)
    assert report.ending_kept and report.ending_error_ms == 0.0
    # The music's own ending finishes on the last frame, as without the click.
    assert np.abs(out.samples[-RATE // 2:] - F.fit(audio, target, RATE)[0].samples[-RATE // 2:]).max() < 1e-4


def test_a_cut_too_short_for_the_ending_fades_rather_than_cutting_seconds_off_its_decay():
    # A ring audible for about 8 s: a 6 s cut has room for neither the opening nor the ending whole.
    audio, truth = song(60, bpm=120, ending="ring", ring_seconds=16.0)
    out, report = F.fit(audio, 6 * RATE, RATE)
    assert out.frames == 6 * RATE and report.method == "fade" and not report.ending_kept
    # The editor is told why: the music has an ending, only not room for it.
    assert report.quality.startswith("the ring-out does not fit this cut whole: faded over the last")
    # A short cut is heard at the music's own level before it fades: the fade takes a share.
    assert 0.25 * 6 <= report.fade_seconds <= 0.6 * 6
    heard = int((6 - report.fade_seconds) * RATE) - RATE // 100
    assert np.array_equal(out.samples[:heard], audio.samples[:heard])
    # With room for both, the ending is kept whole.
    out, report = F.fit(audio, 20 * RATE, RATE)
    assert report.method == "bars" and report.ending_kept and report.ending_trimmed_ms == 0.0


@pytest.mark.parametrize("shape, seconds", [("ring", 9), ("hard", 3), ("hard", 15)])
def test_a_sting_is_the_songs_own_ending_faded_in_to_a_bar_line(shape, seconds):
    # No room for two opening bars and the ending (9 s, 3 s), or room only for a jump in a
    # cut of two phrases or less (15 s: 7.5 bars): a music editor back-times the song's last
    # seconds and fades in the head, up to a downbeat. No join, and no silence first.
    audio, truth = song(60, bpm=120, ending=shape, ring_seconds=6.0)
    target = seconds * RATE
    out, report = F.fit(audio, target, RATE)
    assert out.frames == target and report.method == "ending" and report.joins == ()
    assert report.ending_kept and report.ending_error_ms == 0.0 and report.late_start_ms == 0.0
    # The song's own last samples, untouched after the fade-in: its end of sound on the last frame.
    end = round(F.find_ending(analyse(audio)).end_of_sound * RATE)
    fade_in = round(report.fade_in_seconds * RATE)
    assert 0 < fade_in < 4 * 60 / 120 * RATE                       # less than a bar
    after = fade_in + RATE // 500                                   # the report rounds to 1 ms
    close = int(F.FitOptions.end_ramp * RATE)                                  # the inaudible rest is closed
    assert np.array_equal(out.samples[after:-close], audio.samples[end - target + after:end - close])
    assert near([report.fade_in_seconds + (end - target) / RATE], truth.downbeats, 0.03)
    # Full from the first frame: it rises from nothing, with no silence before the music.
    assert abs(out.samples[0]).max() < 1e-3 and level_db(out.samples[fade_in // 2:fade_in]) > -40
    assert report.quality.startswith("a cutdown of the song's ending") and "ends on the last frame" in report.quality


def test_landing_gives_way_at_the_start_and_keeps_the_ending():
    ending = F.Ending("ring-out", end_of_sound=60.0, landmark=56.0, file_end=60.5)
    bar, lead = 2.0 * RATE, RATE // 2
    # Whole bars make the path short by 0.3 s: the music comes in late; nothing is cut.
    cost, trimmed, skip = F._landing(-int(0.3 * RATE), ending, RATE, bar, lead)
    assert (trimmed, skip) == (0, 0) and cost == pytest.approx(0.3 * F.FitOptions.late_start_cost)
    late_cost = cost
    # More than a bar late cannot land, nor can a path that would cut into the ending itself.
    assert F._landing(-int(2.1 * RATE), ending, RATE, bar, lead)[0] == np.inf
    assert F._landing(lead + int(4.5 * RATE), ending, RATE, bar, lead)[0] == np.inf
    # Too long by 0.4 s: the file's own 0.5 s of silent lead-in is skipped instead, free.
    assert F._landing(int(0.4 * RATE), ending, RATE, bar, lead) == (0.0, 0, int(0.4 * RATE))
    # Too long by more than the lead-in gives: within a frame may come off the ending;
    # beyond it the ring-out is cut short, which costs more than any late start.
    cost, trimmed, skip = F._landing(lead + int(0.03 * RATE), ending, RATE, bar, lead)
    assert (trimmed, skip) == (int(0.03 * RATE), lead) and cost < 0.1
    cost, trimmed, _ = F._landing(lead + int(0.5 * RATE), ending, RATE, bar, lead)
    assert trimmed == int(0.5 * RATE) and cost > F.FitOptions.late_start_cost
    # Where the start may move into the song (here up to 1.5 s past its lead-in), a path
    # that long enters the song 0.5 s in instead: cheaper than 0.3 s of silence first.
    reach = lead + int(1.5 * RATE)
    cost, trimmed, skip = F._landing(lead + int(0.5 * RATE), ending, RATE, bar, lead, reach)
    assert (trimmed, skip) == (0, lead + int(0.5 * RATE)) and cost < late_cost
    # Beyond that reach the ending would be cut short: as without it.
    cost, trimmed, _ = F._landing(lead + int(1.6 * RATE), ending, RATE, bar, lead, reach)
    assert trimmed == int(1.6 * RATE) and cost > F.FitOptions.late_start_cost
    assert F._landing(lead + int(4.5 * RATE), ending, RATE, bar, lead, reach)[0] == np.inf


def test_a_silent_lead_in_is_measured_for_the_fit_to_use():
    from scorefit.core.ending import start_of_sound
    audio, truth = song(40, bpm=120, lead_in=1.5)
    assert start_of_sound(analyse(audio)) == pytest.approx(1.5, abs=0.08)
    out, report = F.fit(audio, int(audio.frames * 0.6), RATE)
    assert report.ending_error_ms == 0.0
    # The music (its lead-in skipped or not) comes in within a bar of the start.
    first = int(np.argmax(np.abs(out.samples[:, 0]) > 1e-3))
    assert first < (1.5 + 4 * 60 / 120) * RATE


def test_a_loop_with_no_ending_fades_over_whole_bars_from_a_bar_line():
    audio, truth = song(90, bpm=128, ending="none")
    target = int(60.2 * RATE)
    out, report = F.fit(audio, target, RATE)
    assert report.method == "fade" and report.ending == "none" and not report.ending_kept
    assert F.FitOptions.fade_seconds[0] <= report.fade_seconds <= F.FitOptions.fade_seconds[1]
    assert near([60.2 - report.fade_seconds], truth.downbeats, 0.03)
    assert np.abs(out.samples[-64:]).max() < 1e-6
    assert level_db(out.samples[int(40 * RATE):int(41 * RATE)]) > -25
    assert "faded over the last" in report.quality


def test_music_with_no_beat_joins_into_its_ending_or_fades_and_says_so():
    out, report = F.fit(ambient(60), 30 * RATE, RATE)
    assert out.frames == 30 * RATE
    assert report.method in ("join", "fade-no-beat") and report.bpm is None
    assert report.quality.startswith("no clear beat")
    # A short cut fades over a share of itself, not from its first frame.
    out, report = F.fit(ambient(60), 5 * RATE, RATE)
    assert report.method == "fade-no-beat" and report.fade_seconds == pytest.approx(2.0)
    assert np.array_equal(out.samples[:int(2.9 * RATE)], ambient(60).samples[:int(2.9 * RATE)])


def test_a_jump_into_a_louder_section_is_level_matched():
    # Bars 12-19 are a tutti 12 dB louder; the cut must not step up by 12 dB at the join.
    audio, truth = song(80, bpm=120, loud_bars=range(12, 20))
    for fraction in (0.45, 0.6, 0.75):
        target = int(audio.frames * fraction)
        out, report = F.fit(audio, target, RATE)
        for join in report.joins:
            i = int(join.output_seconds * RATE)
            step = abs(level_db(out.samples[i - 2 * RATE:i]) - level_db(out.samples[i:i + 2 * RATE]))
            assert step <= 3.0, (fraction, join)


def test_a_target_equal_to_the_whole_song_keeps_it_untouched():
    audio, _ = song(40, ending="ring")
    out, report = F.fit(audio, audio.frames, RATE)
    assert report.method == "whole" and report.ending_kept and not report.joins
    assert np.array_equal(out.samples, audio.samples)


def test_shorter_music_is_refused_not_padded():
    audio, _ = emulator_song(30, ending=False)
    with pytest.raises(F.FitError, match="shorter than the timeline"):
        F.fit(audio, RATE * 31, RATE)


def test_report_names_the_method_joins_tempo_and_quality_in_plain_words():
    audio, _ = emulator_song(120, ending=True, text="calm film")
    _, report = F.fit(audio, 70 * RATE, RATE)
    data = report.to_dict()
    assert data["method"] == "bars" and data["bpm"] == pytest.approx(112, abs=0.1) and data["meter"] == 4
    join = data["joins"][0]
    assert set(join) >= {"output_seconds", "source_from", "source_to", "bar_from", "bar_to", "cost",
                         "crossfade_ms", "gain_db"}
    assert f"bar {join['bar_from']}→{join['bar_to']}" in report.quality
    assert "ring-out ends on the last frame" in report.quality and "112.0 BPM in 4/4" in report.quality


@pytest.mark.parametrize("rate,channels", [(44100, 1), (96000, 2)])
def test_other_rates_and_mono_come_out_stereo_at_the_hosts_rate(rate, channels):
    audio, _ = song(50, rate=rate, channels=channels)
    out, report = F.fit(audio, 30 * RATE, RATE)
    assert out.frames == 30 * RATE and out.rate == RATE and out.channels == 2 and report.ending_kept


@pytest.mark.slow
@pytest.mark.parametrize("minutes", [1 / 3, 3, 12, 30])
@pytest.mark.parametrize("rate,fps", [(44100, 30000 / 1001), (48000, 24000 / 1001)])
def test_fit_is_sample_exact_for_long_timelines(minutes, rate, fps):
    from scorefit.core.timeline import FrameRate, Timeline
    frames = round(minutes * 60 * fps)
    tl = Timeline(FrameRate.parse(fps), frames, sample_rate=rate)
    audio, _ = emulator_song(float(tl.duration_seconds) + 9, ending=minutes < 5, rate=rate)
    out, _ = F.fit(audio, tl.duration_samples, rate)
    assert out.frames == tl.duration_samples == math.ceil(Fraction(frames) / tl.fps.fraction * rate)


def test_a_cut_a_little_shorter_than_the_song_enters_it_and_plays_it_through():
    # 0.6 s shorter than the song's sound: no join is worth that; the song is entered
    # 0.6 s in, faded in up to a beat, and plays through to its own ending.
    audio, truth = song(40, bpm=120, ending="ring")
    end = round(F.find_ending(analyse(audio)).end_of_sound * RATE)
    target = end - int(0.6 * RATE)
    out, report = F.fit(audio, target, RATE)
    assert report.method == "bars" and report.joins == () and report.ending_error_ms == 0.0
    assert report.late_start_ms == 0.0 and report.opening_cut_ms == pytest.approx(600, abs=15)
    assert report.quality.startswith("no cut inside the song: it plays through; the ring-out ends on the last frame")
    check_start(out, report, audio, truth)


def test_the_report_carries_the_bar_lines_heard_in_the_output():
    audio, style = emulator_song(120, ending=True, text="calm film")
    out, report = F.fit(audio, 70 * RATE, RATE)
    bars = np.array(report.bars)
    # Bars every bar length through the whole output, the joins included: one grid, from
    # where the music comes in (the fit is back-timed from its ending), or, where the song
    # is entered inside its first bar, from the first bar line heard.
    if report.opening_cut_ms:
        assert report.late_start_ms == 0.0
        assert bars[0] == pytest.approx(style.bar_seconds - report.opening_cut_ms / 1000, abs=0.02)
    else:
        assert bars[0] == pytest.approx(report.late_start_ms / 1000, abs=0.01)
        assert report.late_start_ms < 1000 * style.bar_seconds
    assert bars[-1] > 70 - 3 * style.bar_seconds
    assert np.allclose(np.diff(bars), style.bar_seconds, atol=0.02)
    assert set(report.phrases) <= set(report.bars) and len(report.phrases) >= len(bars) // 4 - 1
    assert list(report.to_dict()["bars"]) == list(report.bars)


def test_phase_margin_is_sure_where_the_bars_agree_and_doubtful_where_the_phase_moves():
    rng = np.random.default_rng(3)
    # 4/4: evidence marks every 4th beat for 40 bars, then (a dropped beat) every 4th from 161.
    evidence = rng.normal(0, 0.3, 320)
    evidence[0:160:4] += 2.0
    evidence[161::4] += 2.0
    positions = np.r_[np.arange(160) % 4, (np.arange(160) - 1) % 4]
    margin = phase_margin(evidence, positions, 4)
    downbeats = np.flatnonzero(positions == 0)
    steady = downbeats[(downbeats < 120) | (downbeats > 200)]
    assert margin[steady].min() > 1.0
    # Read with the wrong phase, the same music is sure of nothing.
    assert phase_margin(evidence, (positions + 2) % 4, 4)[steady].max() < 0
    # Beside the dropped beat the window sees both phases: the margin halves.
    assert margin[157] < 0.7 * np.median(margin[steady])


def beats_f(estimate, truth, window=0.070):
    """Beat F-measure: each true beat matched at most once within ``window`` seconds."""
    estimate = list(np.sort(estimate))
    hits = 0
    for t in truth:
        near_ones = [e for e in estimate if abs(e - t) <= window]
        if near_ones:
            estimate.remove(near_ones[0])
            hits += 1
    return 2 * hits / (len(truth) + hits + len(estimate)) if hits else 0.0


@pytest.mark.parametrize("style", [
    dict(bpm=110, division=(0, 2 / 3)),                  # swung eighths
    dict(bpm=120, offbeat_snare=True),                   # a snare on every off-beat, louder than the beat
    dict(bpm=100, meter=3),                              # 3/4
    dict(bpm=128, meter=3, division=(0, 2 / 3)),          # a swung waltz
])
def test_beats_and_bars_hold_through_swing_syncopation_and_three_four(style):
    audio, truth = song(70, **style)
    result = analyse(audio)
    assert result.meter == truth.meter
    assert beats_f(result.beats, truth.beats) >= 0.95
    assert beats_f(result.downbeats, truth.downbeats) >= 0.95


def test_six_eight_bars_are_found_though_its_beat_is_counted_in_quarters():
    # 6/8 at 70 dotted quarters a minute: ScoreFit counts it as 3/4 at 105 (two eighths a
    # beat), which puts every bar line where the music's are; cuts need nothing more.
    audio, truth = song(70, bpm=70, meter=2, division=(0, 1 / 3, 2 / 3))
    result = analyse(audio)
    assert result.bpm == pytest.approx(105, rel=0.01) and result.meter == 3
    assert beats_f(result.downbeats, truth.downbeats) >= 0.95


def on_whole_beats(join, beats, tolerance=0.035):
    """The jump moves the music by a whole number of true beats (within ``tolerance``)."""
    index = np.arange(len(beats))
    jump = np.interp(join.source_to, beats, index) - np.interp(join.source_from, beats, index)
    return abs(jump - round(jump)) * np.median(np.diff(beats)) <= tolerance


def test_a_tempo_change_never_makes_a_join_stumble_off_the_beat():
    # 100 BPM, then 124 from 35 s: one tempo for the whole track cannot fit both halves,
    # but no join may shift the beat: the onsets around each jump must recur on it.
    audio, truth = song(80, bpm=100, tempo_step=(35.0, 124.0))
    for share in (0.45, 0.7):
        out, report = F.fit(audio, int(share * audio.frames), RATE)
        assert out.frames == int(share * audio.frames) and report.ending_kept
        assert all(on_whole_beats(join, truth.beats) for join in report.joins), report.joins


def test_a_jump_between_bar_lines_that_shifts_the_beat_is_known_to_slip():
    audio, truth = song(60, bpm=120)
    analysis = analyse(audio)
    slip = F.beat_slip(analysis)
    bars = analysis.downbeats.size
    # Whole bars: the rhythm recurs on the bar line.
    assert np.median(slip[np.triu_indices(bars, 2)]) < 0.05
    # The same bar lines a third of a beat late (a grid read at a 3:4 tempo): every jump
    # from a true bar line to one of those would shift the beat.
    late = dataclasses.replace(analysis, beats=analysis.beats + 0.5 / 3)
    shifted = np.concatenate([analysis.downbeats, late.downbeats])
    mixed = dataclasses.replace(analysis, beats=np.sort(np.concatenate([analysis.beats, late.beats])),
                                bar_position=np.where(np.isin(np.sort(np.concatenate([analysis.beats, late.beats])),
                                                              shifted), 0, 1))
    slip = F.beat_slip(mixed)
    true_lines = np.isin(mixed.downbeats, analysis.downbeats)
    across = slip[np.ix_(true_lines, ~true_lines)]
    assert np.median(across) > F.FitOptions.slip_sure
