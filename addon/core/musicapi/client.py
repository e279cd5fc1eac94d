"""A small, dependency-light client for MusicAPI's "sonic" endpoints.

The money rules (docs/musicapi.md, "Paid requests") live in the transport:

- reads (task polls, the balance, audio downloads) go through an adapter whose
  ``urllib3`` Retry repeats connection failures, timeouts, 429/430 and 5xx with
  backoff, honouring ``Retry-After`` up to a cap;
- paid POSTs (create, extend, concat, WAV) go through an adapter that repeats only what
  provably never reached the service: a connection that was never made, or 429/430,
  which the service answers before any work. After the request may have been sent (a
  broken connection, a timeout, a 5xx from the service or a gateway, an unreadable
  answer) :class:`OutcomeUnknownError` is raised and nothing is sent again: the
  caller's journal and the editor decide;
- the key goes only to the API's own origin (audio lives on a CDN), and is redacted
  from every message and log line;
- ``stop_reads()`` (a cancelled job) cuts a read that waits on a silent server at once,
  rather than after the read timeout and every retry (minutes); paid POSTs are left to
  finish, so a cancel never makes their outcome unknown.
"""
from __future__ import annotations

import email.utils
import ipaddress
import logging
import os
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from .errors import (
    AuthError, Cancelled, ConfigurationError, DownloadError, InsufficientCreditsError,
    InvalidRequestError, ModerationError, MusicAPIError, NetworkError,
    OutcomeUnknownError, RateLimitedError, ServiceError, TaskNotFoundError, redact,
)
from .models import TaskStatus
from .waiting import SYSTEM_CLOCK, CancelToken, Clock, PollSchedule

DEFAULT_BASE_URL = "https://api.musicapi.ai"
USER_AGENT = "ScoreFit (+https://github.com/scorefit/scorefit)"
log = logging.getLogger("scorefit.musicapi")

RATE_LIMITED = frozenset({429, 430})      # answered before any work is done
READ_RETRY_STATUS = RATE_LIMITED | {500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5           # tries in all, for a read
    base_delay: float = 1.0     # first backoff, doubled each time
    max_delay: float = 30.0
    max_retry_after: float = 120.0   # a longer wait is better reported than hidden
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


class _Retry(Retry):
    """urllib3's Retry with the waits capped, a tolerant ``Retry-After`` parser (seconds
    with a fraction, or an HTTP date), and a sleep the tests can replace. Only the status
    codes listed are ever retried: urllib3 would otherwise repeat a 503 that carries
    ``Retry-After`` even on a POST."""

    RETRY_AFTER_STATUS_CODES = frozenset()
    sleeper: Callable[[float], None] = staticmethod(time.sleep)
    max_wait: float = 120.0
    max_backoff: float = 30.0
    stopped: Callable[[], bool] = staticmethod(lambda: False)

    def new(self, **kw):
        retry = super().new(**kw)
        retry.sleeper, retry.max_wait, retry.max_backoff = self.sleeper, self.max_wait, self.max_backoff
        retry.stopped = self.stopped
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if self.stopped():
            raise MaxRetryError(_pool, url, error)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def parse_retry_after(self, value):
        return parse_retry_after(value)

    def sleep(self, response=None):
        wait = self.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = min(self.get_backoff_time(), self.max_backoff)
        wait = min(wait, self.max_wait)
        if wait > 0:
            log.info("retrying in %.1f s", wait)
            self.sleeper(wait)


class _OpenConnections:
    """The connections a transport has made, so that ``cut()`` can end a read that waits:
    shutting a socket down wakes the thread blocked on it. Proxied connections are not
    seen (a cancel then waits for the read timeout, as before)."""

    def __init__(self):
        self._connections = weakref.WeakSet()
        self._lock = threading.Lock()
        self.stopped = False

    def pools(self) -> dict:
        def tracked(base):
            registry = self

            class Connection(base):
                def connect(self):
                    if registry.stopped:
                        raise ConnectionAbortedError("reads are stopped")
                    super().connect()
                    with registry._lock:
                        registry._connections.add(self)
                        stopped = registry.stopped
                    if stopped:    # stopped while this one was connecting: cut() missed it
                        self.close()
                        raise ConnectionAbortedError("reads are stopped")
            return Connection

        class Pool(HTTPConnectionPool):
            ConnectionCls = tracked(HTTPConnection)

        class TlsPool(HTTPSConnectionPool):
            ConnectionCls = tracked(HTTPSConnection)
        return {"http": Pool, "https": TlsPool}

    def cut(self):
        with self._lock:           # with connect()'s registration: one of the two sees the other
            self.stopped = True
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass        # already closed


def _adapter(policy: RetryPolicy, sleep, *, paid: bool, connections: _OpenConnections | None = None) -> HTTPAdapter:
    tries = max(0, policy.attempts - 1)
    retry = _Retry(
        total=tries, connect=tries,
        # After a paid request is sent, its outcome is unknown: never repeated.
        read=0 if paid else tries, other=0 if paid else tries,
        status=tries, status_forcelist=RATE_LIMITED if paid else READ_RETRY_STATUS,
        allowed_methods=frozenset({"POST"}) if paid else frozenset({"GET", "HEAD"}),
        backoff_factor=policy.base_delay / 2, raise_on_status=False, raise_on_redirect=False)
    retry.sleeper, retry.max_wait, retry.max_backoff = sleep, policy.max_retry_after, policy.max_delay
    adapter = HTTPAdapter(max_retries=retry)
    if connections is not None:
        retry.stopped = lambda: connections.stopped
        adapter.poolmanager.pool_classes_by_scheme = connections.pools()
    return adapter


def _never_sent(error: requests.RequestException) -> bool:
    """Whether a failed request provably never reached the server: the connection itself
    could not be made (refused, unresolvable, timed out while connecting)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, ConnectTimeoutError)    # NewConnectionError is one too


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


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: seconds, or an HTTP date (measured
    from ``now``, a POSIX time, by default the present)."""
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
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _server_message(body) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "msg"):
            if body.get(key):
                return str(body[key])
    return ""


