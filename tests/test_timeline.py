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
def test_a_fitted_file_is_never_a_frame_short_in_a_host_that_floors_frames(text):
    # Resolve counts an audio file's length in whole frames, rounding down: the soundtrack's
    # sample count must give back exactly the cut's frames at every rate and length, and a
    # sample less must not (so the count is the least that works, never padded).
    fps = FrameRate.parse(text)
    for rate in (44100, 48000):
        for frames in (1, 7, 1349, round(90 * 60 * fps.fraction) + 1):
            samples = Timeline(fps=fps, duration_frames=frames, sample_rate=rate).duration_samples
            assert math.floor(Fraction(samples, rate) * fps.fraction) == frames
            assert math.floor(Fraction(samples - 1, rate) * fps.fraction) == frames - 1


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
