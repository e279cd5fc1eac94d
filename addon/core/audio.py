"""Audio in and out as NumPy arrays: WAV of any common format, MP3 through a decoder,
resampling that keeps the top octave, and atomic 16-bit WAV output.

WAV is read here, not by pydub: pydub hands 32-bit float and 24-bit files to ffprobe,
which an editor's machine (or Blender) may not have. MP3 needs a decoder: FFmpeg on
the PATH (through pydub), or one the host supplies (Blender's FFmpeg through ``aud``).
Without either, the editor is told to choose WAV output before anything is paid for.
"""
from __future__ import annotations

from .errors import ScoreFitError

import io
import shutil
import struct
import tempfile
import warnings
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Callable

import numpy as np

from .files import atomic_write

# A host decoder turns an MP3 file into a WAV file: decoder(src, dst_wav).
Decoder = Callable[[Path, Path], None]

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


class AudioError(ScoreFitError, ValueError):
    """A file ScoreFit cannot read as audio; the message says what to do."""


class DecoderMissing(ScoreFitError, RuntimeError):
    def __init__(self):
        super().__init__(
            "MP3 needs an audio decoder (FFmpeg) that is not available here. "
            "Choose WAV output (lossless, 2 credits more), or install FFmpeg.")


@dataclass
class Audio:
    """``samples`` is float32, shape (frames, channels), full scale at ±1.0."""
    samples: np.ndarray
    rate: int

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def mp3_decoder_available(host_decoder: Decoder | None = None) -> bool:
    return host_decoder is not None or shutil.which("ffmpeg") is not None


# --- reading -------------------------------------------------------------------
def load(path: Path, decoder: Decoder | None = None) -> Audio:
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"There is no audio file at {path}.")
    if path.suffix.lower() == ".wav":
        return read_wav(path)
    if decoder is not None:
        # Decoded in a private temporary folder: never beside the editor's own file.
        with tempfile.TemporaryDirectory(prefix="scorefit-") as folder:
            wav = Path(folder) / "decoded.wav"
            try:
                decoder(path, wav)
            except Exception as error:     # a host's decoder raises its own kinds (aud.error)
                raise AudioError(f"{path.name} could not be decoded ({type(error).__name__}: {error}).",
                                 hint="") from None
            return read_wav(wav)
    if shutil.which("ffmpeg"):
        return _load_with_ffmpeg(path)
    # The editor's own file: no credits are involved, so DecoderMissing's advice (choose WAV
    # output) does not apply; converting the file does.
    raise AudioError(f"{path.name}: ScoreFit reads WAV files here; to read "
                     f"{path.suffix or 'this'} files, install FFmpeg or convert it to WAV first.")


def _load_with_ffmpeg(path: Path) -> Audio:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # pydub's "no ffmpeg" warning at import
        from pydub import AudioSegment
    try:
        segment = AudioSegment.from_file(path)
    except Exception as exc:   # pydub raises CouldntDecodeError or a bare subprocess error
        raise AudioError(f"{path.name} could not be decoded ({exc.__class__.__name__}); "
                         "is it an audio file?") from exc
    return read_wav_bytes(segment.export(io.BytesIO(), format="wav").getvalue(), path.name)


def read_wav(path: Path) -> Audio:
    return read_wav_bytes(Path(path).read_bytes(), Path(path).name)


def read_wav_bytes(data: bytes, name: str = "the file") -> Audio:
    """RIFF/RF64 WAVE with PCM 8/16/24/32-bit or IEEE float 32/64-bit, any channel count."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise AudioError(f"{name} is not a WAV file.")
    fmt = None
    body = None
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        start = pos + 8
        if chunk == b"fmt ":
            fmt = data[start:start + size]
        elif chunk == b"data":
            # An unfinished recording (or RF64) may give a size past the end: take what is there.
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), start + size)
            body = memoryview(data)[start:end]
            break
        pos = start + size + (size & 1)
    if fmt is None or body is None or len(fmt) < 16:
        raise AudioError(f"{name} is a damaged WAV file (no format or no data).")
    tag, channels, rate, _byte_rate, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]
    if channels < 1 or rate < 8000 or align != channels * ((bits + 7) // 8):
        raise AudioError(f"{name}: unsupported WAV layout ({channels} channels, {rate} Hz, {bits} bits).")
    usable = len(body) - len(body) % align
    raw = np.frombuffer(body[:usable], dtype=np.uint8)
    if tag == _FLOAT and bits in (32, 64):
        samples = raw.view("<f4" if bits == 32 else "<f8").astype(np.float32)
    elif tag == _PCM and bits == 16:
        samples = raw.view("<i2").astype(np.float32) * np.float32(1 / 32768)
    elif tag == _PCM and bits == 24:
        triples = raw.reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        value -= (value & 0x800000) << 1
        samples = value.astype(np.float32) * np.float32(1 / 8388608)
    elif tag == _PCM and bits == 32:
        samples = raw.view("<i4").astype(np.float32) * np.float32(1 / 2147483648)
    elif tag == _PCM and bits == 8:
        samples = (raw.astype(np.float32) - 128) * np.float32(1 / 128)
    else:
        raise AudioError(f"{name}: WAV encoding {tag} at {bits} bits is not supported; "
                         "export it as 16-bit, 24-bit or 32-bit float PCM.")
    return Audio(samples.reshape(-1, channels), int(rate))


# --- shaping -------------------------------------------------------------------
def conform(audio: Audio, rate: int, channels: int = 2) -> Audio:
    """Stereo (or ``channels``) at ``rate``: the host's format."""
    samples = audio.samples
    if samples.shape[1] != channels:
        mono = samples.mean(axis=1, keepdims=True, dtype=np.float32)
        samples = np.repeat(mono, channels, axis=1) if channels > 1 or samples.shape[1] > 1 else mono
    return resample(Audio(samples, audio.rate), rate)


