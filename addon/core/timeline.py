"""The host-independent description of a timeline, and exact time arithmetic.

Every conversion goes through ``fractions.Fraction`` so that frames, seconds and
samples never drift: a 30-minute timeline at 29.97 fps must map to the same sample
count whichever way it is computed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
import math
from fractions import Fraction

from .errors import InputError

# Rates that are conventionally written as decimals but are really N*1000/1001.
_NTSC_NOMINALS = (24, 30, 48, 60, 120)
# The audio rates editors deliver at (Hz).
SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)
# Frame rates an editor's timeline runs at (frames a second): below 1 is a slide show,
# above 1000 no editor offers; outside, the arithmetic would only hide a typo.
FPS_RANGE = (1, 1000)
# The longest cut one soundtrack is made for (seconds): four hours holds any feature with
# its credits; past it a plan is hundreds of paid extends and the fit's memory (about
# 200 MB for 10 minutes, measured) passes what a workstation has to spare.
MAX_CUT_SECONDS = 4 * 3600
# The most markers read (a prompt of 3000 characters holds a few dozen sections: more
# markers than this are edit notes, not mood changes), so reading stays quick.
MAX_MARKERS = 2000


@dataclass(frozen=True)
class FrameRate:
    """An exact frame rate (``num / den`` frames per second)."""

    num: int
    den: int = 1
    drop_frame: bool = False

    def __post_init__(self):
        if self.num <= 0 or self.den <= 0:
            raise InputError(f"frame rate must be positive, got {self.num}/{self.den}")
        rate = Fraction(self.num, self.den)
        if not FPS_RANGE[0] <= rate <= FPS_RANGE[1]:
            shown = f"{float(rate):g}" if rate < 10 ** 6 else "over a million"
            raise InputError(f"a frame rate of {shown} fps is outside what editors use "
                             f"({FPS_RANGE[0]} to {FPS_RANGE[1]} fps)")
        if self.drop_frame and self.nominal not in (30, 60):
            raise InputError("drop-frame timecode exists only for 29.97 and 59.94 fps")

    @classmethod
    def parse(cls, value, drop_frame: bool = False) -> "FrameRate":
        """Read a rate as hosts write it: ``24``, ``"23.976"``, ``"29.97 DF"``, ``"30000/1001"``."""
        if isinstance(value, FrameRate):
            return value
        if isinstance(value, Fraction):
            return cls(value.numerator, value.denominator, drop_frame)
        text = str(value).strip()
        if text.upper().endswith("NDF"):
            text = text[:-3].strip()
        elif text.upper().endswith("DF"):
            drop_frame = True
            text = text[:-2].strip()
        try:
            if "/" in text:
                num, den = text.split("/", 1)
                return cls(int(num), int(den), drop_frame)
            rate = float(text)
            exact = Fraction(text).limit_denominator(1001)
        except InputError:
            raise
        except (ValueError, ZeroDivisionError, OverflowError):
            raise InputError(f"not a frame rate: {value!r} (expected 24, 23.976, 29.97 DF, "
                             "30000/1001 …)") from None
        for nominal in _NTSC_NOMINALS:
            # 23.976, 23.98, 29.97, 59.94 … all mean nominal*1000/1001.
            if abs(rate - nominal * 1000 / 1001) < 0.006:
                return cls(nominal * 1000, 1001, drop_frame)
        return cls(exact.numerator, exact.denominator, drop_frame)

    @classmethod
    def from_blender(cls, fps: int, fps_base: float) -> "FrameRate":
        # Blender stores 23.976 as fps=24, fps_base=1.001 (a float).
        if abs(fps_base - 1.001) < 1e-6:
            return cls(fps * 1000, 1001)
        return cls.parse(Fraction(fps) / Fraction(fps_base).limit_denominator(100000))

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)

    @property
    def nominal(self) -> int:
        """The integer rate that timecode counts in (30 for 29.97)."""
        return round(self.fraction)

    def __str__(self) -> str:
        value = float(self.fraction)
        text = f"{value:.3f}".rstrip("0").rstrip(".")
        return text + (" DF" if self.drop_frame else "")


@dataclass(frozen=True)
class Marker:
    """A timeline marker; ``frame`` counts from the timeline's first frame (0)."""

    frame: int
    name: str = ""
    note: str = ""
    color: str = ""
    duration: int = 1


