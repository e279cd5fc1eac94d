"""Ducking: the music lowered where dialogue plays, as a broadcast ducker does it.

Speech is found in the dialogue's own audio (energy in the speech band, no model): each
20-ms frame whose 300-3400 Hz energy stands clear of the track's quiet floor is active;
gaps shorter than a breath are bridged and blips dropped. The music's gain then follows
one piecewise-linear curve of (seconds, dB) points: down over the look-ahead before
speech, held under it and for ``hold`` after, back up over ``release``. The same points
are the keyframes a host writes (Blender's volume, FCPXML), so what is heard and what the
editor can move are one thing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audio import Audio, conform


@dataclass(frozen=True)
class DuckOptions:
    """Every tuned number of the ducker, with its unit and reason."""
    depth_db: float = -10.0       # dB under speech: dialogue stays clearly on top (broadcast practice)
    lookahead: float = 0.015      # s: the music starts down this early (Resolve's ducker: 15 ms)
    hold: float = 0.15            # s: kept down after speech, so words' tails are not chased (150 ms)
    release: float = 0.75         # s: back up over this long (750 ms): no pumping
    breath: float = 0.6           # s: gaps shorter than this stay ducked (a breath between phrases)
    shortest: float = 0.12        # s: activity shorter than this is a click, not speech
    frame: float = 0.02           # s: analysis frames
    band: tuple = (300.0, 3400.0)     # Hz: the speech band
    clear_db: float = 12.0        # dB above the track's quiet floor that counts as speech
    floor_percentile: float = 10.0    # the quiet floor: this percentile of the frames' energy


def activity(voice: Audio, options: DuckOptions = DuckOptions()) -> np.ndarray:
    """Per analysis frame, whether speech plays (energy in the speech band)."""
    mono = voice.samples.mean(axis=1)
    size = max(1, int(round(options.frame * voice.rate)))
    frames = len(mono) // size
    if not frames:
        return np.zeros(0, bool)
    blocks = mono[:frames * size].reshape(frames, size) * np.hanning(size)
    spectrum = np.abs(np.fft.rfft(blocks, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1 / voice.rate)
    band = (freqs >= options.band[0]) & (freqs <= options.band[1])
    energy = 10 * np.log10(spectrum[:, band].sum(axis=1) + 1e-12)
    floor = np.percentile(energy, options.floor_percentile)
    return energy > max(floor + options.clear_db, energy.max() - 60.0)


def regions(active: np.ndarray, options: DuckOptions = DuckOptions()) -> list[tuple[float, float]]:
    """Where speech plays, in seconds: breaths bridged, clicks dropped."""
    spans, start = [], None
    for i, on in enumerate(np.append(active, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            spans.append([start * options.frame, i * options.frame])
            start = None
    merged = []
    for span in spans:
        if merged and span[0] - merged[-1][1] < options.breath:
            merged[-1][1] = span[1]
        else:
            merged.append(span)
    return [(a, b) for a, b in merged if b - a >= options.shortest]


def keyframes(spans: list[tuple[float, float]], options: DuckOptions = DuckOptions()) -> list[tuple[float, float]]:
    """The gain curve as (seconds, dB) points: 0 dB outside speech, ``depth_db`` under it."""
    points: list[tuple[float, float]] = []
    for start, end in spans:
        down, up, back = max(0.0, start - options.lookahead), end + options.hold, end + options.hold + options.release
        if points and down <= points[-1][0]:       # still coming back up: stay down instead
            points = points[:-1]
        else:
            points.append((down, 0.0))
        points += [(start, options.depth_db), (up, options.depth_db), (back, 0.0)]
    return [(round(t, 4), db) for t, db in points]


def duck(music: Audio, voices: list[Audio], options: DuckOptions = DuckOptions()) -> tuple[Audio, dict]:
    """``music`` lowered wherever any of ``voices`` speaks (each starts with the music)."""
    active = np.zeros(0, bool)
    for voice in voices:
        found = activity(conform(voice, music.rate, voice.channels), options)
        if len(found) > len(active):
            found, active = active, found
        active[:len(found)] |= found
    spans = regions(active, options)
    points = keyframes(spans, options)
    if not points:
        return music, {"depth_db": options.depth_db, "speech": [], "keyframes": []}
    times = np.arange(music.frames) / music.rate
    gain_db = np.interp(times, [t for t, _ in points], [db for _, db in points], left=0.0, right=0.0)
    samples = music.samples * (10 ** (gain_db / 20)).astype(np.float32)[:, None]
    return Audio(samples, music.rate), {"depth_db": options.depth_db, "speech": [list(s) for s in spans],
                                        "keyframes": [list(p) for p in points]}


ANALYSIS_RATE = 16000        # Hz: the speech band fits; dialogue laid out for analysis at this rate


def speech_keyframes(voices: list[tuple[Audio, float]], seconds: float,
                     options: DuckOptions = DuckOptions()) -> tuple[list, list]:
    """(speech spans, gain keyframes) for music ``seconds`` long under dialogue clips, each
    given with where it starts relative to the music (seconds; earlier is negative)."""
    total = np.zeros(max(1, int(seconds * ANALYSIS_RATE)), np.float32)
    for voice, at in voices:
        mono = conform(voice, ANALYSIS_RATE, 1).samples[:, 0]
        first = int(round(at * ANALYSIS_RATE))
        skip = max(0, -first)
        stop = min(len(total), first + len(mono))
        if stop > max(0, first):
            total[max(0, first):stop] += mono[skip:skip + stop - max(0, first)]
    spans = regions(activity(Audio(total[:, None], ANALYSIS_RATE), options), options)
    return spans, keyframes(spans, options)
