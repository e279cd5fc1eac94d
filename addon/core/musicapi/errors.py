"""One exception family for everything MusicAPI can answer, each saying what to do next.

``str(error)`` is written for the editor; ``error.status`` and ``error.server_message``
are kept for logs and tests. No message ever contains the API key: the client passes
every text through :func:`redact` before raising.
"""
from __future__ import annotations

from ..errors import ScoreFitError


def redact(text: str, secret: str | None) -> str:
    if not text:
        return text
    if secret:
        text = text.replace(secret, "[redacted]")
    return text


class MusicAPIError(ScoreFitError):
    """Anything MusicAPI answered (or failed to). ``hint`` tells the editor what to do."""

    hint = "Try again later; if it keeps happening, check MusicAPI's status page."

    def __init__(self, message: str, *, status: int | None = None,
                 server_message: str = "", hint: str | None = None, retry_after: float | None = None):
        self.status = status
        self.server_message = server_message
        self.retry_after = retry_after
        super().__init__(message, hint=hint)


class ConfigurationError(MusicAPIError):
    hint = "Check ScoreFit's settings."


class AuthError(MusicAPIError):
    hint = ("Check the MusicAPI key in ScoreFit's settings (or the MUSICAPI_KEY "
            "environment variable) and that your subscription is active.")


class InsufficientCreditsError(MusicAPIError):
    hint = ("Buy more credits on musicapi.ai, then run again: every step already paid for is kept "
            "and never paid again. Or choose a shorter plan (fewer extends).")


class ModerationError(MusicAPIError):
    hint = "Reword the prompt, title or tags (avoid artist names and lyrics you did not write) and try again."


class InvalidRequestError(MusicAPIError):
    hint = ("MusicAPI did not accept a setting of this request (its words above say which, when they "
            "do): change it, or choose another model, and try again. Nothing was charged.")


class TaskNotFoundError(InvalidRequestError):
    hint = ("The service no longer knows this task. Check your MusicAPI account, then Start "
            "Afresh (--forget-pending, or 'scorefit pending --forget KEY') sends only it again.")


class RateLimitedError(MusicAPIError):
    hint = "The service is busy; wait a minute and try again."


class ServiceError(MusicAPIError):
    hint = "MusicAPI had a problem on its side; try again in a few minutes."


class TaskFailedError(MusicAPIError):
    hint = ("The generation failed on the service side; its credits are refunded by MusicAPI. "
            "Try again, perhaps with a different prompt.")


class NetworkError(MusicAPIError):
    hint = "Check the internet connection (and any proxy or firewall), then try again."


class OutcomeUnknownError(NetworkError):
    """A paid request may have reached the service, but its answer was lost: it may have
    been charged. Never sent again without the editor (docs/musicapi.md, "Paid requests")."""

    hint = ("It may have started and been charged. ScoreFit did not send it again; "
            "check your MusicAPI account's history before sending it again.")


class DownloadError(MusicAPIError):
    hint = "The audio could not be downloaded completely; run again to resume (nothing is charged twice)."


class Cancelled(Exception):
    """The user cancelled; raised at the next safe point."""
