"""The fitted soundtrack's bar lines and 4-bar phrase starts as marks a host can put on its
timeline, so cuts can snap to the music. Every host names them the same way."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

BAR, PHRASE = "SF bar ", "SF phrase "


@dataclass(frozen=True)
class Mark:
    frame: int           # counted from the music's first frame
    name: str            # "SF bar 5", or "SF phrase 2" where a phrase starts
    phrase: bool


def marks(report: dict, fps: Fraction, frames: int, phrases_only: bool = False) -> list[Mark]:
    """The bar lines of a fit ``report`` (``FitReport.to_dict()``) that fall inside the first
    ``frames`` frames at ``fps``; only phrase starts with ``phrases_only``. Empty when the
    music has no beat grid."""
    phrases = {round(t, 4) for t in report.get("phrases", ())}
    out = []
    for number, seconds in enumerate(report.get("bars", ()), 1):
        phrase = round(seconds, 4) in phrases
        if phrases_only and not phrase:
            continue
        frame = round(Fraction(seconds).limit_denominator(1_000_000) * fps)
        if frame >= frames:
            break
        out.append(Mark(frame, f"{PHRASE}{number // 4 + 1}" if phrase else f"{BAR}{number}", phrase))
    return out
