"""A second, independent reference for the fit bench: BeatNet (Heydari, Cwitkowitz and Duan,
ISMIR 2021), a CRNN trained on annotated beats and downbeats by other authors than
madmom's, with another architecture and partly other data, decoded into beats and 3/4 or
4/4 bars by madmom's DBN, as the madmom reference is (BeatNet's own offline mode also
allows 2/4). Run only by the bench; ScoreFit never ships it.

Why a second reference: "on a bar line" is judged within 30 ms of one tracker's
downbeats, and trackers disagree on real music. Where two learned trackers disagree with
each other, no grid can agree with both, so the bench prints how often they agree.

The model runs in NumPy: madmom's log-filtered spectrogram and its positive difference
(24 bands an octave, 30 Hz to 17 kHz, 64 ms frames every 20 ms at 22 050 Hz), a 1-D
convolution over frequency and two LSTM layers of 150 cells. Its weights are read from
BeatNet's own wheel on PyPI (CC BY 4.0; ``make bench-fit`` downloads it into
build/bench-cache), model 1 ("GTZAN out"), with a small reader for PyTorch's file format,
so the bench needs no PyTorch. Checked against PyTorch 2.13 running BeatNet's own
``BDA`` module: features within 3e-7, activations within 6e-6.

The LSTM runs forwards only, in one pass, as it was trained: about 4 s for a 9-minute
track here.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

RATE = 22050
HOP = 441                       # 20 ms: 50 activations a second
FRAME = 1411                    # 64 ms
FPS = RATE / HOP
WHEEL = Path(__file__).resolve().parent.parent / "build" / "bench-cache" / "BeatNet-1.1.3-py3-none-any.whl"
MEMBER = "BeatNet/models/model_1_weights.pt"


def _log_frequencies(bands_per_octave: int, fmin: float, fmax: float, fref: float = 440.0) -> np.ndarray:
    left = np.floor(np.log2(fmin / fref) * bands_per_octave)
    right = np.ceil(np.log2(fmax / fref) * bands_per_octave)
    frequencies = fref * 2.0 ** (np.arange(left, right) / bands_per_octave)
    frequencies = frequencies[np.searchsorted(frequencies, fmin):]
    return frequencies[:np.searchsorted(frequencies, fmax, "right")]


@lru_cache(maxsize=1)
def filterbank() -> np.ndarray:
    """madmom's LogarithmicFilterbank (24 bands an octave, 30 Hz to 17 kHz, unique bins,
    overlapping triangles, each normalised to sum 1) over the STFT's bins."""
    bins_count = FRAME >> 1
    # madmom spaces bin frequencies by rate / (2 * bins), not rate / frame size.
    bin_frequencies = np.fft.fftfreq(bins_count * 2, 1.0 / RATE)[:bins_count]
    frequencies = _log_frequencies(24, 30.0, 17000.0)
    index = np.clip(bin_frequencies.searchsorted(frequencies), 1, bins_count - 1)
    left, right = bin_frequencies[index - 1], bin_frequencies[index]
    index = np.unique(index - (frequencies - left < right - frequencies))
    bank = np.zeros((bins_count, index.size - 2), dtype=np.float32)
    for band, (start, centre, stop) in enumerate(zip(index, index[1:], index[2:])):
        if stop - start < 2:
            centre, stop = start, start + 1
        shape = np.concatenate([np.linspace(0, 1, centre - start, endpoint=False),
                                np.linspace(1, 0, stop - centre, endpoint=False)])
        shape /= shape.sum()
        stop = min(stop, bins_count)
        bank[start:stop, band] = shape[:stop - start]
    return bank


def _diff_frames() -> int:
    """madmom's difference lag: frames from where the window passes half its height to its middle."""
    window = np.hanning(FRAME)
    sample = int(np.argmax(window > 0.5 * window.max()))
    return int(max(1, round((FRAME / 2 - sample) / HOP)))


def features(mono: np.ndarray) -> np.ndarray:
    """(frames, 272): the log-filtered spectrogram and its positive difference, as madmom
    computes them for BeatNet (frame ``i`` centred on sample ``i * HOP``)."""
    mono = np.asarray(mono, dtype=np.float32)
    count = int(np.ceil(mono.size / HOP))
    half = FRAME // 2
    padded = np.zeros(count * HOP + FRAME, dtype=np.float32)
    padded[half:half + mono.size] = mono
    window = np.hanning(FRAME).astype(np.float32)
    bank = filterbank()
    bands = np.empty((count, bank.shape[1]), dtype=np.float32)
    for first in range(0, count, 2048):          # bounded memory on long tracks
        last = min(count, first + 2048)
        views = np.lib.stride_tricks.sliding_window_view(
            padded[first * HOP:(last - 1) * HOP + FRAME], FRAME)[::HOP]
        magnitude = np.abs(np.fft.rfft(views * window, axis=1)[:, :FRAME >> 1]).astype(np.float32)
        bands[first:last] = np.log10(magnitude @ bank + 1.0)
    lag = _diff_frames()
    diff = np.zeros_like(bands)
    diff[lag:] = np.maximum(bands[lag:] - bands[:-lag], 0.0)
    return np.hstack([bands, diff])


@lru_cache(maxsize=1)
def _weights() -> dict:
    return read_state_dict(WHEEL, MEMBER)


