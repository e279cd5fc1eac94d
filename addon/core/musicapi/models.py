"""Parsing of MusicAPI task answers, tolerant of the forms the service is known to use."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import TaskFailedError

DONE = "succeeded"
WORKING = ("pending", "running", "queued", "submitted", "streaming", "not_ready")
# Task-level outcomes from the vendor SDK; credits are refunded by the service.
TASK_FAILURES = ("failed", "timeout", "forbidden", "api_error", "error")


def parse_duration(value) -> float | None:
    """``duration`` arrives as int, float or decimal string (``"104.88"``)."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Clip:
    clip_id: str
    state: str
    audio_url: str = ""
    duration: float | None = None
    title: str = ""
    tags: str = ""
    model: str = ""
    error: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def failed(self) -> bool:
        return not self.done and self.state not in WORKING

    @classmethod
    def from_json(cls, data: dict) -> "Clip":
        state = str(data.get("state") or data.get("status") or "pending").lower()
        return cls(
            clip_id=str(data.get("clip_id") or data.get("id") or ""),
            state=state,
            audio_url=str(data.get("audio_url") or ""),
            duration=parse_duration(data.get("duration")),
            title=str(data.get("title") or ""),
            tags=str(data.get("tags") or ""),
            model=str(data.get("mv") or data.get("model_name") or ""),
            error=str(data.get("error") or data.get("error_message") or data.get("message") or ""),
            raw=data,
        )


@dataclass(frozen=True)
class TaskStatus:
    """One poll's view of a task: not ready yet, clips in progress, finished, or failed."""

    task_id: str
    clips: tuple = ()
    failure: str = ""          # task-level failure type ("failed", "timeout", …)
    error: str = ""            # the service's message for a failure
    not_ready: bool = False    # HTTP 202 {"type": "not_ready"}
    unreadable: bool = False   # the answer was not MusicAPI's (a proxy's page, a cut-off body)
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def failed_clips(self) -> tuple:
        return tuple(c for c in self.clips if c.failed)

    def all_done(self, needed: int | None = None) -> bool:
        """True when ``needed`` clips (default: every clip) have succeeded."""
        if self.not_ready or not self.clips:
            return False
        done = sum(1 for c in self.clips if c.done)
        return done >= (needed or len(self.clips))

    def finished(self, wanted: int = 1) -> tuple | None:
        """The done clips once ``wanted`` of them are done (or every clip has ended), None
        while the task is still working. A failed task, or one whose every clip failed,
        raises :class:`TaskFailedError` (the service refunds it)."""
        if self.failure:
            raise TaskFailedError(f"MusicAPI reports the task {self.failure}"
                                  + (f": {self.error}" if self.error else "."), server_message=self.error)
        if self.not_ready or not self.clips:
            return None
        done = tuple(c for c in self.clips if c.done and c.duration)
        if len(done) < wanted and any(not (c.done or c.failed) for c in self.clips):
            return None
        if not done:
            message = "; ".join(c.error for c in self.failed_clips if c.error)
            raise TaskFailedError("Every clip of the task failed" + (f": {message}" if message else "."),
                                  server_message=message)
        return done

    @classmethod
    def from_json(cls, task_id: str, status: int, body: dict) -> "TaskStatus":
        kind = str(body.get("type") or "").lower()
        if status == 202 or kind == "not_ready":
            return cls(task_id, not_ready=True, raw=body)
        if kind in TASK_FAILURES:
            return cls(task_id, failure=kind, error=str(body.get("error") or body.get("message") or ""),
                       raw=body)
        data = body.get("data")
        if isinstance(data, dict):
            data = data.get("clips") or [data]
        if not isinstance(data, list):
            return cls(task_id, not_ready=True, raw=body)
        clips = tuple(Clip.from_json(c) for c in data if isinstance(c, dict))
        return cls(task_id, clips=clips, raw=body)
