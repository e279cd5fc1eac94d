"""The journal of one paid request: its steps and what became of each, written before and
after every paid call, so a run killed mid-poll resumes instead of paying again.

The journal owns its states: callers move a job or a step with the methods below, never
by writing fields. On disk it is plain JSON (the states are their string values), and
journals written by earlier versions read as they were.
"""
from __future__ import annotations

import threading
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write_json
from .plan import CREDITS

if TYPE_CHECKING:
    from .library import Library


class JobState(str, Enum):
    NEW = "new"              # nothing sent yet
    RUNNING = "running"      # steps sent; the result is not complete
    DONE = "done"            # the source audio of every take is in the library


class StepState(str, Enum):
    SUBMITTING = "submitting"    # about to be sent, or sent with no answer yet
    POLLING = "polling"          # accepted: the task id is known
    DONE = "done"                # answered: clips (a task) or a URL (a WAV request)
    UNKNOWN = "unknown"          # sent, answer lost: it may have been charged
    EXPIRED = "expired"          # answered and paid, but its link is no longer served

    @property
    def lost(self) -> bool:
        """Sent (or about to be) with no answer: never sent again without the editor."""
        return self in (StepState.SUBMITTING, StepState.UNKNOWN)


class Job:
    """One request's journal in a :class:`~core.library.Library`."""

    def __init__(self, library: "Library", key: str, data: dict):
        self.library = library
        self.key = key
        self.data = data
        # The two takes' audio may be fetched at once: journal writes take turns.
        self.lock = threading.RLock()

    # --- what it says ----------------------------------------------------------------
    @property
    def state(self) -> JobState:
        return JobState(self.data.get("state", JobState.NEW))

    @property
    def steps(self) -> list[dict]:
        return self.data.setdefault("steps", [])

    @property
    def request(self) -> dict:
        return self.data.get("request") or {}

    @property
    def clips(self) -> dict:
        """The clip id of each take ("primary", "alternate") of a finished job."""
        return self.data.get("clips") or {}

    @property
    def roles(self) -> list[str]:
        """The takes a finished job holds audio for, primary first."""
        return list(self.data.get("sources") or {})

    def step(self, name: str) -> dict | None:
        return next((s for s in self.steps if s["name"] == name), None)

    @staticmethod
    def step_state(entry: dict) -> StepState:
        return StepState(entry["state"])

    @property
    def lost(self) -> list[dict]:
        """Paid requests that were sent (or about to be) whose answer never came."""
        return [s for s in self.steps if self.step_state(s).lost]

    @property
    def paid(self) -> int:
        """Credits this request's steps cost: every step sent (a refused or refunded one is
        not in the journal), once each, however often runs replayed it."""
        return sum(CREDITS[s["kind"]] for s in self.steps if not s.get("reused_from"))

    @property
    def quote(self) -> dict:
        """What continuing was said to cost when a run stopped short of its budget
        ({"extends", "credits"}), or {}: a run again may spend that much more."""
        return self.data.get("quote") or {}

    def quoted(self, extends: int, credits: int):
        with self.lock:
            self.data["quote"] = {"extends": extends, "credits": credits}
            self.save()

    @property
    def complete(self) -> bool:
        """Finished, with every take's audio still in the library: a repeat costs nothing."""
        return self.state is JobState.DONE and all(self.source(role).exists() for role in self.roles)

    def source(self, role: str) -> Path:
        """The unfitted audio of ``role``: in this job's folder, or (a free Refit) in the
        folder of the job whose song it reuses."""
        return self.library.track(self.data["sources"][role], self.key)

    def clip_seconds(self, clip_id: str) -> float | None:
        """How long the service said a clip is, from the step that made it."""
        return next((float(c["duration"]) for s in self.steps for c in s.get("clips") or ()
                     if c.get("clip_id") == clip_id), None)

    @property
    def folder(self) -> Path:
        return self.library.root / "tracks" / self.key

    # --- moving it on -------------------------------------------------------------------
    def begin(self, name: str, kind: str, body: dict) -> dict:
        """Record the intent to pay *before* the request goes out."""
        entry = {"name": name, "kind": kind, "state": StepState.SUBMITTING.value, "body": body,
                 "submitted": time.time()}
        with self.lock:
            self.data["state"] = JobState.RUNNING.value     # a job with a paid step is under way
            self.steps.append(entry)
            self.save()
        return entry

    def reuse(self, name: str, kind: str, body: dict, key: str, answered: dict) -> dict:
        """Record another job's answer to the very same request as this step's: nothing is
        sent or paid (``reused_from`` names the job that paid)."""
        entry = {"name": name, "kind": kind, "state": StepState.DONE.value, "body": body, "reused_from": key,
                 **{k: answered[k] for k in ("task_id", "clips", "url") if k in answered},
                 "submitted": time.time(), "finished": time.time()}
        with self.lock:
            self.data["state"] = JobState.RUNNING.value
            self.steps.append(entry)
            self.save()
        return entry

    def accepted(self, entry: dict, task_id: str):
        """The service took the request: from now on it is polled, never sent again."""
        self._move(entry, StepState.POLLING, task_id=task_id, accepted=time.time())

    def answered(self, entry: dict, **result):
        """The step's result (``clips`` of a task, ``url`` of a WAV request) is known."""
        self._move(entry, StepState.DONE, finished=time.time(), **result)

    def answer_lost(self, entry: dict):
        """Sent, but the answer was lost: it may have been charged."""
        self._move(entry, StepState.UNKNOWN)

    def expired(self, entry: dict | None):
        """An answer whose link the service no longer serves: kept in the journal under
        another name (it was paid), so the next run asks for it afresh."""
        if entry is None:
            return
        with self.lock:
            entry["name"] = f"{entry['name']}-expired-{sum(1 for s in self.steps if 'expired' in s['name'])}"
            entry["state"] = StepState.EXPIRED.value
            self.save()

    def refused(self, entry: dict):
        """The service refused ``entry`` before doing any work, or failed it and refunded it:
        nothing is charged. A job left with no paid step is not pending: its journal goes."""
        with self.lock:
            self.steps.remove(entry)
            if self.steps:
                self.save()
            else:
                self.library.forget(self.key)

    def forget_lost(self) -> list[str]:
        """Drop the steps whose answers were lost (the editor checked them); every step that
        was answered stays, so nothing already paid for is asked again. Returns their names."""
        with self.lock:
            lost = self.lost
            for entry in lost:
                self.steps.remove(entry)
            if lost:
                self.save()
        return [s["name"] for s in lost]

    def finish(self, sources: dict[str, str], clips: dict[str, str | None]):
        """The takes' audio is in the library: ``sources`` maps each role to its file as
        :meth:`Library.track_ref` names it, ``clips`` to its clip id."""
        with self.lock:
            self.data.update(state=JobState.DONE.value, sources=dict(sources), clips=dict(clips))
            self.save()

    def save(self):
        with self.lock:
            self.data["updated"] = time.time()
            atomic_write_json(self.library.job_path(self.key), self.data)

    def _move(self, entry: dict, state: StepState, **fields):
        with self.lock:
            entry.update(state=state.value, **fields)
            self.save()
