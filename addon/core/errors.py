"""The one exception root every host catches: :class:`ScoreFitError`.

``str(error)`` is the whole sentence an editor reads: what happened, then ``hint``,
what to do about it. Host code catches this one type (plus ``OSError`` for files it
touches itself); :func:`core.session.describe` turns anything else into a sentence too.
Bad input is :class:`InputError`, a ``ValueError`` as well.
"""
from __future__ import annotations


class ScoreFitError(Exception):
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        if hint is not None:
            self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputError(ScoreFitError, ValueError):
    """What the editor gave cannot be used (a timeline, a frame rate, a setting). Also a
    ``ValueError``, so code that validated with ``ValueError`` keeps working."""


class PlacementError(ScoreFitError):
    """A host could not place the soundtrack; nothing was added to its timeline."""


class PreflightError(ScoreFitError):
    """Found before the first paid request: nothing was spent."""
    hint = "Nothing was sent and no credits were spent."


class BudgetError(ScoreFitError):
    """The music cannot reach the cut within the credits the plan showed: stopped before
    spending what could not finish it. Paid steps are kept; a run again continues."""


class RefitError(ScoreFitError):
    hint = "Generate a new soundtrack instead (or use Fit Strip to Cut on a file you have)."
