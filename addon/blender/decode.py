"""MP3 → WAV through Blender's own FFmpeg (audaspace), for the core's decoder hook.

Only decoding happens here: exact lengths are cut in the core on PCM, because
audaspace's resampling and ``limit()`` are not sample-exact.
"""
from __future__ import annotations

from pathlib import Path


def decode_mp3(src: Path, dst: Path) -> None:
    import aud
    sound = aud.Sound(str(src))
    rate, _channels = sound.specs
    sound.write(str(dst), rate=int(rate), channels=aud.CHANNELS_STEREO, format=aud.FORMAT_S16,
                container=aud.CONTAINER_WAV, codec=aud.CODEC_PCM)
