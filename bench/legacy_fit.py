"""The fit engine before v2 (ScoreFit 0.1.0), kept only so bench/fit_quality.py can compare
against it in the same run. Not used by ScoreFit itself."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from pydub import AudioSegment
from pydub.utils import audioop

def conform(segment, rate):
    return segment.set_sample_width(2).set_channels(2).set_frame_rate(rate)

HOP = 256                  # analysis hop in samples (5.3 ms at 48 kHz)
WINDOW = 1024              # loudness window: long enough to smooth a bass note's ripple
MIN_BPM, MAX_BPM = 60.0, 180.0
CROSSFADE_SECONDS = 0.02
SILENCE_RMS = 33           # about -60 dBFS on 16-bit samples


class FitError(ValueError):
    pass


@dataclass(frozen=True)
class BeatGrid:
    beat_seconds: float       # one beat
    downbeats: tuple          # seconds from the start of the whole track
    confidence: float         # 0..1, how periodic the onsets are

    @property
    def bar_seconds(self) -> float:
        return 4 * self.beat_seconds

    @property
    def bpm(self) -> float:
        return 60.0 / self.beat_seconds


@dataclass(frozen=True)
class FitReport:
    method: str               # splice | fade | exact
    target_samples: int
    source_samples: int
    sample_rate: int
    bpm: float | None
    splice_at: float | None = None      # seconds in the output
    resume_from: float | None = None    # seconds in the source
    fade_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# --- analysis -----------------------------------------------------------------
def _transients(segment: AudioSegment) -> bytes:
    """Mono first difference: a crude high-pass that keeps attacks and drops sustained pads."""
    data = segment.set_sample_width(2).raw_data
    if segment.channels == 2:
        data = audioop.tomono(data, 2, 0.5, 0.5)
    return audioop.add(data[2:], audioop.mul(data[:-2], 2, -1.0), 2)


def onset_strength(segment: AudioSegment, start: int, end: int) -> tuple[list, list]:
    """Rises in attack loudness per hop between samples ``start`` and ``end``: on a log
    scale (for periodicity, so quiet beats count) and linear (for accents)."""
    data = _transients(segment.get_sample_slice(start, end))
    hop, window = HOP * 2, WINDOW * 2
    levels = [audioop.rms(data[i:i + window], 2) for i in range(0, len(data) - window + 1, hop)]
    logs = [math.log1p(v) for v in levels]
    rise = [0.0] + [max(0.0, b - a) for a, b in zip(logs, logs[1:])]
    accent = [0.0] + [max(0.0, b - a) for a, b in zip(levels, levels[1:])]
    return rise, accent


def _comb(onsets: list, period: float, phase: float) -> float:
    total, position, n = 0.0, phase, len(onsets)
    while position < n - 1:
        i = int(position)
        frac = position - i
        total += onsets[i] * (1 - frac) + onsets[i + 1] * frac
        position += period
    return total


def beat_grid(segment: AudioSegment, start_s: float, end_s: float) -> BeatGrid | None:
    """Tempo, downbeats and confidence of the music between two times (seconds)."""
    rate = segment.frame_rate
    start, end = max(0, int(start_s * rate)), min(int(segment.frame_count()), int(end_s * rate))
    if end - start < rate * 6:
        return None
    onsets, accents = onset_strength(segment, start, end)
    hop_s = HOP / rate
    # A rise shows in the first window that reaches the attack, a window's length early.
    latency = (WINDOW - HOP / 2) / rate
    mean = sum(onsets) / len(onsets)
    centred = [o - mean for o in onsets]
    lo, hi = int(60 / MAX_BPM / hop_s), int(60 / MIN_BPM / hop_s) + 1
    scores = {}
    for lag in range(lo, min(hi, len(centred) // 3)):
        scores[lag] = sum(a * b for a, b in zip(centred, centred[lag:])) / (len(centred) - lag)
    if not scores:
        return None
    best = max(scores, key=scores.get)
    energy = sum(c * c for c in centred) / len(centred)
    confidence = max(0.0, min(1.0, scores[best] / energy)) if energy else 0.0
    # Half-tempo ambiguity: prefer the faster reading while it is nearly as periodic.
    half = best // 2
    if half >= lo and max(scores.get(half, -1), scores.get(half + 1, -1)) > 0.8 * scores[best]:
        best = half if scores.get(half, -1) >= scores.get(half + 1, -1) else half + 1
    # Refine to a fractional period by comb filtering around the integer lag.
    period = max((best + d / 20 for d in range(-20, 21)),
                 key=lambda p: max(_comb(onsets, p, ph / 4) for ph in range(int(p * 4))))
    phase = max((ph / 4 for ph in range(int(period * 4))), key=lambda ph: _comb(onsets, period, ph))
    # Downbeat: the one of four beat positions with the strongest accents over the window.
    downbeat = max(range(4), key=lambda k: _comb(accents, period * 4, phase + k * period))
    first = phase + downbeat * period
    bar = 4 * period
    downbeats = []
    position = first
    while position < len(onsets):
        downbeats.append(start / rate + position * hop_s + latency)
        position += bar
    return BeatGrid(period * hop_s, tuple(downbeats), confidence)


def natural_end(segment: AudioSegment) -> int:
    """The sample after which only silence follows."""
    data = segment.raw_data
    width = segment.frame_width
    block = 480 * width
    end = len(data) - len(data) % block
    while end > 0 and audioop.rms(data[end - block:end], segment.sample_width) < SILENCE_RMS:
        end -= block
    return min(int(segment.frame_count()), end // width + 480)


def has_ending(segment: AudioSegment, end: int) -> bool:
    """Whether the music winds down by itself before ``end`` (an outro), rather than running on."""
    rate = segment.frame_rate
    if end < rate * 12:
        return False
    tail = segment.get_sample_slice(end - int(rate * 1.5), end).rms
    body = segment.get_sample_slice(end - rate * 12, end - rate * 4).rms
    return body > 0 and tail < body * 0.35


# --- shaping --------------------------------------------------------------------
def _gain_ramp(segment: AudioSegment, fade_in: bool) -> AudioSegment:
    """Equal-power ramp over the whole segment, in steps of 64 samples."""
    width = segment.frame_width
    data = segment.raw_data
    n = len(data) // width
    step = 64
    out = []
    for i in range(0, n, step):
        # A fade-out's last step is at gain 0, so the final samples are exact silence.
        t = min(1.0, (i + step) / n) if not fade_in else i / n
        gain = math.sin(t * math.pi / 2) if fade_in else math.cos(t * math.pi / 2)
        out.append(audioop.mul(data[i * width:(i + step) * width], segment.sample_width, gain))
    return segment._spawn(b"".join(out))


def fade_tail(segment: AudioSegment, samples: int) -> AudioSegment:
    total = int(segment.frame_count())
    samples = max(1, min(samples, total))
    head = segment.get_sample_slice(0, total - samples)
    return head._spawn(head.raw_data + _gain_ramp(segment.get_sample_slice(total - samples, total),
                                                  fade_in=False).raw_data)


def splice(first: AudioSegment, second: AudioSegment, crossfade: int) -> AudioSegment:
    """``first`` then ``second``, overlapped by ``crossfade`` samples at the join; length kept
    as len(first) + len(second) - crossfade."""
    a, b = int(first.frame_count()), int(second.frame_count())
    out_a = _gain_ramp(first.get_sample_slice(a - crossfade, a), fade_in=False)
    in_b = _gain_ramp(second.get_sample_slice(0, crossfade), fade_in=True)
    mixed = audioop.add(out_a.raw_data, in_b.raw_data, first.sample_width)
    return first._spawn(first.get_sample_slice(0, a - crossfade).raw_data + mixed
                        + second.get_sample_slice(crossfade, b).raw_data)


# --- the fit --------------------------------------------------------------------
def fit(source: AudioSegment, target_samples: int, sample_rate: int = 48000) -> tuple[AudioSegment, FitReport]:
    """Return music exactly ``target_samples`` long at ``sample_rate``, with a real ending."""
    music = conform(source, sample_rate)
    total = int(music.frame_count())
    if target_samples <= 0:
        raise FitError("the timeline is empty")
    if total < target_samples:
        raise FitError(f"the music ({total / sample_rate:.2f} s) is shorter than the timeline "
                       f"({target_samples / sample_rate:.2f} s); it must be extended first")
    end = natural_end(music)
    target_s = target_samples / sample_rate
    if end >= target_samples and has_ending(music, end) and end > target_samples + sample_rate // 10:
        spliced = _splice_fit(music, target_samples, end, sample_rate)
        if spliced:
            return spliced
    return _fade_fit(music, target_samples, sample_rate, target_s)


def _fade_fit(music, target_samples, sample_rate, target_s):
    grid = beat_grid(music, max(0.0, target_s - 24.0), target_s)
    bar = grid.bar_seconds if grid and grid.confidence > 0.05 else 2.0
    # Start the fade on a downbeat at least one bar (and two seconds) before the end.
    longest = max(bar, 2.0)
    start = target_s - longest
    if grid and grid.confidence > 0.05:
        candidates = [d for d in grid.downbeats if d <= target_s - longest]
        if candidates:
            start = candidates[-1]
    start = max(0.0, start)
    fade = target_samples - int(round(start * sample_rate))
    out = fade_tail(music.get_sample_slice(0, target_samples), fade)
    return out, FitReport("fade", target_samples, int(music.frame_count()), sample_rate,
                          grid.bpm if grid else None, fade_seconds=fade / sample_rate)


def _splice_fit(music, target_samples, end, sample_rate):
    end_s = end / sample_rate
    target_s = target_samples / sample_rate
    outro = beat_grid(music, max(0.0, end_s - 24.0), end_s)
    if not outro or outro.confidence < 0.05:
        return None
    bar = outro.bar_seconds
    # The ending: from the downbeat two to four bars before the music falls silent.
    candidates = [d for d in outro.downbeats if 2 * bar - 0.05 <= end_s - d <= 4 * bar + 0.05]
    if not candidates:
        return None
    resume = candidates[0]
    tail = end_s - resume
    if tail >= target_s - bar:
        return None   # the ending alone would fill the timeline; fade instead
    join = target_s - tail
    before = beat_grid(music, max(0.0, join - 20.0), join + bar)
    if before and before.confidence > 0.05:
        near = min(before.downbeats, key=lambda d: abs(d - join))
        if abs(near - join) <= bar / 2 and near > bar:
            join = near
    crossfade = int(CROSSFADE_SECONDS * sample_rate)
    join_sample = int(round(join * sample_rate))
    resume_sample = int(round(resume * sample_rate))
    rest = target_samples - join_sample
    if resume_sample + rest > int(music.frame_count()) or join_sample <= crossfade:
        return None
    head = music.get_sample_slice(0, join_sample + crossfade // 2)
    tail_seg = music.get_sample_slice(resume_sample - (crossfade - crossfade // 2), resume_sample + rest)
    out = splice(head, tail_seg, crossfade)
    # The ending may be cut a little early if the join snapped to a downbeat: close it smoothly.
    remaining = end - (resume_sample + rest)
    fade = int(bar * sample_rate) if remaining > sample_rate // 20 else sample_rate // 50
    out = fade_tail(out, fade)
    return out, FitReport("splice", target_samples, int(music.frame_count()), sample_rate, outro.bpm,
                          splice_at=join, resume_from=resume, fade_seconds=fade / sample_rate)
