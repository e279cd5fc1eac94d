"""Write WAV files in the formats editors hand ScoreFit (the standard library's wave module
writes integer PCM only)."""
import struct

import numpy as np


def write(path, samples: np.ndarray, rate: int, *, bits: int = 16, floating: bool = False,
          extensible: bool = False):
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    channels = samples.shape[1]
    if floating:
        data = samples.astype("<f4" if bits == 32 else "<f8").tobytes()
    elif bits == 24:
        ints = np.clip(np.rint(samples * 8388607), -8388608, 8388607).astype("<i4")
        data = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        data = np.clip(np.rint(samples * 32767), -32768, 32767).astype("<i2").tobytes()
    tag = 3 if floating else 1
    align = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * align, align, bits, 22, bits, 3) + guid
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    with open(path, "wb") as handle:
        handle.write(b"RIFF" + struct.pack("<I", len(body)) + body)
