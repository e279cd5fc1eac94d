"""MP3 (and any format Blender reads) → WAV through Blender's own FFmpeg (audaspace), for
the core's decoder hook.

The whole file is read into memory with ``aud.Sound.data()`` and written by the core:
``Sound.write`` (audaspace's own writer) failed on some files that ``data()`` reads
correctly (issue 22). Exact lengths are cut in the core on PCM, because audaspace's
resampling and ``limit()`` are not sample-exact.
"""
from __future__ import annotations

from pathlib import Path

from ..core import Audio, write_wav


def decode_mp3(src: Path, dst: Path) -> None:
    import aud
    sound = aud.Sound(str(src))
    rate = int(sound.specs[0])
    samples = sound.data()                 # float32, (frames, channels)
    if samples is None or len(samples) == 0:
        raise ValueError("Blender's decoder read no audio from it")
    write_wav(Audio(samples.reshape(len(samples), -1), rate), dst)
