"""Synthetic music with known ground truth, for the fit engine's tests.

Unlike the emulator's songs, these vary what real music varies: metre (3 or 4), tempo
drift, the ending's shape (ring-out, hard stop, fade-out, or none: a loop that just
stops), sections of different loudness, and silence before the first note.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorefit.core.audio import Audio

PROGRESSION = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))


@dataclass
class Truth:
    beats: np.ndarray            # seconds
    downbeats: np.ndarray        # seconds
    meter: int
    bpm: float
    ending: str                  # ring | hard | fade | none
    final_hit: float | None      # seconds: the last chord's attack
    end_of_sound: float          # seconds


def _tone(freq, n, rate, decay):
    t = np.arange(n) / rate
    return np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)


def song(seconds=60.0, *, bpm=120.0, meter=4, ending="ring", rate=48000, drift=0.0,
         lead_in=0.0, loud_bars=(), key=0, channels=2, ring_seconds=4.0, seed=1,
         kicks=None, division=(0.0, 0.5), offbeat_snare=False, tempo_step=None) -> tuple[Audio, Truth]:
    """A song of about ``seconds``: kick on every beat (louder on 1), a chord per bar,
    hats off the beat. ``drift`` is the tempo change over the song (0.04 = 4 % faster
    at the end). ``loud_bars`` are bar indices played 12 dB louder (a tutti).
    ``kicks`` puts the kicks on these eighth notes of the bar instead, with hats on every
    eighth: (0, 3, 6) is the 3-3-2 of much pop and Latin music, whose kicks recur every
    beat and a half. ``division`` places the notes within each beat: (0, 2/3) swings the
    eighths, (0, 1/3, 2/3) is a compound metre (6/8 with ``meter=2``). ``offbeat_snare``
    puts a loud snare on every note off the beat (syncopation that out-hits the beat).
    ``tempo_step`` = (seconds, bpm) changes the tempo there at once."""
    rng = np.random.default_rng(seed)
    beat0 = 60.0 / bpm
    # Beat times with a linear tempo change.
    beats = [lead_in]
    while beats[-1] < seconds:
        progress = beats[-1] / seconds
        step = beat0 if tempo_step is None or beats[-1] < tempo_step[0] else 60.0 / tempo_step[1]
        beats.append(beats[-1] + step / (1 + drift * progress))
    body_beats = np.array(beats)
    bars = (len(body_beats) - 1) // meter
    if ending == "none":
        body_beats = body_beats[:bars * meter + 1]
    else:
        # The final chord lands on the downbeat after the last full bar.
        body_beats = body_beats[:bars * meter + 1]
    final_hit = body_beats[-1]
    tail = {"ring": ring_seconds, "hard": 0.25, "fade": 0.0, "none": 0.0}[ending]
    total = final_hit + tail + (0.5 if ending != "none" else 0.0)
    n = int(total * rate) + 1
    out = np.zeros(n)
    pad = np.zeros(n)
    for bar in range(bars):
        start = body_beats[bar * meter]
        end = body_beats[(bar + 1) * meter]
        gain = 4.0 if bar in loud_bars else 1.0
        chord = PROGRESSION[bar % 4]
        s, e = int(start * rate), int(end * rate)
        t = np.arange(e - s) / rate
        env = np.minimum(1, t / 0.01) * np.minimum(1, (e - s - np.arange(e - s)) / (0.01 * rate))
        voice = sum(np.sin(2 * np.pi * 220 * 2 ** ((key + c) / 12) * t) for c in chord)
        voice += 0.8 * np.sin(2 * np.pi * 110 * 2 ** ((key + chord[0]) / 12) * t)
        pad[s:e] += 0.05 * gain * env * voice
        bar_beats = body_beats[bar * meter:(bar + 1) * meter + 1]
        where = (np.arange(meter)[:, None] + np.asarray(division)[None, :]).ravel()
        eighths = np.interp(where, np.arange(meter + 1), bar_beats)
        for e, at in enumerate(eighths):
            kick = e in kicks if kicks is not None else e % len(division) == 0
            if offbeat_snare and e % len(division):
                h = int(at * rate)
                hk = min(int(0.12 * rate), n - h)
                out[h:h + hk] += 0.35 * gain * rng.standard_normal(hk) * np.exp(-np.arange(hk) / (0.03 * rate))
            if kick:
                i = int(at * rate)
                k = min(int(0.15 * rate), n - i)
                level = (0.5 if e == 0 else 0.25) * gain
                tt = np.arange(k) / rate
                out[i:i + k] += level * np.exp(-tt / 0.04) * np.sin(2 * np.pi * 50 * tt + 10 * np.exp(-tt / 0.008))
            if kicks is not None or e % len(division):
                h = int(at * rate)
                hk = min(int(0.03 * rate), n - h)
                out[h:h + hk] += 0.06 * gain * rng.standard_normal(hk) * np.exp(-np.arange(hk) / (0.008 * rate))
    mix = out + pad
    if ending in ("ring", "hard"):
        i = int(final_hit * rate)
        k = int(tail * rate)
        decay = ring_seconds / 6.9 if ending == "ring" else 0.04
        chord = sum(_tone(220 * 2 ** ((key + c) / 12), k, rate, decay) for c in PROGRESSION[0])
        chord += _tone(110 * 2 ** (key / 12), k, rate, decay)
        hit = _tone(50, k, rate, 0.06) * 1.2
        mix[i:i + k] += 0.25 * chord + hit
        if ending == "hard":
            mix[i + k - int(0.02 * rate):i + k] *= np.linspace(1, 0, int(0.02 * rate))
        end_of_sound = final_hit + tail
    elif ending == "fade":
        fade_len = 6.0
        fs = int((final_hit - fade_len) * rate)
        fe = int(final_hit * rate)
        mix[fs:fe] *= np.linspace(1, 0, fe - fs) ** 2
        mix[fe:] = 0
        end_of_sound = final_hit
        final_hit = None
    else:
        end_of_sound = total
        final_hit = None
    mix = mix / max(1.0, np.abs(mix).max() / 0.9)
    samples = np.repeat(mix[:, None], channels, axis=1).astype(np.float32)
    downbeats = body_beats[:bars * meter:meter]
    truth = Truth(body_beats[:bars * meter], downbeats, meter, bpm, ending, final_hit, end_of_sound)
    return Audio(samples, rate), truth


def ambient(seconds=40.0, rate=48000, ending="fade") -> Audio:
    """Slowly moving pads with no pulse at all."""
    t = np.arange(int(seconds * rate)) / rate
    mix = sum(np.sin(2 * np.pi * f * t + np.sin(0.1 * t * (i + 1))) * (0.5 + 0.5 * np.sin(0.05 * t * (i + 2)))
              for i, f in enumerate((110, 164.8, 220, 277.2)))
    mix *= 0.1
    if ending == "fade":
        k = int(8 * rate)
        mix[-k:] *= np.linspace(1, 0, k) ** 2
    return Audio(np.repeat(mix[:, None], 2, axis=1).astype(np.float32), rate)
