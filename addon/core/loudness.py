"""Loudness as delivery specs measure it (ITU-R BS.1770-4, EBU R128), in NumPy alone:
Blender bundles no SciPy.

- :func:`integrated`: gated programme loudness in LUFS;
- :func:`short_term`: loudness of each 3-s window (R128's short-term), every 0.1 s;
- :func:`true_peak`: the peak between samples too, by 4x oversampling (BS.1770 Annex 2);
- :func:`to_target`: the music brought to a delivery loudness, its true peak kept at or
  below a ceiling by a look-ahead limiter where gain alone would clip.

The K-weighting filter is BS.1770's two biquads. Without SciPy's ``lfilter`` they are
applied as what they are, a linear filter: their joint impulse response (run sample by
sample for :data:`IMPULSE_SECONDS`, after which it has decayed below 1e-9) convolved by
FFT, block by block. The result matches the recursive filter to about 1e-9.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .audio import Audio

ABSOLUTE_GATE = -70.0        # LUFS: blocks quieter than this are silence (BS.1770-4)
RELATIVE_GATE = -10.0        # LU below the ungated mean: the relative gate
BLOCK = 0.4                  # s: gating blocks ...
OVERLAP = 0.75               # ... overlapping by three quarters
SHORT_TERM = 3.0             # s: R128 short-term window, hopped by 1 s
IMPULSE_SECONDS = 0.1        # s of the K-weighting's impulse response kept (below 5e-12 by then)
FFT_BLOCK = 1 << 16          # samples a convolution block holds: cache-sized, and memory stays small
SUB_BLOCK = 0.1              # s: powers are summed per 0.1 s, the hop of both window kinds
CHUNK = 1 << 14              # samples interpolated at a time: a quiet stretch is skipped whole
OVERSAMPLE = 4               # true peak: 4x at 48 kHz, as Annex 2
TAPS_PER_PHASE = 12          # the interpolating filter's taps per phase (Annex 2 uses 12)
LIMIT_LOOKAHEAD = 0.005      # s: the limiter sees a peak this early and ramps down to it
DEFAULT_CEILING = -1.0       # dBTP: what streaming and broadcast specs allow at most

# Delivery targets an editor picks from (LUFS), with what each is for.
TARGETS = {"streaming": -14.0, "web": -16.0, "ebu-r128": -23.0, "atsc-a85": -24.0}


def _biquads(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770's K-weighting (a high shelf, then the RLB high-pass) for ``rate``, from the
    analogue prototypes, as pyloudnorm and libebur128 derive them."""
    out = []
    for gain_db, q, fc, kind in ((4.0, 1 / math.sqrt(2), 1500.0, "shelf"), (0.0, 0.5, 38.0, "highpass")):
        a_gain = 10 ** (gain_db / 40)
        w0 = 2 * math.pi * fc / rate
        alpha = math.sin(w0) / (2 * q)
        cos = math.cos(w0)
        if kind == "shelf":
            root = 2 * math.sqrt(a_gain) * alpha
            b = [a_gain * ((a_gain + 1) + (a_gain - 1) * cos + root), -2 * a_gain * ((a_gain - 1) + (a_gain + 1) * cos),
                 a_gain * ((a_gain + 1) + (a_gain - 1) * cos - root)]
            a = [(a_gain + 1) - (a_gain - 1) * cos + root, 2 * ((a_gain - 1) - (a_gain + 1) * cos),
                 (a_gain + 1) - (a_gain - 1) * cos - root]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        out.append((np.array(b) / a[0], np.array(a) / a[0]))
    return out


def _impulse(rate: int) -> np.ndarray:
    n = int(IMPULSE_SECONDS * rate)
    signal = np.zeros(n)
    signal[0] = 1.0
    for b, a in _biquads(rate):
        y = np.zeros(n)
        x1 = x2 = y1 = y2 = 0.0
        b0, b1, b2 = b
        _a0, a1, a2 = a
        for i, x in enumerate(signal.tolist()):      # once per rate: 24,000 steps
            value = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            y[i] = value
            x2, x1, y2, y1 = x1, x, y1, value
        signal = y
    return signal


