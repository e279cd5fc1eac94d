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

@dataclass(frozen=True)
class EndingOptions:
    """Every tuned number of how an ending is read, with its unit and why."""
    audible_below_loud_db: float = 30.0  # dB under the loud level where a listener hears the music end:
                                         # a fade or ring below it is masked by any room or mix, and
                                         # landing the -45 dB tail left seconds of near-silence
    loud_percentile: float = 95.0       # the music's loud level: this percentile of its 50 ms levels
    smoothing: float = 0.05             # s, the level is a moving average over this
    hard_stop_seconds: float = 1.0      # s, a final hit gone within this is a hard stop
    blip_seconds: float = 0.1           # s, sound this short after true silence is a click, not a note
    true_silence_db: float = 15.0       # dB below the audible threshold: nothing is playing
    run_on_seconds: float = 0.1         # s, sound this close to the file's end, still loud, runs on (a loop)
    run_on_loud_db: float = 12.0        # dB under the active level (90th percentile): still playing
    final_hit_search: float = 20.0      # s before the end searched for the final hit
    final_hit_loud_db: float = 20.0     # dB under the active level: a final hit is played loud
    fade_seconds: float = 3.0           # s, a wind-down this long after the last loud moment is a fade-out
    fade_near_db: float = 4.0           # dB under the active level: still playing before a fade
    fade_smoothing: float = 0.5         # s, the level's smoothing when finding where a fade starts
    fade_assumed: float = 4.0           # s, a fade whose start cannot be found is taken to last this
    # How much of a tail may be faded sooner without losing the ending (s, or a share of it):
    ring_kept: tuple = (0.25, 0.2)      # a ring keeps at least this, or this share of itself
    fade_trimmable: float = 0.6         # a studio fade may simply fade faster
    hard_stop_kept: float = 0.12        # s of a hard stop's decay always kept


OPTIONS = EndingOptions()


@dataclass(frozen=True)
class Ending:
    shape: str                   # ring-out | hard stop | fade-out | none
    end_of_sound: float          # seconds: the audible end; only what a listener no longer hears
                                 # (``audible_below_loud_db`` under the music's loud level) follows
    landmark: float              # seconds: the final hit's attack, or where the fade starts
    file_end: float
    options: EndingOptions = OPTIONS

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
            return max(0.0, self.tail - max(self.options.ring_kept[0], self.options.ring_kept[1] * self.tail))
        if self.shape == "fade-out":
            return self.options.fade_trimmable * self.tail
        if self.shape == "hard stop":
            return max(0.0, self.tail - self.options.hard_stop_kept)
        return 0.0


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    width = max(1, width)
    return np.convolve(values, np.ones(width) / width, mode="same")


def _levels(analysis: Analysis, options: EndingOptions) -> tuple[np.ndarray, float, np.ndarray]:
    """(level in dB per onset frame, the music's active level, frames a listener hears)."""
    power = _smooth(10 ** (analysis.frames.loudness / 10), int(options.smoothing / analysis.frames.seconds_per_frame))
    level = 10 * np.log10(power + 1e-12)
    active = float(np.percentile(level, 90))
    audible = float(np.percentile(level, options.loud_percentile)) - options.audible_below_loud_db
    sounding = np.flatnonzero(level > audible)
    shortest = int(options.blip_seconds / analysis.frames.seconds_per_frame)
    return level, active, _without_end_blips(sounding, level, audible - options.true_silence_db, shortest)


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


def start_of_sound(analysis: Analysis, options: EndingOptions = OPTIONS) -> float:
    """Seconds of near-silence before the music starts: a file's own lead-in, which a fit may
    shorten without losing a note."""
    _, _, sounding = _levels(analysis, options)
    if sounding.size == 0:
        return 0.0
    # The smoothing spreads the first attack earlier by up to half its window.
    return max(0.0, sounding[0] * analysis.frames.seconds_per_frame - options.smoothing / 2)


def find_ending(analysis: Analysis, options: EndingOptions = OPTIONS) -> Ending:
    """How the music ends (``Ending.shape``) and where: its audible end and its landmark."""
    o = options
    frames = analysis.frames
    spf = frames.seconds_per_frame
    level, active, sounding = _levels(analysis, o)
    file_end = analysis.duration
    if sounding.size == 0:
        return Ending("none", file_end, file_end, file_end, o)
    # The smoothing holds the level up for half its window after the sound has gone.
    end_of_sound = min(file_end, (sounding[-1] + 1) * spf - o.smoothing / 2)
    last_second = level[max(0, int((end_of_sound - 1.0) / spf)):int(end_of_sound / spf) + 1]
    if file_end - end_of_sound < o.run_on_seconds and last_second.size and \
            np.median(last_second) > active - o.run_on_loud_db:
        return Ending("none", end_of_sound, end_of_sound, file_end, o)
    # The final event: the last strong attack that is played loud.
    novelty = frames.novelty
    strong = np.percentile(novelty[novelty > 0], 90) if np.any(novelty > 0) else 0.0
    window = np.arange(max(0, int((end_of_sound - o.final_hit_search) / spf)), int(end_of_sound / spf))
    peaks = window[(novelty[window] >= strong) & (level[window] > active - o.final_hit_loud_db)]
    fade_start = _fade_start(level, active, end_of_sound, spf, o)
    if peaks.size == 0:
        return Ending("fade-out", end_of_sound, fade_start, file_end, o)
    hit = peaks[-1] * spf
    # A fade-out keeps playing while it fades: its last attacks are far below the active level.
    if end_of_sound - fade_start > o.fade_seconds and fade_start < hit:
        return Ending("fade-out", end_of_sound, fade_start, file_end, o)
    shape = "hard stop" if end_of_sound - hit <= o.hard_stop_seconds else "ring-out"
    return Ending(shape, end_of_sound, hit, file_end, o)


def _fade_start(level: np.ndarray, active: float, end: float, spf: float, options: EndingOptions) -> float:
    """The last time before ``end`` at which the music still played near its active level."""
    slow = _smooth(level, int(options.fade_smoothing / spf))
    near = np.flatnonzero(slow[:int(end / spf)] > active - options.fade_near_db)
    return float(near[-1] * spf) if near.size else max(0.0, end - options.fade_assumed)