@dataclass(frozen=True)
class Timeline:
    """What ScoreFit needs to know about the cut: how long, at what rate, where it starts."""

    fps: FrameRate
    duration_frames: int
    start_frame: int = 0
    name: str = ""
    markers: tuple = field(default_factory=tuple)
    sample_rate: int = 48000
    # Markers given but outside the cut: kept aside so the outcome can name them.
    dropped_markers: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        if self.duration_frames <= 0:
            raise InputError(
                f"the timeline is empty ({self.duration_frames} frames): "
                "set its end after its start")
        if self.sample_rate not in SAMPLE_RATES:
            raise InputError(f"unsupported audio sample rate {self.sample_rate} Hz")
        if self.duration_seconds > MAX_CUT_SECONDS:
            hours = self.duration_seconds / 3600
            shown = f"{float(hours):.3g}" if hours < 10 ** 9 else "billions of"
            raise InputError(f"the cut is {shown} hours long; ScoreFit fits soundtracks of up to "
                             f"{MAX_CUT_SECONDS // 3600} hours: split it into parts")
        if len(self.markers) > MAX_MARKERS:
            raise too_many_markers(len(self.markers))
        inside = tuple(sorted(
            (m for m in self.markers if 0 <= m.frame < self.duration_frames),
            key=lambda m: m.frame))
        outside = tuple(m for m in self.markers if not 0 <= m.frame < self.duration_frames)
        object.__setattr__(self, "markers", inside)
        object.__setattr__(self, "dropped_markers", self.dropped_markers + outside)

    # --- exact conversions -------------------------------------------------------
    def frames_to_seconds(self, frames) -> Fraction:
        return Fraction(frames) / self.fps.fraction

    def seconds_to_frames(self, seconds) -> int:
        return round(Fraction(seconds) * self.fps.fraction)

    def seconds_to_samples(self, seconds) -> int:
        return round(Fraction(seconds) * self.sample_rate)

    def frames_to_samples(self, frames) -> int:
        return round(Fraction(frames) * self.sample_rate / self.fps.fraction)

    @property
    def duration_seconds(self) -> Fraction:
        return self.frames_to_seconds(self.duration_frames)

    @property
    def duration_samples(self) -> int:
        """The length a fitted soundtrack must have: the exact duration rounded *up*, never a
        sample short, because hosts that count an audio file's whole frames floor them
        (Resolve would otherwise see a 29.97 fps cut one frame short)."""
        return math.ceil(self.duration_seconds * self.sample_rate)

    @property
    def end_frame(self) -> int:
        """The first frame after the timeline (exclusive end)."""
        return self.start_frame + self.duration_frames

    def marker_seconds(self, marker: Marker) -> Fraction:
        return self.frames_to_seconds(marker.frame)

    def timecode(self, frames: int) -> str:
        return frames_to_timecode(frames, self.fps)

    @property
    def duration_timecode(self) -> str:
        return frames_to_timecode(self.duration_frames, self.fps)

    # --- serialisation (for the command line and for sidecars) -------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "fps": f"{self.fps.num}/{self.fps.den}",
            "drop_frame": self.fps.drop_frame,
            "start_frame": self.start_frame,
            "duration_frames": self.duration_frames,
            "sample_rate": self.sample_rate,
            "markers": [vars(m).copy() for m in self.markers],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Timeline":
        """Build from JSON. ``duration_frames`` or ``duration_seconds`` must be given; a
        field that cannot be read raises :class:`InputError` naming it."""
        if "fps" not in data:
            raise InputError("the timeline needs an 'fps' (for example 24 or \"23.976\")")
        fps = FrameRate.parse(data["fps"], bool(data.get("drop_frame", False)))
        if "duration_frames" in data:
            frames = _whole(data["duration_frames"], "duration_frames")
        elif "duration_seconds" in data:
            frames = round(_exact(data["duration_seconds"], "duration_seconds") * fps.fraction)
        else:
            raise InputError("the timeline needs 'duration_frames' or 'duration_seconds'")
        markers = []
        given = data.get("markers", ())
        if not isinstance(given, (list, tuple)):
            raise InputError("'markers' must be a list")
        if len(given) > MAX_MARKERS:       # said before reading a single one
            raise too_many_markers(len(given))
        for number, raw in enumerate(given, 1):
            what = f"marker {number}"
            if not isinstance(raw, dict):
                raise InputError(f"{what} is not an object with 'frame' or 'seconds'")
            if "frame" in raw:
                frame = _whole(raw["frame"], f"{what}'s frame")
            elif "seconds" in raw:
                frame = round(_exact(raw["seconds"], f"{what}'s seconds") * fps.fraction)
            else:
                raise InputError(f"{what} needs a 'frame' or 'seconds'")
            markers.append(Marker(
                frame=frame, name=str(raw.get("name", "")),
                note=str(raw.get("note", "")), color=str(raw.get("color", "")),
                duration=_whole(raw.get("duration", 1), f"{what}'s duration")))
        return cls(fps=fps, duration_frames=frames,
                   start_frame=_whole(data.get("start_frame", 0), "start_frame"),
                   name=str(data.get("name", "")), markers=tuple(markers),
                   sample_rate=_whole(data.get("sample_rate", 48000), "sample_rate"))


