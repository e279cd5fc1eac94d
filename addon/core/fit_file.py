"""Fit to Cut for any track: fit an audio file the editor owns to the cut's length.

No MusicAPI call and no credits: the same fit engine as generated music, on the editor's
own file. The input is never changed; the fitted WAV and a JSON report are written
atomically beside each other.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import audio
from .fit import FitError, FitReport, ducked, fit, levelled
from .provenance import FIT_TO_CUT, OWN_NOTE, Provenance

REPORT_SUFFIX = ".fit.json"


def report_path(output: Path) -> Path:
    return Path(output).with_suffix(REPORT_SUFFIX)


def fit_file(source: Path, output: Path, target_samples: int, sample_rate: int = 48000,
             decoder: audio.Decoder | None = None, window: tuple[float, float] | None = None,
             loudness: float | None = None, duck_under: tuple = ()) -> FitReport:
    """Fit ``source`` (only ``window``: its start and length in seconds, when given: what a
    trimmed strip plays) to ``target_samples`` at ``sample_rate``; write it and its report."""
    source, output = Path(source), Path(output)
    if source.resolve() == output.resolve():
        raise FitError(f"the output would overwrite the input {source.name}; choose another output file")
    music = audio.load(source, decoder)
    if window is not None:
        first = max(0, round(window[0] * music.rate))
        music = audio.Audio(music.samples[first:first + max(1, round(window[1] * music.rate))], music.rate)
    fitted, report = ducked(*levelled(*fit(music, target_samples, sample_rate), loudness), tuple(duck_under))
    audio.write_wav(fitted, output)
    Provenance(kind=FIT_TO_CUT, fit={"primary": report.to_dict()}, origin="own", licence=OWN_NOTE,
               source={"path": str(source.resolve()), "sha256": _sha256(source),
                       **({"window_seconds": list(window)} if window is not None else {})},
               output=str(output.resolve())).save(report_path(output))
    return report


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