# Passband kept flat to 20 kHz; everything above the lower Nyquist is removed.
PASS_HZ = 20000.0


def resample(audio: Audio, rate: int, block: int = 1 << 15) -> Audio:
    """Band-limited resampling by the exact ratio, in overlapping FFT blocks.

    Each block is transformed, its spectrum cut to the new Nyquist with a raised-cosine
    edge from 20 kHz (flat below, zero above the lower Nyquist, so nothing aliases), and
    transformed back at the new length. The margins around each block absorb the
    filter's wrap-around, so joins between blocks are seamless. NumPy's FFT runs without
    the interpreter lock, so the host's UI thread keeps running meanwhile.
    """
    if audio.rate == rate:
        return audio
    g = gcd(audio.rate, rate)
    up, down = rate // g, audio.rate // g
    # The core of each block is a whole number of ``down`` input samples.
    q = max(1, block // down)
    p = max(1, 2048 // down + 1)                    # margin, in units of ``down`` samples
    core_in, margin_in = q * down, p * down
    core_out, margin_out = q * up, p * up
    n_in, n_out = core_in + 2 * margin_in, core_out + 2 * margin_out
    nyquist = min(audio.rate, rate) / 2
    edge = min(PASS_HZ, nyquist * 0.9)
    freqs = np.fft.rfftfreq(n_in, 1 / audio.rate)[:n_out // 2 + 1]
    taper = np.clip((nyquist - freqs) / (nyquist - edge), 0.0, 1.0)
    taper = (0.5 - 0.5 * np.cos(np.pi * taper)).astype(np.float32)[:, None]
    frames = audio.frames
    total_out = int(round(frames * up / down))
    out = np.empty((total_out + core_out, audio.channels), dtype=np.float32)
    scale = np.float32(n_out / n_in)
    window = np.zeros((n_in, audio.channels), dtype=np.float32)
    for k, start in enumerate(range(0, frames, core_in)):
        # The block with its margins; zeros stand in before the start and after the end.
        lo, hi = start - margin_in, start - margin_in + n_in
        window[:] = 0.0
        window[max(0, -lo):n_in - max(0, hi - frames)] = audio.samples[max(0, lo):min(frames, hi)]
        spectrum = np.fft.rfft(window, axis=0)
        bins = min(spectrum.shape[0], n_out // 2 + 1)
        shaped = np.zeros((n_out // 2 + 1, audio.channels), dtype=np.complex64)
        shaped[:bins] = spectrum[:bins] * taper[:bins]
        block_out = np.fft.irfft(shaped, n_out, axis=0)
        out[k * core_out:(k + 1) * core_out] = block_out[margin_out:margin_out + core_out] * scale
    return Audio(out[:total_out], rate)


# --- writing -------------------------------------------------------------------
def to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(np.rint(samples * 32767.0), -32768, 32767)
    return clipped.astype("<i2").tobytes()


def _wav_header(audio: Audio) -> bytes:
    size = audio.frames * 2 * audio.channels
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + size, b"WAVE", b"fmt ", 16, _PCM,
                       audio.channels, audio.rate, audio.rate * 2 * audio.channels,
                       2 * audio.channels, 16, b"data", size)


def wav_bytes(audio: Audio) -> bytes:
    return _wav_header(audio) + to_pcm16(audio.samples)


WRITE_BLOCK = 1 << 16     # frames converted and written at a time


def write_wav(audio: Audio, path: Path) -> Path:
    """16-bit PCM, written atomically: the final name appears only once the file is complete.
    Converted and written a block at a time: no one step holds the interpreter lock for
    long (a host's UI thread keeps running), and no second copy of the file is made."""
    def write(out):
        out.write(_wav_header(audio))
        for start in range(0, audio.frames, WRITE_BLOCK):
            out.write(to_pcm16(audio.samples[start:start + WRITE_BLOCK]))
    return atomic_write(Path(path), write)
