"""How a piece of music ends, which decides where its ending lands on the timeline.

- ring-out: a last chord or hit that decays by itself; the decay finishes on the last frame.
- hard stop: the band stops on a hit; the hit lands on the last frame(s).
- fade-out: the recording fades while still playing; the fade finishes on the last frame.
- none: the music runs to the end of the file (a loop, or a clip cut mid-phrase); it is
  faded over a phrase from a bar line instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analysis import Analysis

AUDIBLE_BELOW_LOUD_DB = 30.0     # dB under the music's loud level (LOUD_PERCENTILE) where a listener
                                 # hears its end: a fade or ring below it is masked by any room or
                                 # mix, so landing the -45 dB tail instead left seconds of near-silence
LOUD_PERCENTILE = 95.0           # the music's loud level: this percentile of its 50 ms levels
SMOOTHING = 0.05                 # seconds: the level is a moving average over this
HARD_STOP_SECONDS = 1.0          # a final hit that is gone within this is a hard stop
BLIP_SECONDS = 0.1               # sound this short, after true silence, is a click, not a note
TRUE_SILENCE_DB = 15.0           # below the silence threshold by this much: nothing is playing


@dataclass(frozen=True)
class Ending:
    shape: str                   # ring-out | hard stop | fade-out | none
    end_of_sound: float          # seconds: the audible end; only what a listener no longer hears
                                 # (AUDIBLE_BELOW_LOUD_DB under the music's loud level) follows
    landmark: float              # seconds: the final hit's attack, or where the fade starts
    file_end: float

    @property
    def tail(self) -> float:
        """Seconds from the landmark to the end of the sound: what must follow the hit."""
        return self.end_of_sound - self.landmark

    @property
    def has_ending(self) -> bool:
        return self.shape != "none"

    @property
    def trimmable(self) -> float:
        """How much of the tail may be shortened (faded sooner) without losing the ending."""
        if self.shape == "ring-out":
            # A ring faded sooner is better than the music stopping before the picture does.
            return max(0.0, self.tail - max(0.25, 0.2 * self.tail))
        if self.shape == "fade-out":
            return 0.6 * self.tail      # a studio fade may simply fade faster
        if self.shape == "hard stop":
            return max(0.0, self.tail - 0.12)
        return 0.0


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    width = max(1, width)
    return np.convolve(values, np.ones(width) / width, mode="same")


def _levels(analysis: Analysis) -> tuple[np.ndarray, float, np.ndarray]:
    """(level in dB per onset frame, the music's active level, frames a listener hears)."""
    power = _smooth(10 ** (analysis.frames.loudness / 10), int(SMOOTHING / analysis.frames.seconds_per_frame))
    level = 10 * np.log10(power + 1e-12)
    active = float(np.percentile(level, 90))
    audible = float(np.percentile(level, LOUD_PERCENTILE)) - AUDIBLE_BELOW_LOUD_DB
    sounding = np.flatnonzero(level > audible)
    shortest = int(BLIP_SECONDS / analysis.frames.seconds_per_frame)
    return level, active, _without_end_blips(sounding, level, audible - TRUE_SILENCE_DB, shortest)


def _without_end_blips(sounding: np.ndarray, level: np.ndarray, silent: float, shortest: int) -> np.ndarray:
    """Drop a short burst after true silence, before the music starts or after it ends: a
    click where a file was cut or encoded (seen in real soundtracks: 20 ms at -37 dB, after
    the level had fallen 75 dB) would otherwise be taken for the last sound and land on the
    last frame. A ring or fade whose tail flickers about the threshold is no burst: between
    its flickers the level stays near the threshold, never at silence."""
    gaps = np.flatnonzero(np.diff(sounding) > 1)
    if gaps.size == 0:
        return sounding
    last = gaps[-1] + 1
    if sounding.size - last < shortest and level[sounding[last - 1] + 1:sounding[last]].min() < silent:
        sounding = sounding[:last]
        gaps = gaps[:-1]
    if gaps.size and gaps[0] + 1 < shortest and level[sounding[gaps[0]] + 1:sounding[gaps[0] + 1]].min() < silent:
        sounding = sounding[gaps[0] + 1:]
    return sounding


def start_of_sound(analysis: Analysis) -> float:
    """Seconds of near-silence before the music starts: a file's own lead-in, which a fit may
    shorten without losing a note."""
    _, _, sounding = _levels(analysis)
    if sounding.size == 0:
        return 0.0
    # The smoothing spreads the first attack earlier by up to half its window.
    return max(0.0, sounding[0] * analysis.frames.seconds_per_frame - SMOOTHING / 2)


def find_ending(analysis: Analysis) -> Ending:
    frames = analysis.frames
    spf = frames.seconds_per_frame
    level, active, sounding = _levels(analysis)
    file_end = analysis.duration
    if sounding.size == 0:
        return Ending("none", file_end, file_end, file_end)
    # The smoothing holds the level up for half its window after the sound has gone.
    end_of_sound = min(file_end, (sounding[-1] + 1) * spf - SMOOTHING / 2)
    last_second = level[max(0, int((end_of_sound - 1.0) / spf)):int(end_of_sound / spf) + 1]
    if file_end - end_of_sound < 0.1 and last_second.size and np.median(last_second) > active - 12:
        return Ending("none", end_of_sound, end_of_sound, file_end)
    # The final event: the last strong attack that is played loud.
    novelty = frames.novelty
    strong = np.percentile(novelty[novelty > 0], 90) if np.any(novelty > 0) else 0.0
    window = np.arange(max(0, int((end_of_sound - 20.0) / spf)), int(end_of_sound / spf))
    peaks = window[(novelty[window] >= strong) & (level[window] > active - 20)]
    fade_start = _fade_start(level, active, end_of_sound, spf)
    if peaks.size == 0:
        return Ending("fade-out", end_of_sound, fade_start, file_end)
    hit = peaks[-1] * spf
    # A fade-out keeps playing while it fades: its last attacks are far below the active level.
    if end_of_sound - fade_start > 3.0 and fade_start < hit:
        return Ending("fade-out", end_of_sound, fade_start, file_end)
    shape = "hard stop" if end_of_sound - hit <= HARD_STOP_SECONDS else "ring-out"
    return Ending(shape, end_of_sound, hit, file_end)


def _fade_start(level: np.ndarray, active: float, end: float, spf: float) -> float:
    """The last time before ``end`` at which the music still played near its active level."""
    slow = _smooth(level, int(0.5 / spf))
    near = np.flatnonzero(slow[:int(end / spf)] > active - 4)
    return float(near[-1] * spf) if near.size else max(0.0, end - 4.0)
