"""Where paid results live: a per-user library with a journal of jobs.

Layout under the root (``SCOREFIT_HOME`` or the platform's user data folder)::

    jobs/<key>.json          the journal: each step's task id as soon as it exists
    tracks/<key>/<clip>.wav  downloaded source audio (downloaded once, atomically)
    tracks/<key>/fitted-*.wav + .json   fitted results and their provenance sidecars

A job's journal is written before and after every paid call, so a run killed mid-poll
resumes polling the same tasks instead of paying again.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path, PurePosixPath

import platformdirs

from .errors import ScoreFitError
from .journal import Job, JobState

if os.name == "nt":
    import msvcrt

    def _lock(handle) -> bool:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
else:
    import fcntl

    def _lock(handle) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


class BusyElsewhereError(ScoreFitError):
    """Another ScoreFit process (or window) is running the same request."""

APP = "ScoreFit"


def default_root() -> Path:
    env = os.environ.get("SCOREFIT_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP, appauthor=False))


class Library:
    """The per-user folder of journals and paid audio (see the module's docstring)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()

    def job_path(self, key: str) -> Path:
        return self.root / "jobs" / f"{key}.json"

    def job(self, key: str, describe: dict | None = None) -> Job:
        path = self.job_path(key)
        if path.exists():
            return Job(self, key, json.loads(path.read_text("utf-8")))
        return Job(self, key, {"key": key, "state": JobState.NEW.value, "created": time.time(),
                               "request": describe or {}, "steps": []})

    @staticmethod
    def track_ref(key: str, filename: str) -> str:
        """How a journal names a file of the library: its job's key, then its name."""
        return f"{key}/{filename}"

    def track(self, ref: str, owner: str) -> Path:
        """The file a journal of job ``owner`` names. Journals of ScoreFit 0.1 named their
        own files bare and another job's relative to their folder ("../key/file")."""
        parts = PurePosixPath(ref).parts
        if parts[:1] == ("..",):
            parts = parts[1:]
        elif len(parts) == 1:
            parts = (owner, *parts)
        if len(parts) != 2 or ".." in parts:
            raise ValueError(f"the library's journal {owner} names no file of the library: {ref!r}")
        return self.root / "tracks" / parts[0] / parts[1]

    @contextlib.contextmanager
    def claim(self, key: str):
        """Hold request ``key`` against every other ScoreFit (another window, a script, the
        command line) for as long as the block runs. The operating system's file lock is
        released when a process ends however it ends, so a crash never leaves it held.
        Raises :class:`BusyElsewhereError` when another holds it."""
        path = self.root / "jobs" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")
        try:
            if not _lock(handle):
                raise BusyElsewhereError(
                    "Another ScoreFit is working on this request right now (another window, a "
                    "script or the command line).",
                    hint="Wait for it to finish, or cancel it there. Nothing was sent.")
            yield
        finally:
            handle.close()            # closing releases the lock

    def answered(self, kind: str, body: dict, besides: str) -> tuple[str, dict] | None:
        """(job key, step) of another job that asked exactly ``body`` of the service and was
        answered: its answer serves this one too, so a paid step is never bought twice (two
        Refits of one song extend it the same way)."""
        folder = self.root / "jobs"
        for path in sorted(folder.glob("*.json")) if folder.exists() else ():
            if path.stem == besides:
                continue
            try:
                steps = json.loads(path.read_text("utf-8")).get("steps") or []
            except (OSError, ValueError):
                continue               # a journal being replaced, or damaged: not this one's business
            for step in steps:
                if step.get("kind") == kind and step.get("state") == "done" and step.get("body") == body:
                    return path.stem, step
        return None

    def busy(self, key: str) -> bool:
        """Whether another ScoreFit holds ``key`` now."""
        try:
            with self.claim(key):
                return False
        except BusyElsewhereError:
            return True

    def pending(self) -> list[Job]:
        """Jobs that have paid steps but no finished result: candidates to resume."""
        folder = self.root / "jobs"
        jobs = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else ():
            job = Job(self, path.stem, json.loads(path.read_text("utf-8")))
            if job.state is JobState.RUNNING and job.steps:
                jobs.append(job)
        return jobs

    def forget(self, key: str):
        """Drop a job's whole journal."""
        self.job_path(key).unlink(missing_ok=True)
