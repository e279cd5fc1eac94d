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
    on this job's earlier tasks) two polls only; then one every ``interval``, so a
    finished task is seen within that long; past ``dense_polls`` the wait grows by
    ``growth`` a poll, so a task far slower than forecast stays within ``budget``
    polls for several minutes. Once one clip of a task is done, the next poll comes
    after ``interval``: the other clip follows within seconds.
    """
    interval: float = 2.0
    dense_from: float = 0.8
    dense_polls: int = 20
    growth: float = 1.5
    max_interval: float = 60.0
    budget: int = 30
    time_scale: float = 1.0

    def for_task(self, expected: float) -> "TaskPolls":
        return TaskPolls(self, expected)


class TaskPolls:
    """The polls of one task: :meth:`next_delay` is the wait, in the service's seconds."""

    def __init__(self, schedule: PollSchedule, expected: float):
        self.schedule = schedule
        self.expected = expected
        self.polls = 0
        self._dense = 0

    def next_delay(self, elapsed: float, nearly_done: bool = False) -> float:
        s = self.schedule
        start = s.dense_from * self.expected
        if nearly_done and self.polls < s.budget - 1:
            delay = s.interval
        elif elapsed < start:
            delay = max(s.interval, min(start - elapsed, start / 2))
        else:
            self._dense += 1
            late = self._dense - s.dense_polls
            delay = s.interval if late <= 0 else min(s.max_interval, s.interval * s.growth ** late)
        self.polls += 1
        return delay
