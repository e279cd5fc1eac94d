"""Test music for the emulator: simple, but with the structure fitting relies on.

A song has one tempo and key for its whole life (create and every extend), so a
continuation keeps tempo and phase: every clip is a window onto one global song clock.
Each 4/4 bar is a chord (I-V-vi-IV) under a pulse on every beat (the downbeat louder);
higher-energy sections add off-beat hats; an ending is a held tonic that decays to
silence over two bars. Bars are rendered once per (tempo, key, rate) and reused.
"""
from __future__ import annotations

import hashlib
import io
import math
import random
import wave
from array import array
from dataclasses import dataclass
from functools import lru_cache

TEMPOS = (84, 96, 104, 112, 120, 128)
PROGRESSION = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))  # I V vi IV, semitones
ENDING_BARS = 2

CALM_WORDS = ("calm", "ambient", "soft", "gentle", "sad", "quiet", "peaceful", "slow", "intro", "outro")
ENERGY_WORDS = ("energetic", "driving", "epic", "intense", "action", "upbeat", "fast", "chorus", "climax")


def energy_of(text: str) -> int:
    text = text.lower()
    if any(w in text for w in ENERGY_WORDS):
        return 2
    if any(w in text for w in CALM_WORDS):
        return 0
    return 1


@dataclass(frozen=True)
class Style:
    bpm_nominal: int
    key: int              # semitones above A2 (110 Hz)
    sample_rate: int

    @classmethod
    def from_text(cls, text: str, sample_rate: int) -> "Style":
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return cls(TEMPOS[digest[0] % len(TEMPOS)], digest[1] % 12, sample_rate)

    @property
    def bar_samples(self) -> int:
        # A whole number of samples per bar keeps every bar line on a sample.
        return round(self.sample_rate * 240 / self.bpm_nominal)

    @property
    def bpm(self) -> float:
        return 240 * self.sample_rate / self.bar_samples

    @property
    def bar_seconds(self) -> float:
        return self.bar_samples / self.sample_rate


def _freq(semitones_above_a2: float) -> float:
    return 110.0 * 2 ** (semitones_above_a2 / 12)


def _render_bar(style: Style, chord: int, energy: int, ending_part: int = -1) -> bytes:
    """One stereo 16-bit bar. ``ending_part`` 0/1 renders the decaying final chord."""
    n = style.bar_samples
    sr = style.sample_rate
    beat = n // 4
    notes = [_freq(style.key + s + 12) for s in PROGRESSION[0 if ending_part >= 0 else chord]]
    bass = _freq(style.key + PROGRESSION[0 if ending_part >= 0 else chord][0])
    left = array("f", bytes(4 * n))
    right = array("f", bytes(4 * n))
    two_pi = 2 * math.pi
    pad_level = 0.16 if ending_part < 0 else 0.22
    steps = [two_pi * f / sr for f in notes]
    bass_step = two_pi * bass / sr
    attack = int(0.02 * sr)
    for i in range(n):
        if ending_part >= 0:
            # Two bars of decay: -60 dB by the end of the second bar.
            t = (i + ending_part * n) / (2 * n)
            env = math.exp(-6.9 * t) * (1 - t)
        else:
            env = min(1.0, i / attack) * min(1.0, (n - i) / attack)
        s = (math.sin(steps[0] * i) + math.sin(steps[1] * i) + math.sin(steps[2] * i)) * pad_level * env
        s += math.sin(bass_step * i) * 0.18 * env
        left[i] = s
        right[i] = s
    if ending_part <= 0:
        # The pulse: a kick with a click on top, as a drum's attack; the downbeat is louder.
        pulses = 4 if ending_part < 0 else 1
        kick_len = int(0.12 * sr)
        click_len = int(0.006 * sr)
        noise = random.Random(7)
        for b in range(pulses):
            start = b * beat
            level = (0.5 if b == 0 else 0.3) * (0.6 if energy == 0 else 1.0)
            for j in range(min(kick_len, n - start)):
                v = level * math.exp(-j / (0.03 * sr)) * math.sin(two_pi * 55 * j / sr + 8 * math.exp(-j / (0.01 * sr)))
                if j < click_len:
                    v += level * 0.6 * (noise.random() * 2 - 1) * (1 - j / click_len)
                left[start + j] += v
                right[start + j] += v
    if energy >= 2 and ending_part < 0:
        rng = random.Random(chord)
        hat_len = int(0.02 * sr)
        for b in range(4):
            start = b * beat + beat // 2
            for j in range(hat_len):
                v = 0.12 * (rng.random() * 2 - 1) * (1 - j / hat_len)
                left[start + j] += v
                right[start + j] += v * 0.7
    out = array("h", bytes(4 * n))
    for i in range(n):
        out[2 * i] = max(-32767, min(32767, int(left[i] * 32767)))
        out[2 * i + 1] = max(-32767, min(32767, int(right[i] * 32767)))
    return out.tobytes()


@lru_cache(maxsize=64)
def _bar(style: Style, chord: int, energy: int, ending_part: int = -1) -> bytes:
    return _render_bar(style, chord, energy, ending_part)


@dataclass(frozen=True)
class Segment:
    """A stretch of the song clock [start, end) in seconds, with its energy and tags."""
    start: float
    end: float
    energy: int
    tags: str = ""


def render(style: Style, segments: list[Segment], ending: bool) -> bytes:
    """PCM for the song between the first segment's start and the last one's end.

    With ``ending``, the last ENDING_BARS bars before the end are the decaying final
    chord; the end must then lie on a bar line.
    """
    n = style.bar_samples
    sr = style.sample_rate
    start = round(segments[0].start * sr)
    end = round(segments[-1].end * sr)
    ending_from_bar = end // n - ENDING_BARS if ending else None
    chunks = []
    pos = start
    while pos < end:
        bar = pos // n
        offset = pos - bar * n
        take = min(n - offset, end - pos)
        t = pos / sr
        energy = next((s.energy for s in segments if s.start <= t < s.end), segments[-1].energy)
        if ending_from_bar is not None and bar >= ending_from_bar:
            block = _bar(style, 0, energy, min(bar - ending_from_bar, ENDING_BARS - 1))
        else:
            block = _bar(style, bar % len(PROGRESSION), energy)
        chunks.append(block[offset * 4:(offset + take) * 4])
        pos += take
    return b"".join(chunks)


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buffer.getvalue()


def mp3_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """Encode with LAME (the ``lameenc`` wheel); the emulator's only extra dependency."""
    try:
        import lameenc
    except ImportError as exc:
        raise RuntimeError("the emulator needs the 'lameenc' package to serve MP3 files") from exc
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(192)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(2)
    encoder.set_quality(7)
    # A second at a time: LAME holds the interpreter lock while it encodes, and the
    # built-in emulator shares the process (and so the lock) with Blender's UI thread.
    step = sample_rate * 4
    out = bytearray()
    for start in range(0, len(pcm), step):
        out += encoder.encode(pcm[start:start + step])
    return bytes(out + encoder.flush())

