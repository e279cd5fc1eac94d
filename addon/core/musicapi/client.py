"""A small, dependency-light client for MusicAPI's "sonic" endpoints.

Rules that keep an editor's credits safe:
- reads (task polls, credits, WAV links, audio downloads) are retried with backoff,
  honouring ``Retry-After``;
- a paid POST (create, extend, concat, WAV) is sent again only when the service
  provably did not start it (rate-limited before work, or the connection was never
  made). After a timeout or a dropped connection the outcome is unknown and
  :class:`OutcomeUnknownError` is raised instead: the caller's journal decides.
- the key goes only to the API's own origin (audio lives on a CDN), and is redacted
  from every message and log line.
"""
from __future__ import annotations

import email.utils
import ipaddress
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests

from .errors import (
    AuthError, Cancelled, ConfigurationError, DownloadError, InsufficientCreditsError,
    InvalidRequestError, ModerationError, MusicAPIError, NetworkError,
    OutcomeUnknownError, RateLimitedError, ServiceError, TaskNotFoundError, redact,
)
from .models import TaskStatus

DEFAULT_BASE_URL = "https://api.musicapi.ai"
USER_AGENT = "ScoreFit (+https://github.com/scorefit/scorefit)"
log = logging.getLogger("scorefit.musicapi")

RETRYABLE_STATUS = frozenset({429, 430, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5           # tries in all, for a read
    base_delay: float = 1.0     # first backoff, doubled each time
    max_delay: float = 30.0
    max_retry_after: float = 120.0   # a longer wait is better reported than hidden
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.base_delay * (2 ** attempt), self.max_delay)
        return backoff * random.uniform(0.5, 1.0)  # jitter: many clients must not retry in step


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"The MusicAPI address {url!r} is not a web address.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"The MusicAPI address {url!r} uses plain http; only https is allowed "
            "(plain http is accepted for a local emulator on this computer).")
    return url.rstrip("/")


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _server_message(body) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "msg"):
            if body.get(key):
                return str(body[key])
    return ""


