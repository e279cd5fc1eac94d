"""The contract every host implements, and the rules they share.

A host (Blender's scene, a Resolve timeline, an editor's exported timeline file) does
three things, each only with its own API calls:

- :meth:`Host.read_timeline`: the cut as a :class:`~core.timeline.Timeline`;
- :meth:`Host.placed`: the ScoreFit soundtrack already on it, if any (what Refit replaces);
- :meth:`Host.place`: put a finished result at the start of the timeline (or where
  ``replacing`` is), all or nothing: it raises :class:`PlacementError` having changed
  nothing, or returns what it did.

Everything else is here, once: a soundtrack is placed only on the range it was fitted to,
a failure keeps the paid file and says where it is, and the outcome reads the same in
every host. (OpenTimelineIO's adapter contract, glTF-Blender-IO's core under a thin host.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .errors import ScoreFitError
from .pipeline import Result
from .session import Snapshot
from .timeline import Timeline


@dataclass(frozen=True)
class Placed:
    """A ScoreFit soundtrack already on a host's timeline."""
    request_key: str                 # its song in the library (what Refit fits again)
    where: str                       # how the editor finds it: "'ScoreFit Chase' on channel 2"
    handle: object = field(default=None, compare=False, repr=False)    # the host's own reference


@dataclass(frozen=True)
class Placement:
    """What a host did with a result: ``text`` in the editor's words. ``complete`` is False
    when the host placed it but the editor should check something (the host said what)."""
    text: str
    complete: bool = True


class Host(Protocol):
    def read_timeline(self) -> Timeline: ...

    def placed(self) -> Placed | None: ...

    def place(self, result: Result, replacing: Placed | None = None) -> Placement: ...


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str


def range_changed(fitted: Timeline, now: Timeline) -> str:
    """Why a result is not placed on a timeline whose range changed ("" when it did not)."""
    if (now.start_frame, now.duration_frames) == (fitted.start_frame, fitted.duration_frames):
        return ""
    return (f"The timeline's range changed while ScoreFit worked (it fitted frames {fitted.start_frame} "
            f"to {fitted.end_frame - 1}; it now runs {now.start_frame} to {now.end_frame - 1}), so "
            "nothing was placed.")


def _sentence(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or 'A file'}: {error.strerror}."
    return str(error).rstrip(".") + "."


def deliver(host: Host, fitted: Timeline, snap: Snapshot, replacing: Placed | None = None) -> Outcome:
    """Place a finished job's result on ``host`` and say what became of it: only on the
    range it was ``fitted`` to, all or nothing, the paid file kept and named on failure."""
    if snap.state != "done":
        return Outcome(False, snap.error)
    result = snap.result
    kept = f"The soundtrack is kept at {result.primary}"
    try:
        changed = range_changed(fitted, host.read_timeline())
        if changed:
            return Outcome(False, f"{changed} {kept}; Refit fits its song to the new range (free when "
                                  "the song is long enough).")
        placement = host.place(result, replacing)
    except (ScoreFitError, RuntimeError, OSError) as error:    # a host's API, or its files
        return Outcome(False, f"{_sentence(error)} {kept}.")
    return Outcome(placement.complete, f"{placement.text} {snap.message}".strip())