def too_many_markers(count: int) -> InputError:
    return InputError(f"the timeline has {count} markers; ScoreFit reads at most {MAX_MARKERS} (a prompt "
                      "holds a few dozen mood changes): remove edit notes")


def _exact(value, what: str) -> Fraction:
    """A number of seconds as JSON or a command line gives it, exactly."""
    try:
        return Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{what} must be a number of seconds (for example 42.5), not {value!r}") from None


def _whole(value, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise InputError(f"{what} must be a whole number, not {value!r}")
    return int(value)


# --- timecode -------------------------------------------------------------------
_TIMECODE = re.compile(r"^(\d{1,2})[:;.](\d{2})[:;.](\d{2})([:;.])(\d{2,3})$")


def _drop_per_minute(fps: FrameRate) -> int:
    return 2 * fps.nominal // 30  # 2 frame numbers at 29.97, 4 at 59.94


def frames_to_timecode(frames: int, fps: FrameRate) -> str:
    """Frame count (from 00:00:00:00) to SMPTE timecode; ``;`` marks drop frame."""
    nominal = fps.nominal
    sign = "-" if frames < 0 else ""
    frames = abs(int(frames))
    separator = ":"
    if fps.drop_frame:
        separator = ";"
        drop = _drop_per_minute(fps)
        per_minute = nominal * 60 - drop
        per_ten = per_minute * 10 + drop
        tens, rest = divmod(frames, per_ten)
        if rest > drop:
            frames += drop * 9 * tens + drop * ((rest - drop) // per_minute)
        else:
            frames += drop * 9 * tens
    ff = frames % nominal
    ss = frames // nominal % 60
    mm = frames // (nominal * 60) % 60
    hh = frames // (nominal * 3600)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}{separator}{ff:02d}"


def timecode_to_frames(timecode: str, fps: FrameRate) -> int:
    """SMPTE timecode to a frame count at the nominal rate, as Resolve numbers frames."""
    match = _TIMECODE.match(timecode.strip())
    if not match:
        raise InputError(f"not a timecode: {timecode!r} (expected HH:MM:SS:FF)")
    hh, mm, ss, sep, ff = match.groups()
    hh, mm, ss, ff = int(hh), int(mm), int(ss), int(ff)
    nominal = fps.nominal
    if ff >= nominal or mm >= 60 or ss >= 60:
        raise InputError(f"timecode {timecode!r} is out of range at {fps} fps")
    total = ((hh * 60 + mm) * 60 + ss) * nominal + ff
    if fps.drop_frame or sep == ";":
        if fps.nominal in (30, 60):
            total_minutes = hh * 60 + mm
            total -= _drop_per_minute(fps) * (total_minutes - total_minutes // 10)
    return total
