"""Reading and writing audio with pydub, in WAV, so that no FFmpeg is needed.

MP3 needs a decoder: FFmpeg on the PATH (pydub's), or one the host supplies
(Blender's bundled FFmpeg through ``aud``). Without either, the editor is told to
choose WAV output before anything is paid for.
"""
from __future__ import annotations

import io
import shutil
import warnings
from pathlib import Path
from typing import Callable

with warnings.catch_warnings():
    # pydub warns at import when FFmpeg is missing; ScoreFit needs none for WAV.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

from .library import atomic_write_bytes

# A host decoder turns an MP3 file into a WAV file: decoder(src, dst_wav).
Decoder = Callable[[Path, Path], None]


class DecoderMissing(RuntimeError):
    def __init__(self):
        super().__init__(
            "MP3 needs an audio decoder (FFmpeg) that is not available here. "
            "Choose WAV output (lossless, 2 credits more), or install FFmpeg.")


def mp3_decoder_available(host_decoder: Decoder | None = None) -> bool:
    return host_decoder is not None or shutil.which("ffmpeg") is not None


def load(path: Path, decoder: Decoder | None = None) -> AudioSegment:
    path = Path(path)
    if path.suffix.lower() == ".wav":
        return AudioSegment.from_wav(path)
    if decoder is not None:
        wav = path.with_suffix(".decoded.wav")
        try:
            decoder(path, wav)
            return AudioSegment.from_wav(wav)
        finally:
            wav.unlink(missing_ok=True)
    if shutil.which("ffmpeg"):
        return AudioSegment.from_file(path)
    raise DecoderMissing()


def conform(segment: AudioSegment, sample_rate: int) -> AudioSegment:
    """Stereo, 16-bit, at the host's sample rate."""
    return segment.set_sample_width(2).set_channels(2).set_frame_rate(sample_rate)


def write_wav(segment: AudioSegment, path: Path) -> Path:
    """Write atomically: the final name appears only once the file is complete."""
    buffer = io.BytesIO()
    segment.export(buffer, format="wav")
    return atomic_write_bytes(Path(path), buffer.getvalue())
