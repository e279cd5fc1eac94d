"""Waiting on a task: the clock it is measured on, the cancel that ends it, and the poll
schedule (docs/musicapi.md, "Polling"). :meth:`MusicAPIClient.wait` is the one polling
path; everything here is its policy.

The clock is injectable: :class:`ManualClock` is time that passes only when someone
waits, shared by a test's client and emulator, so polling is tested without sleeping
and without racing the machine's load.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .errors import Cancelled


class CancelToken:
    """Set by the editor (a Cancel button, Ctrl-C); checked at every safe point."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self):
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self):
        if self._event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float):
        """Wait ``seconds`` of real time, or raise :class:`Cancelled` at once if cancelled."""
        if self._event.wait(max(0.0, seconds)):
            raise Cancelled()


class Clock:
    """Real time, as the service and the editor live it."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, cancel: CancelToken | None = None):
        if cancel is not None:
            cancel.sleep(seconds)
        elif seconds > 0:
            time.sleep(seconds)


class ManualClock(Clock):
    """Time that moves only when a waiter sleeps (or :meth:`advance` is called): a wait of
    a minute takes no real time, and what happens in it does not depend on the machine."""

    def __init__(self, start: float = 1000.0):
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float, cancel: CancelToken | None = None):
        if cancel is not None:
            cancel.check()
        self.advance(seconds)

    def advance(self, seconds: float):
        with self._lock:
            self.slept.append(max(0.0, seconds))
            self._now += max(0.0, seconds)


SYSTEM_CLOCK = Clock()


@dataclass(frozen=True)
class PollSchedule:
    """When to ask about a task again (docs/musicapi.md, "Polling").

    Times are the service's own, ``time_scale`` shrinks them for a faster emulator.
    Before ``dense_from`` of the expected time (the forecast, corrected by the pace seen
    on this job's earlier tasks: no task finishes in less than a quarter of it) two polls
    only; from then on one every ``interval``
    (seconds), so a finished task is seen within that long however long it runs: a task
    slower than forecast is watched as closely as any, never by a count of polls that
    runs out. Past ``give_up`` times the expected time (and at least ``give_up_min``
    seconds) the wait ends, resumable. ``unreadable_polls`` answers in a row that are
    not MusicAPI's end it too.
    """
    interval: float = 2.0
    dense_from: float = 0.25
    give_up: float = 10.0
    give_up_min: float = 1800.0
    unreadable_polls: int = 10
    time_scale: float = 1.0

    def give_up_after(self, expected: float) -> float:
        """Service seconds after which a task is given up on (resumably)."""
        return max(self.give_up_min, self.give_up * expected)

    def for_task(self, expected: float) -> "TaskPolls":
        return TaskPolls(self, expected)


class TaskPolls:
    """The polls of one task: :meth:`next_delay` is the wait, in the service's seconds."""

    def __init__(self, schedule: PollSchedule, expected: float):
        self.schedule = schedule
        self.expected = expected
        self.polls = 0

    def next_delay(self, elapsed: float, nearly_done: bool = False) -> float:
        s = self.schedule
        start = s.dense_from * self.expected
        if elapsed < start and not nearly_done:
            delay = max(s.interval, min(start - elapsed, start / 2))
        else:
            delay = s.interval
        self.polls += 1
        return delay
