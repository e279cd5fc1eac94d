"""Vendored MusicAPI client (host-free; needs only ``requests``)."""
from .client import DEFAULT_BASE_URL, MusicAPIClient, RetryPolicy, check_base_url, is_loopback
from .errors import (
    AuthError, Cancelled, ConfigurationError, DownloadError, InsufficientCreditsError,
    InvalidRequestError, ModerationError, MusicAPIError, NetworkError, OutcomeUnknownError,
    RateLimitedError, ServiceError, TaskFailedError, TaskNotFoundError, redact,
)
from .models import Clip, TaskStatus
from .waiting import SYSTEM_CLOCK, CancelToken, Clock, ManualClock, PollSchedule, TaskPolls

__all__ = [
    "DEFAULT_BASE_URL", "MusicAPIClient", "RetryPolicy", "check_base_url", "is_loopback",
    "AuthError", "Cancelled", "ConfigurationError", "DownloadError", "InsufficientCreditsError",
    "InvalidRequestError", "ModerationError", "MusicAPIError", "NetworkError",
    "OutcomeUnknownError", "RateLimitedError", "ServiceError", "TaskFailedError",
    "TaskNotFoundError", "redact", "Clip", "TaskStatus", "SYSTEM_CLOCK", "CancelToken", "Clock",
    "ManualClock", "PollSchedule", "TaskPolls",
]
