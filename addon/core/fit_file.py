"""Fit to Cut for any track: fit an audio file the editor owns to the cut's length.

No MusicAPI call and no credits: the same fit engine as generated music, on the editor's
own file. The input is never changed; the fitted WAV and a JSON report are written
atomically beside each other.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

from . import audio
from .fit import FitError, FitReport, fit
from .library import atomic_write_json

REPORT_SUFFIX = ".fit.json"


def report_path(output: Path) -> Path:
    return Path(output).with_suffix(REPORT_SUFFIX)


def fit_file(source: Path, output: Path, target_samples: int, sample_rate: int = 48000,
             decoder: audio.Decoder | None = None) -> FitReport:
    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve():
        raise FitError(f"the output would overwrite the input {source.name}; choose another output file")
    music = audio.load(source, decoder)
    fitted, report = fit(music, target_samples, sample_rate)
    audio.write_wav(fitted, output)
    atomic_write_json(report_path(output), {
        "source": str(source.resolve()), "source_sha256": _sha256(source),
        "output": str(output.resolve()), "fit": report.to_dict(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return report


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