_IMPULSES: dict[int, np.ndarray] = {}


def k_weighted_powers(samples: np.ndarray, rate: int) -> np.ndarray:
    """The K-weighted signal's energy in each :data:`SUB_BLOCK` (sub-blocks, channels), summed
    as it is filtered, so the filtered signal itself is never held whole."""
    h = _IMPULSES.setdefault(rate, _impulse(rate)).astype(np.float32)
    sub = int(round(SUB_BLOCK * rate))
    frames = samples.shape[0] // sub * sub              # a last partial 0.1 s is in no block
    size = 1 << math.ceil(math.log2(FFT_BLOCK + len(h)))
    spectrum = np.fft.rfft(h, size)[:, None]
    energy = np.zeros((frames // sub, samples.shape[1]))
    tail = np.zeros((len(h) - 1, samples.shape[1]), dtype=np.float32)
    step = FFT_BLOCK // sub * sub                         # whole sub-blocks per FFT block
    for start in range(0, frames, step):                 # overlap-add, block by block
        block = samples[start:min(frames, start + step)]
        piece = np.fft.irfft(np.fft.rfft(block, size, axis=0) * spectrum, size, axis=0)[:len(block) + len(h) - 1]
        piece[:len(tail)] += tail
        tail = piece[len(block):].astype(np.float32)
        done = piece[:len(block)]
        energy[start // sub:(start + len(block)) // sub] = (done.reshape(-1, sub, done.shape[1]) ** 2).sum(axis=1)
    return energy


def _window_powers(energy: np.ndarray, rate: int, window: float) -> np.ndarray:
    """Mean square of each ``window``-long span, one per sub-block, summed over channels
    (BS.1770's weights are 1 for left and right)."""
    count = int(round(window / SUB_BLOCK))
    if len(energy) < count:
        return np.zeros(0)
    totals = np.concatenate([np.zeros(1), np.cumsum(energy.sum(axis=1))])
    return (totals[count:] - totals[:-count]) / (count * SUB_BLOCK * rate)


def _lufs(power) -> np.ndarray:
    return -0.691 + 10 * np.log10(np.maximum(power, 1e-20))


def integrated(audio: Audio) -> float:
    """Gated integrated loudness in LUFS (-inf for silence or a clip shorter than a block)."""
    powers = _window_powers(k_weighted_powers(audio.samples, audio.rate), audio.rate, BLOCK)
    powers = powers[_lufs(powers) > ABSOLUTE_GATE]
    if not len(powers):
        return -math.inf
    gate = _lufs(powers.mean()) + RELATIVE_GATE
    kept = powers[_lufs(powers) > gate]
    return float(_lufs(kept.mean()))


def short_term(audio: Audio) -> np.ndarray:
    """Short-term loudness (LUFS) of every 3-s window, one each 0.1 s."""
    return _lufs(_window_powers(k_weighted_powers(audio.samples, audio.rate), audio.rate, SHORT_TERM))


def _interpolator() -> np.ndarray:
    """A windowed-sinc lowpass for 4x upsampling, as (phases, taps)."""
    taps = OVERSAMPLE * TAPS_PER_PHASE
    n = np.arange(taps) - (taps - 1) / 2
    kernel = np.sinc(n / OVERSAMPLE) * np.kaiser(taps, 8.0)
    return kernel.reshape(TAPS_PER_PHASE, OVERSAMPLE).T * OVERSAMPLE / kernel.sum()


def oversampled_peaks(samples: np.ndarray, above: float = 0.0) -> np.ndarray:
    """Per sample, the largest absolute value between it and the next (4x), over channels:
    each span's sliding windows times the four phases' taps, one matrix product. Spans that
    cannot reach ``above`` (their largest sample times the most the interpolator can add)
    keep their sample peaks: only the loud stretches are oversampled."""
    phases = _interpolator().T.astype(np.float32)        # (taps, phases)
    reach = float(np.abs(phases).sum(axis=0).max())      # an output is at most this x its window's max
    half = TAPS_PER_PHASE // 2
    loudest = np.abs(samples).max(axis=1).astype(np.float32)
    peak = loudest.copy()
    n = len(loudest)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        lo, hi = max(0, start - half), min(n, stop + half)
        if loudest[lo:hi].max(initial=0.0) * reach <= above:
            continue
        for channel in range(samples.shape[1]):
            x = np.zeros(stop - start + TAPS_PER_PHASE, np.float32)      # x[j] is sample start - half + j
            offset = half - (start - lo)
            x[offset:offset + hi - lo] = samples[lo:hi, channel]
            windows = np.lib.stride_tricks.sliding_window_view(x, TAPS_PER_PHASE)[:stop - start]
            np.maximum(peak[start:stop], np.abs(windows @ phases).max(axis=1), out=peak[start:stop])
    return peak


def true_peak(audio: Audio) -> float:
    """True peak in dBTP (-inf for silence). Only stretches within reach of the sample peak
    are oversampled: the others cannot hold the true peak."""
    if not audio.frames:
        return -math.inf
    sample_peak = float(np.abs(audio.samples).max())
    if sample_peak == 0:
        return -math.inf
    reach = float(np.abs(_interpolator()).sum(axis=1).max())
    peak = float(oversampled_peaks(audio.samples, above=sample_peak / reach * 0.999).max())
    return 20 * math.log10(peak)


@dataclass(frozen=True)
class Levelled:
    """What :func:`to_target` did: the loudness and true peak before and after, the gain."""
    target: float
    before_lufs: float
    before_dbtp: float
    gain_db: float
    after_lufs: float
    after_dbtp: float
    limited: bool

    def to_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) and math.isfinite(v) else v) for k, v in vars(self).items()}