class MusicAPIClient:
    """Talks to MusicAPI (or a compatible emulator). Thread-safe for one job at a time."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep):
        # No key is needed until something is sent: a free Refit or a run the library
        # serves makes a client and never asks the service anything.
        self._key = (api_key or "").strip()
        self.base_url = check_base_url(base_url)
        self.retry = retry
        self._sleep = sleep
        self._origin = urlsplit(self.base_url)[:2]
        self._open_reads = _OpenConnections()
        self._reads = self._session(paid=False, connections=self._open_reads)
        self._paid = self._session(paid=True)
        # A paid POST never rides on a kept-alive connection the server may have closed
        # meanwhile: that failure would look like "sent, outcome unknown".
        self._paid.headers["Connection"] = "close"

    def _session(self, *, paid: bool, connections: _OpenConnections | None = None) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        adapter = _adapter(self.retry, self._sleep, paid=paid, connections=connections)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def __repr__(self) -> str:
        return f"MusicAPIClient(base_url={self.base_url!r}, api_key=[redacted])"

    def stop_reads(self):
        """End any read in flight (a poll, the balance, a download) and every read after
        it, with :class:`NetworkError`: for a cancelled job, which must not wait on a
        silent server. Paid requests are not touched."""
        self._open_reads.cut()

    # --- public calls -------------------------------------------------------------
    def submit(self, body: dict) -> str:
        """Start a create/extend/concat/cover task; returns its task id. Paid."""
        answer = self._call("POST", "/api/v1/sonic/create", body)[1]
        task_id = answer.get("task_id") or (answer.get("data") or {}).get("task_id")
        if not task_id:
            raise OutcomeUnknownError("MusicAPI accepted the request but returned no task id.",
                                      server_message=_server_message(answer))
        return str(task_id)

    def get_task(self, task_id: str) -> TaskStatus:
        try:
            status, body = self._call("GET", f"/api/v1/sonic/task/{task_id}")
        except UnreadableAnswer:
            return TaskStatus(task_id, not_ready=True, unreadable=True)    # the next poll asks again
        return TaskStatus.from_json(task_id, status, body)

    def wait(self, task_id: str, expected: float, *, schedule: PollSchedule = PollSchedule(),
             wanted: int = 1, cancel: CancelToken | None = None, clock: Clock = SYSTEM_CLOCK,
             waited: float = 0.0, on_poll: Callable[[TaskStatus | None, float], None] | None = None
             ) -> TaskStatus:
        """Poll ``task_id`` until ``wanted`` clips are done (or every clip has ended); the
        one polling path, paced by ``schedule`` around the ``expected`` service seconds.

        ``waited``: clock seconds the task has already run (a resumed job). ``on_poll``
        is called before each wait with the latest status (None before the first poll)
        and the service seconds elapsed, for progress and for using a clip early.
        Raises :class:`TaskFailedError` if the task fails and :class:`Cancelled` when
        ``cancel`` is set."""
        scale = max(schedule.time_scale, 1e-9)
        started = clock.now() - max(0.0, waited)
        polls = schedule.for_task(expected)
        status, unreadable = None, 0
        while True:
            elapsed = (clock.now() - started) / scale
            if elapsed > schedule.give_up_after(expected):
                raise ServiceError(
                    f"MusicAPI has been working on this task for {elapsed / 60:.0f} min, far past the "
                    f"{expected / 60:.0f} min it usually takes.",
                    hint="Nothing more was sent. Run again later to go on waiting for it (it is "
                         "polled, never paid for again).")
            if on_poll is not None:
                on_poll(status, elapsed)
            nearly = status is not None and any(c.done for c in status.clips)
            clock.sleep(polls.next_delay(elapsed, nearly) * scale, cancel)
            status = self.get_task(task_id)
            unreadable = unreadable + 1 if status.unreadable else 0
            if unreadable >= schedule.unreadable_polls:
                raise ServiceError(
                    f"{unreadable} answers in a row about the task were not MusicAPI's (a proxy or a "
                    "network sign-in page answers instead?).",
                    hint="Check the connection, then run again: the task is polled again, never paid for twice.")
            if status.finished(wanted) is not None:
                return status

    def wav_url(self, clip_id: str, *, preparing_attempts: int = 20) -> str:
        """Ask for the lossless WAV of a clip (paid, synchronous). HTTP 202 is the service
        saying "still preparing, ask again": part of the protocol, not a failure."""
        for attempt in range(preparing_attempts):
            status, body = self._call("POST", "/api/v1/sonic/wav", {"clip_id": clip_id})
            data = body.get("data") if isinstance(body.get("data"), dict) else body
            url = data.get("wav_url") or data.get("audio_url")
            if status == 200 and url:
                return str(url)
            self._sleep(min(self.retry.base_delay * 2 ** attempt, self.retry.max_delay))
        raise ServiceError("MusicAPI kept preparing the WAV file and never delivered it.")

    def credits(self) -> dict:
        return self._call("GET", "/api/v1/get-credits")[1]

    def balance(self) -> int | None:
        """Credits left (free to ask), or None where the service has no balance endpoint
        (its path is not in MusicAPI's main reference: docs/musicapi.md)."""
        try:
            answer = self.credits()
        except (InvalidRequestError, ServiceError):
            return None
        data = answer.get("data") if isinstance(answer.get("data"), dict) else answer
        try:
            return int(data.get("credits") or 0) + int(data.get("extra_credits") or 0)
        except (TypeError, ValueError):
            return None

    def download(self, url: str, dest: Path, *, should_stop: Callable[[], bool] = lambda: False,
                 on_progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Download ``url`` to ``dest`` atomically: a partial file is never left as ``dest``.

        Failures before the body starts are retried by the transport; a body that breaks
        off midway is fetched again here (no transport can retry what it already handed
        over)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        for attempt in range(self.retry.attempts):
            try:
                self._download_once(url, part, should_stop, on_progress)
                os.replace(part, dest)
                return dest
            except DownloadError as error:
                if error.status is not None or attempt + 1 >= self.retry.attempts or self._open_reads.stopped:
                    raise          # an HTTP error the transport already retried, the last try, or stopped
                self._sleep(min(self.retry.base_delay * 2 ** attempt, self.retry.max_delay))
            finally:
                part.unlink(missing_ok=True)
        raise AssertionError("unreachable")

    # --- plumbing -----------------------------------------------------------------
    def _headers(self, url: str) -> dict:
        headers = {"Accept": "application/json"}
        if urlsplit(url)[:2] == self._origin:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """One request through the read or the paid transport; every POST here is paid."""
        paid = method == "POST"
        url = self.base_url + path
        if not self._key:
            raise AuthError("No MusicAPI key is set.")
        session = self._paid if paid else self._reads
        try:
            response = session.request(method, url, json=body, headers=self._headers(url),
                                       timeout=(self.retry.connect_timeout, self.retry.read_timeout))
        except requests.exceptions.RequestException as error:
            if _never_sent(error):
                raise NetworkError(f"Could not reach MusicAPI at {self.base_url}.") from None
            if paid:
                raise OutcomeUnknownError("The request was sent, but no answer came back "
                                          f"({_what(error)}).") from None
            raise NetworkError(f"MusicAPI did not answer ({_what(error)}).") from None
        log.debug("%s %s -> %s", method, path, response.status_code)
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        status = response.status_code
        if paid and status >= 500:
            # A gateway (502/503/504) or the service failing says nothing of whether the
            # work started and was charged.
            raise OutcomeUnknownError(f"MusicAPI answered HTTP {status} after the request reached it.",
                                      status=status, server_message=_server_message(parsed))
        if status >= 400:
            raise self._error(status, _server_message(parsed),
                              parse_retry_after(response.headers.get("Retry-After")))
        if not isinstance(parsed, dict):
            if paid:
                raise OutcomeUnknownError("MusicAPI's answer to a paid request was unreadable.")
            raise UnreadableAnswer("MusicAPI sent an unreadable answer.", status=status)
        return status, parsed

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
        if status in RATE_LIMITED:
            return RateLimitedError("MusicAPI is rate-limiting requests.", **kwargs)
        if status >= 500:
            return ServiceError(f"MusicAPI had an internal error (HTTP {status}).", **kwargs)
        return InvalidRequestError(shown, **kwargs)

    def _download_once(self, url, part: Path, should_stop, on_progress):
        try:
            with self._reads.get(url, headers=self._headers(url), stream=True,
                                 timeout=(self.retry.connect_timeout, self.retry.read_timeout)) as r:
                if r.status_code >= 400:
                    gone = " is no longer available" if r.status_code == 404 else " failed"
                    raise DownloadError(f"The audio file{gone} (HTTP {r.status_code}).",
                                        status=r.status_code)
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


class UnreadableAnswer(ServiceError):
    """A read answered 200 with something that is not JSON (a proxy's page, a cut-off body)."""


def _what(error: BaseException) -> str:
    # requests wraps a read timeout that went through urllib3's retries in a ConnectionError.
    reason = getattr(error.args[0], "reason", None) if error.args else None
    timed_out = isinstance(error, requests.exceptions.Timeout) or isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))
    return "it timed out" if timed_out else "the connection broke"
