import math
from fractions import Fraction

import pytest

from scorefit.core.timeline import FrameRate, Marker, Timeline, frames_to_timecode, timecode_to_frames

RATES = {  # as hosts write them -> exact rate
    "23.976": Fraction(24000, 1001), "24": Fraction(24), "25": Fraction(25),
    "29.97": Fraction(30000, 1001), "30": Fraction(30), "50": Fraction(50),
    "59.94": Fraction(60000, 1001), "60": Fraction(60),
}


@pytest.mark.parametrize("text,exact", RATES.items())
def test_rates_parse_exactly(text, exact):
    assert FrameRate.parse(text).fraction == exact
    assert FrameRate.parse(float(text)).fraction == exact


@pytest.mark.parametrize("text", RATES)
@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("minutes", [0.33, 3, 12, 30, 90])
def test_frames_seconds_samples_do_not_drift(text, rate, minutes):
    fps = FrameRate.parse(text)
    frames = round(minutes * 60 * fps.fraction)
    tl = Timeline(fps=fps, duration_frames=frames, sample_rate=rate)
    exact = Fraction(frames) / fps.fraction * rate
    assert tl.duration_samples == math.ceil(exact)
    # Adding frame by frame in pieces gives the same total as converting the whole.
    half = frames // 2
    assert tl.seconds_to_frames(tl.frames_to_seconds(half)) == half
    assert tl.frames_to_seconds(half) + tl.frames_to_seconds(frames - half) == tl.duration_seconds


def test_blender_rate_with_fps_base():
    assert FrameRate.from_blender(24, 1.001).fraction == Fraction(24000, 1001)
    assert FrameRate.from_blender(30, 1.001).fraction == Fraction(30000, 1001)
    assert FrameRate.from_blender(25, 1.0).fraction == 25


@pytest.mark.parametrize("tc,fps,frames", [
    ("01:00:00:00", "24", 86400), ("01:00:00:00", "23.976", 86400), ("01:00:00:00", "29.97", 108000),
    ("01:00:00:00", "25", 90000), ("00:01:00;02", "29.97 DF", 1800), ("01:00:00;00", "29.97 DF", 107892),
    ("00:10:00;00", "29.97 DF", 17982), ("00:01:00;04", "59.94 DF", 3600),
])
def test_timecode_round_trip(tc, fps, frames):
    rate = FrameRate.parse(fps)
    assert timecode_to_frames(tc, rate) == frames
    assert frames_to_timecode(frames, rate) == tc


def test_drop_frame_skips_labels_each_minute_but_tenth():
    df = FrameRate.parse("29.97 DF")
    assert frames_to_timecode(1799, df) == "00:00:59;29"
    assert frames_to_timecode(1800, df) == "00:01:00;02"
    assert frames_to_timecode(17982, df) == "00:10:00;00"


def test_markers_outside_the_timeline_are_dropped_and_sorted():
    tl = Timeline(FrameRate(24), 240, markers=(Marker(200, "b"), Marker(10, "a"), Marker(240, "out"),
                                               Marker(-5, "before")))
    assert [m.name for m in tl.markers] == ["a", "b"]


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="empty"):
        Timeline(FrameRate(24), 0)
    with pytest.raises(ValueError, match="frame rate"):
        FrameRate.parse("fast")
    with pytest.raises(ValueError, match="timecode"):
        timecode_to_frames("1:00", FrameRate(24))
    with pytest.raises(ValueError, match="duration"):
        Timeline.from_dict({"fps": 24})


def test_dict_round_trip_with_seconds_markers():
    tl = Timeline.from_dict({"fps": "29.97", "duration_seconds": 60, "start_frame": 108000,
                             "markers": [{"seconds": 30, "name": "tense"}]})
    assert tl.duration_frames == 1798 and tl.markers[0].frame == 899
    assert Timeline.from_dict(tl.to_dict()) == tl