class MusicAPIClient:
    """Talks to MusicAPI (or a compatible emulator). Thread-safe for one job at a time."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *,
                 retry: RetryPolicy = RetryPolicy(), session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not api_key or not api_key.strip():
            raise AuthError("No MusicAPI key is set.")
        self._key = api_key.strip()
        self.base_url = check_base_url(base_url)
        self.retry = retry
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._origin = urlsplit(self.base_url)[:2]

    def __repr__(self) -> str:
        return f"MusicAPIClient(base_url={self.base_url!r}, api_key=[redacted])"

    # --- public calls -------------------------------------------------------------
    def submit(self, body: dict) -> str:
        """Start a create/extend/concat/cover task; returns its task id. Paid."""
        answer = self._call("POST", "/api/v1/sonic/create", body=body, paid=True)
        task_id = answer.get("task_id") or (answer.get("data") or {}).get("task_id")
        if not task_id:
            raise ServiceError("MusicAPI accepted the request but returned no task id.",
                               server_message=_server_message(answer))
        return str(task_id)

    def get_task(self, task_id: str) -> TaskStatus:
        status, body = self._call_with_status("GET", f"/api/v1/sonic/task/{task_id}")
        return TaskStatus.from_json(task_id, status, body)

    def wav_url(self, clip_id: str, *, preparing_attempts: int = 20) -> str:
        """Ask for the lossless WAV of a clip (paid, synchronous; 202 means "still preparing")."""
        for attempt in range(preparing_attempts):
            status, body = self._call_with_status("POST", "/api/v1/sonic/wav",
                                                  body={"clip_id": clip_id}, paid=True)
            data = body.get("data") if isinstance(body.get("data"), dict) else body
            url = data.get("wav_url") or data.get("audio_url")
            if status == 200 and url:
                return str(url)
            self._sleep(self.retry.delay(attempt, None))
        raise ServiceError("MusicAPI kept preparing the WAV file and never delivered it.")

    def credits(self) -> dict:
        return self._call("GET", "/api/v1/get-credits")

    def download(self, url: str, dest: Path, *, should_stop: Callable[[], bool] = lambda: False,
                 on_progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Download ``url`` to ``dest`` atomically: a partial file is never left as ``dest``."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        last: MusicAPIError | None = None
        for attempt in range(self.retry.attempts):
            try:
                self._download_once(url, part, should_stop, on_progress)
                os.replace(part, dest)
                return dest
            except MusicAPIError as error:
                last = error
                if isinstance(error, DownloadError) and error.status == 404:
                    break
            finally:
                part.unlink(missing_ok=True)
            if attempt + 1 < self.retry.attempts:
                self._sleep(self.retry.delay(attempt, last.retry_after))
        assert last is not None
        raise last

    # --- plumbing -----------------------------------------------------------------
    def _headers(self, url: str) -> dict:
        headers = {"Accept": "application/json"}
        if urlsplit(url)[:2] == self._origin:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _call(self, method: str, path: str, *, body: dict | None = None, paid: bool = False) -> dict:
        return self._call_with_status(method, path, body=body, paid=paid)[1]

    def _call_with_status(self, method: str, path: str, *, body: dict | None = None,
                          paid: bool = False) -> tuple[int, dict]:
        url = self.base_url + path
        for attempt in range(self.retry.attempts):
            last_try = attempt + 1 >= self.retry.attempts
            try:
                response = self._session.request(
                    method, url, json=body, headers=self._headers(url),
                    timeout=(self.retry.connect_timeout, self.retry.read_timeout))
            except requests.exceptions.ConnectionError as exc:
                never_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or \
                    "NewConnectionError" in repr(exc) or "NameResolutionError" in repr(exc)
                if paid and not never_sent:
                    raise OutcomeUnknownError(
                        "The connection to MusicAPI broke after the request was sent.") from None
                if last_try:
                    raise NetworkError(f"Could not reach MusicAPI at {self.base_url}.") from None
                self._back_off(method, path, attempt, None, "connection error")
                continue
            except requests.exceptions.Timeout:
                if paid:
                    raise OutcomeUnknownError("MusicAPI did not answer in time.") from None
                if last_try:
                    raise NetworkError("MusicAPI did not answer in time.") from None
                self._back_off(method, path, attempt, None, "timeout")
                continue
            except requests.exceptions.RequestException as exc:
                raise NetworkError(redact(f"The request to MusicAPI failed ({type(exc).__name__}).",
                                          self._key)) from None

            log.debug("%s %s -> %s", method, path, response.status_code)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            # A paid POST may be repeated only where the service rejected it before doing work.
            retryable = response.status_code in RETRYABLE_STATUS and (
                not paid or response.status_code in (429, 430))
            if retryable and not last_try:
                self._back_off(method, path, attempt, retry_after, str(response.status_code))
                continue
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            if response.status_code >= 400:
                raise self._error(response.status_code, _server_message(parsed), retry_after)
            if not isinstance(parsed, dict):
                if paid:
                    raise OutcomeUnknownError("MusicAPI's answer to a paid request was unreadable.")
                if last_try:
                    raise ServiceError("MusicAPI sent an unreadable answer.",
                                       status=response.status_code)
                self._back_off(method, path, attempt, None, "malformed JSON")
                continue
            return response.status_code, parsed
        raise AssertionError("unreachable")

    def _back_off(self, method, path, attempt, retry_after, why):
        delay = self.retry.delay(attempt, retry_after)
        log.info("%s %s: %s, retrying in %.1f s", method, path, why, delay)
        self._sleep(delay)

    def _error(self, status: int, message: str, retry_after: float | None) -> MusicAPIError:
        text = redact(message, self._key)
        lower = text.lower()
        kwargs = dict(status=status, server_message=text, retry_after=retry_after)
        shown = f"MusicAPI refused the request: {text}" if text else f"MusicAPI answered HTTP {status}."
        if status == 401:
            return AuthError(f"MusicAPI did not accept the key ({text or 'unauthorised'}).", **kwargs)
        if "task not found" in lower or (status == 404 and "task" in lower):
            return TaskNotFoundError(shown, **kwargs)
        if status == 403 and "credit" in lower:
            return InsufficientCreditsError("Your MusicAPI credits are not enough for this plan.", **kwargs)
        if status == 403 and ("subscription" in lower or "subscribe" in lower):
            return AuthError(shown, **kwargs)
        if status == 403:
            return ModerationError(shown, **kwargs)
        if status in (429, 430):
            return RateLimitedError("MusicAPI is rate-limiting requests.", **kwargs)
        if status >= 500:
            return ServiceError(f"MusicAPI had an internal error (HTTP {status}).", **kwargs)
        return InvalidRequestError(shown, **kwargs)

    def _download_once(self, url, part: Path, should_stop, on_progress):
        try:
            with self._session.get(url, headers=self._headers(url), stream=True,
                                   timeout=(self.retry.connect_timeout, self.retry.read_timeout)) as r:
                if r.status_code == 404:
                    raise DownloadError("The audio file is no longer available (HTTP 404).", status=404)
                if r.status_code >= 400:
                    raise DownloadError(f"The audio download failed (HTTP {r.status_code}).",
                                        status=r.status_code,
                                        retry_after=parse_retry_after(r.headers.get("Retry-After")))
                expected = r.headers.get("Content-Length")
                expected = int(expected) if expected and expected.isdigit() else None
                got = 0
                with open(part, "wb") as out:
                    for chunk in r.iter_content(chunk_size=1 << 16):
                        if should_stop():
                            raise Cancelled()
                        out.write(chunk)
                        got += len(chunk)
                        if on_progress:
                            on_progress(got, expected)
                    out.flush()
                    os.fsync(out.fileno())
        except requests.exceptions.RequestException as exc:
            raise DownloadError(f"The audio download broke off ({type(exc).__name__}).") from None
        if expected is not None and got != expected:
            raise DownloadError(f"The audio download was cut short ({got} of {expected} bytes).")
        if got == 0:
            raise DownloadError("The audio download was empty.")