def _sliding(values: np.ndarray, width: int, reduce) -> np.ndarray:
    """Centred sliding min or max over ``width`` samples, in O(n) (van Herk / Gil-Werman)."""
    if width <= 1:
        return values.copy()
    n = len(values)
    pad = (-n) % width
    fill = np.inf if reduce is np.minimum else -np.inf
    padded = np.concatenate([np.full(width // 2, fill), values, np.full(pad + width, fill)])
    blocks = padded[: len(padded) // width * width].reshape(-1, width)
    forward = reduce.accumulate(blocks, axis=1).ravel()
    backward = reduce.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    idx = np.arange(n)
    return reduce(backward[idx], forward[idx + width - 1])


def limit(samples: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """Keep the true peak at or below ``ceiling_db``: a gain that ramps down over
    :data:`LIMIT_LOOKAHEAD` before each peak that would pass it and back up after (the
    minimum of what each peak needs, over twice the ramp, then averaged over the ramp:
    never above what any peak needs, and without steps)."""
    ceiling = 10 ** (ceiling_db / 20)
    need = np.minimum(1.0, ceiling / np.maximum(oversampled_peaks(samples, above=ceiling), 1e-12))
    if need.min() >= 1.0:
        return samples
    ramp = max(1, int(LIMIT_LOOKAHEAD * rate))
    held = _sliding(need, 2 * ramp + 1, np.minimum)
    smooth = np.convolve(held, np.ones(ramp) / ramp, mode="same")
    gain = np.minimum(smooth, held)
    return (samples * gain[:, None]).astype(samples.dtype)


def to_target(audio: Audio, target: float, ceiling: float = DEFAULT_CEILING) -> tuple[Audio, Levelled]:
    """``audio`` at ``target`` LUFS (integrated), its true peak at most ``ceiling`` dBTP."""
    before, peak = integrated(audio), true_peak(audio)
    if not math.isfinite(before):
        return audio, Levelled(target, before, peak, 0.0, before, peak, False)
    gain = target - before
    samples = audio.samples * np.float32(10 ** (gain / 20))
    limited = peak + gain > ceiling
    if limited:
        samples = limit(samples, audio.rate, ceiling - 0.1)       # 0.1 dB for the meter's own rounding
    out = Audio(samples.astype(np.float32), audio.rate)
    return out, Levelled(target, before, peak, gain, integrated(out), true_peak(out), limited)