class _Unpickler(pickle.Unpickler):
    """Reads a PyTorch state dict (zip format) as NumPy arrays, without PyTorch: a tensor
    is a strided view of a typed storage, each storage a file beside the pickle."""
    def __init__(self, archive: zipfile.ZipFile, prefix: str, data: bytes):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return _StateDict
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a state dict")

    def persistent_load(self, pid):
        _, kind, key, _, _ = pid
        dtype = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64}[kind]
        return np.frombuffer(self.archive.read(f"{self.prefix}/data/{key}"), dtype=dtype)


class _StateDict(dict):
    """A dict that takes the attributes (``_metadata``) PyTorch pickles with a state dict."""


def _rebuild_tensor(storage, offset, size, stride, *_):
    item = storage.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * item for s in stride)).copy()


def read_state_dict(wheel: Path, member: str) -> dict:
    """The state dict ``member`` of the BeatNet wheel, as float32 arrays."""
    with zipfile.ZipFile(wheel) as outer:
        inner = zipfile.ZipFile(io.BytesIO(outer.read(member)))
    pickled = next(name for name in inner.namelist() if name.endswith("/data.pkl"))
    state = _Unpickler(inner, pickled.rsplit("/", 1)[0], inner.read(pickled)).load()
    return {name: np.asarray(value, dtype=np.float32) for name, value in state.items()}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))       # exact, and no overflow warnings


def _lstm2(x: np.ndarray, w: dict) -> np.ndarray:
    """The two stacked LSTM layers (PyTorch's gate order: input, forget, cell, output) over
    ``x`` (batch, time, features), from zero state.

    The second layer runs one step behind the first, so that one matrix product per step
    serves both: [h1(t-1), h2(t-2)] @ [[W_hh1, W_ih2], [0, W_hh2]] gives the first layer's
    recurrent term at t and the second layer's whole input at t-1. Half the Python steps,
    and products big enough for BLAS to run well."""
    batch, steps, _ = x.shape
    cells = w["lstm.weight_hh_l0"].shape[1]
    gates_1 = x @ w["lstm.weight_ih_l0"].T + (w["lstm.bias_ih_l0"] + w["lstm.bias_hh_l0"])
    bias_2 = w["lstm.bias_ih_l1"] + w["lstm.bias_hh_l1"]
    joint = np.zeros((2 * cells, 8 * cells), dtype=np.float32)
    joint[:cells, :4 * cells] = w["lstm.weight_hh_l0"].T
    joint[:cells, 4 * cells:] = w["lstm.weight_ih_l1"].T
    joint[cells:, 4 * cells:] = w["lstm.weight_hh_l1"].T
    state = np.zeros((batch, 2 * cells), dtype=np.float32)     # [h1(t-1), h2(t-2)]
    cell = np.zeros((batch, 2 * cells), dtype=np.float32)      # [c1(t-1), c2(t-2)]
    out = np.empty((batch, steps, cells), dtype=np.float32)
    gates = np.empty((batch, 8 * cells), dtype=np.float32)
    for t in range(steps + 1):
        np.matmul(state, joint, out=gates)
        if t < steps:
            gates[:, :4 * cells] += gates_1[:, t]
        gates[:, 4 * cells:] += bias_2
        # Gates of both layers side by side: [i1 f1 g1 o1 | i2 f2 g2 o2], each `cells` wide.
        g = gates.reshape(batch, 2, 4, cells)
        i, f, o = _sigmoid(g[:, :, 0]), _sigmoid(g[:, :, 1]), _sigmoid(g[:, :, 3])
        new_cell = f * cell.reshape(batch, 2, cells) + i * np.tanh(g[:, :, 2])
        hidden = o * np.tanh(new_cell)
        if t == 0:          # the second layer has no input before the first layer's first step
            hidden[:, 1] = 0.0
            new_cell[:, 1] = 0.0
        cell = new_cell.reshape(batch, 2 * cells)
        state = hidden.reshape(batch, 2 * cells)
        if t > 0:
            out[:, t - 1] = hidden[:, 1]
    return out


def _network(feats: np.ndarray) -> np.ndarray:
    """(batch, time, 272) features -> (batch, time, 3) class probabilities
    (beat, downbeat, no beat)."""
    w = _weights()
    batch, steps, dims = feats.shape
    kernel = w["conv1.weight"][:, 0, :]              # (2 channels, 10)
    taps = kernel.shape[1]
    views = np.lib.stride_tricks.sliding_window_view(feats, taps, axis=2)   # (b, t, dims - 9, 10)
    conv = np.maximum(np.einsum("btpk,ck->btcp", views, kernel) + w["conv1.bias"][:, None], 0.0)
    pooled_len = conv.shape[-1] // 2
    pooled = conv[..., :2 * pooled_len].reshape(batch, steps, 2, pooled_len, 2).max(axis=-1)
    x = pooled.reshape(batch, steps, -1) @ w["linear0.weight"].T + w["linear0.bias"]
    x = _lstm2(x, w)
    logits = x @ w["linear.weight"].T + w["linear.bias"]
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def activations(feats: np.ndarray) -> np.ndarray:
    """(frames, 2): the probability of a beat (not the first of a bar) and of a downbeat at
    each frame, in one pass over the whole track from zero state, as the model was run in
    training. (Overlapping stretches run as a batch are no shortcut: the LSTM's memory
    outlasts a 20 s warm-up on some music, by up to 0.98 in probability, and the batch is
    slower on two cores.)"""
    return _network(feats[None].astype(np.float32))[0, :, :2]
